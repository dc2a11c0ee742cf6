"""`schedule` and `cron`: times in the project's zone, the queue, the scheduled job.
Time is a FixedClock the tests move; nothing sleeps to wait for a schedule."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from conftest import NOW, SAMPLE_ARTICLE, SECRET, open_state, point_sendgrid_at, write

from newsletter.errors import UsageError
from newsletter.schedule.when import parse_when
from newsletter.state import Database
from newsletter.state.migrations import STEPS

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

ISSUE = "000_1718b35f7cc77fd8"
BERLIN = "Europe/Berlin"


@pytest.fixture
def clock(project_dir, moving_clock):
    """The clock every command of this test reads (NOW, in Berlin: 10:30 CET)."""
    fixed = moving_clock
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace('timezone = "UTC"', f'timezone = "{BERLIN}"'))
    return fixed


def outbox(project_dir):
    return sorted(p.name for p in (project_dir / "outbox" / ISSUE).glob("*.eml"))


# --- times ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),  # CET, +01:00
        ("2027-07-01 09:00", datetime(2027, 7, 1, 7, 0, tzinfo=UTC)),  # CEST, +02:00
        ("2026-12-01T09:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:30+05:30", datetime(2026, 12, 1, 3, 30, 30, tzinfo=UTC)),
        ("20261201T0900", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2027-10-31T02:30+01:00", datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),  # fold, said
    ],
)
def test_times_are_read_in_the_project_zone_unless_they_carry_an_offset(text, expected):
    assert parse_when(text, BERLIN, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-03-28T02:30", "that time does not exist in Europe/Berlin (the clocks skip it "
         "that night); give an offset: 2027-03-28T02:30+01:00 is 2027-03-28 03:30 CEST; "
         "2027-03-28T02:30+02:00 is 2027-03-28 01:30 CET"),
        ("2027-10-31T02:30", "that time happens twice in Europe/Berlin (the clocks go back "
         "that night); give its offset: 2027-10-31T02:30+02:00 for the first, "
         "2027-10-31T02:30+01:00 for the second"),
        ("2026-11-25T10:29", "that is in the past (now it is 2026-11-25 10:30 CET); add --now"),
        ("2026-11-31T09:00", "not an ISO 8601 time; write e.g. 2026-12-01T09:00"),
        ("next tuesday", "not an ISO 8601 time"),
        ("2026-12-01", "give a time of day too, e.g. 2026-12-01T09:00"),
        ("0001-01-01T00:30+01:00", "out of the range of dates"),
    ],
)  # fmt: skip
def test_a_nonexistent_ambiguous_past_or_malformed_time_is_refused(text, message):
    with pytest.raises(UsageError, match=r"^--at ") as caught:
        parse_when(text, BERLIN, NOW)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_past_time_is_allowed_with_now():
    assert parse_when("2026-01-01T00:00", BERLIN, NOW, allow_past=True) == datetime(
        2025, 12, 31, 23, 0, tzinfo=UTC
    )


def test_ten_years_ahead_is_allowed_and_a_minute_more_is_not():
    """Calendar years, leap days and all (NOW is 2026-11-25 09:30 UTC)."""
    assert parse_when("2036-11-25T10:30", BERLIN, NOW) == datetime(2036, 11, 25, 9, 30, tzinfo=UTC)
    with pytest.raises(UsageError, match="more than 10 years from now"):
        parse_when("2036-11-25T10:31", BERLIN, NOW)


# --- schedule ---


def test_schedule_checks_queues_lists_and_cancels(project_dir, cli, clock):
    result = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2026-12-01T09:00")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Queued “Chrissy Teigen Says")
    assert "for list sample, 4 subscribers now: 2026-12-01 09:00 CET." in result.stdout
    assert "skipped: subscribers/sample.csv:5:" in result.stderr  # bad rows shown now

    shown = cli("schedule", "--list-queued")
    assert shown.exit_code == 0
    assert f"{ISSUE}           sample       2026-12-01 09:00 CET" in shown.stdout
    data = json.loads(cli("schedule", "--list-queued", "--json").stdout)
    assert data == [{
        "issue": ISSUE, "list": "sample", "articles": [SAMPLE_ARTICLE], "transport": None,
        "send_at": "2026-12-01T08:00:00Z", "given": "2026-12-01T09:00+01:00",
        "state": "queued", "reason": None,
    }]  # fmt: skip

    twice = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2026-12-02T09:00")
    assert twice.exit_code == 1
    assert "is already queued for 2026-12-01 09:00 CET; cancel it first" in twice.stderr

    cancelled = cli("schedule", "--cancel", ISSUE)
    assert cancelled.exit_code == 0
    assert cancelled.stdout == (
        f"Cancelled issue {ISSUE} (list sample, was queued for 2026-12-01 09:00 CET).\n"
    )
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"
    again = cli("schedule", "--cancel", ISSUE)
    assert again.exit_code == 1 and "no queued or started issue" in again.stderr
    clock.at += timedelta(days=30)
    assert cli("cron").stdout == ""  # a cancelled issue is not sent
    assert not (project_dir / "outbox").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SAMPLE_ARTICLE, "--list", "sample"), "missing --at WHEN (or --now"),
        ((SAMPLE_ARTICLE, "--at", "2026-12-01T09:00"), "missing --list LIST"),
        ((SAMPLE_ARTICLE, "--list", "sample", "--at", "2026-11-25T08:00"), "in the past"),
        ((SAMPLE_ARTICLE, "--list", "nope", "--at", "2026-12-01T09:00"), "no such list file"),
        (("--list-queued", "--cancel", "x"), "give ARTICLE... --list LIST --at WHEN, or"),
        ((), "give ARTICLE... --list LIST --at WHEN, or"),
        (("articles/missing.md", "--list", "sample", "--now"), "missing.md"),
    ],
)
def test_schedule_refuses_what_could_not_be_sent(project_dir, cli, clock, args, message):
    result = cli("schedule", *args)
    assert result.exit_code in (1, 2)
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"


def test_schedule_refuses_an_issue_already_sent(project_dir, cli, clock):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    result = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now")
    assert result.exit_code == 1
    assert f"issue {ISSUE} was sent on 2026-11-25 10:30 CET; give another --id" in result.stderr
    renamed = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now", "--id", "again")
    assert renamed.exit_code == 0


def test_a_list_with_nobody_to_send_to_is_refused_when_scheduling(project_dir, cli, clock):
    write(project_dir / "subscribers" / "empty.csv", "email,name\nnot-an-address,X\n")
    result = cli("schedule", SAMPLE_ARTICLE, "--list", "empty", "--now")
    assert result.exit_code == 1 and "no valid subscribers on this list" in result.stderr


# --- cron ---


def test_cron_sends_a_queued_issue_when_its_time_comes_and_only_once(project_dir, cli, clock):
    assert cli("cron").stdout == ""  # nothing queued: silent
    at = "2026-11-25T11:00"  # 10:00 UTC, half an hour from NOW
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", at).exit_code == 0
    early = cli("cron")
    assert (early.exit_code, early.stdout, early.stderr) == (0, "", "")
    assert not (project_dir / "outbox").exists()

    clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    due = cli("cron")
    assert due.exit_code == 0, due.output
    assert due.stdout.startswith(f"Sent issue {ISSUE} to list sample: 4 accepted by outbox")
    assert len(due.stdout.splitlines()) == 1 and due.stderr == ""
    assert len(outbox(project_dir)) == 4
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"

    clock.at += timedelta(minutes=1)
    later = cli("cron")
    assert (later.exit_code, later.stdout, later.stderr) == (0, "", "")
    assert len(outbox(project_dir)) == 4


def test_the_list_and_articles_are_read_when_the_send_starts(project_dir, cli, clock):
    """Scheduling checks them; the send uses them as they are at its time."""
    assert (
        cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2026-12-01T09:00").exit_code
        == 0
    )
    article = project_dir / SAMPLE_ARTICLE
    article.write_text(article.read_text().replace("Chrissy Teigen Says", "Fixed typo:"))
    with (project_dir / "subscribers" / "sample.csv").open("a") as handle:
        handle.write("late@example.com,Late Subscriber\n")
    clock.at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert cli("cron").exit_code == 0
    names = outbox(project_dir)
    assert len(names) == 5
    message = (project_dir / "outbox" / ISSUE / names[0]).read_text()
    assert "Subject: Fixed typo:" in message


def test_a_due_issue_that_cannot_start_stays_queued_and_says_why(project_dir, cli, clock):
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now").exit_code == 0
    article = project_dir / SAMPLE_ARTICLE
    text = article.read_text()
    article.unlink()
    failed = cli("cron")
    assert failed.exit_code == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith(f"error: issue {ISSUE}: ")
    assert "000_1718b35f7cc77fd8.txt" in failed.stderr and len(failed.stderr.splitlines()) == 1
    assert "last try failed: " in cli("schedule", "--list-queued").stdout
    assert failed.stderr.rstrip().endswith("(next try at 2026-11-25 10:31 CET)")
    article.write_text(text)
    early = cli("cron")  # backing off: not tried again yet, and quiet about it
    assert (early.exit_code, early.stdout, early.stderr) == (0, "", "")
    clock.at += timedelta(seconds=61)
    fixed = cli("cron")
    assert fixed.exit_code == 0 and fixed.stdout.startswith("Sent issue")
    assert len(outbox(project_dir)) == 4


def test_cron_resumes_an_interrupted_send_with_its_frozen_content(project_dir, cli, clock, on_fake):
    on_fake.inject("500", "500", "500", "500", "500", "500")  # retries run out: stopped
    stopped = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "sendgrid")
    assert stopped.exit_code == 1
    (project_dir / SAMPLE_ARTICLE).unlink()  # the frozen content is what goes
    resumed = cli("cron")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.startswith(f"Sent (resumed) issue {ISSUE} to list sample: 4 accepted")
    emails = on_fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 4
    assert cli("cron").stdout == ""


@pytest.mark.slow
def test_cron_reports_a_held_batch_once_and_does_not_nag(project_dir, cli, clock, on_fake):
    point_sendgrid_at(project_dir, on_fake.url, timeout="1")
    on_fake.inject("slow")
    on_fake.slow_seconds = 3
    assert (
        cli(
            "schedule", SAMPLE_ARTICLE, "--list", "sample", "--now", "--transport", "sendgrid"
        ).exit_code
        == 0
    )
    first = cli("cron")
    assert first.exit_code == 1
    assert "4 ambiguous" in first.stdout, first.stderr
    assert "held as ambiguous" in first.stderr and "--retry-ambiguous" in first.stderr
    quiet = cli("cron")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    status = json.loads(cli("status", ISSUE, "--json").stdout)
    assert status[0]["ambiguous"] == 4


def test_cron_skips_an_issue_another_run_is_sending(project_dir, project, cli, clock):
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now").exit_code == 0
    with project.send_lock(ISSUE):
        held = cli("cron")
    assert (held.exit_code, held.stdout, held.stderr) == (0, "", "")
    assert not (project_dir / "outbox").exists()
    assert cli("cron").stdout.startswith("Sent issue")


@pytest.mark.slow
def test_four_cron_runs_at_once_send_every_address_once(project_dir, fake, engine):
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(5000))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_sendgrid_at(project_dir, fake.url)
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)
    newsletter = [sys.executable, "-m", "newsletter"]
    queued = subprocess.run([*newsletter, "schedule", SAMPLE_ARTICLE, "--list", "big", "--now",
                             "--transport", "sendgrid"], cwd=project_dir, env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    cron = [*newsletter, "cron"]
    pipe = subprocess.PIPE
    runs = [
        subprocess.Popen(cron, cwd=project_dir, env=env, stdout=pipe, stderr=pipe, text=True)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 5000
    printed = [out for out, _ in outputs if out]
    if engine == "sqlite":  # one run sends the issue; the others find its lock held
        assert len(printed) == 1
        assert printed[0].startswith(f"Sent issue {ISSUE} to list big: 5,000")
    else:  # on PostgreSQL they send it together, each its own batches
        shares = [int(re.search(r"([\d,]+) accepted", out)[1].replace(",", "")) for out in printed]
        assert sum(shares) == 5000 and all(shares), printed
    with open_state(project_dir) as state:
        assert state.ledger.counts(ISSUE)["sent"] == 5000


def test_status_shows_queued_issues_in_the_project_zone(project_dir, cli, clock):
    assert (
        cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2027-07-01T09:00").exit_code
        == 0
    )
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    lines = cli("status").stdout.splitlines()
    assert lines[1].split() == ["queued", "2027-07-01", "09:00", "CEST", "sample", ISSUE]
    assert lines[2].strip().startswith("Chrissy Teigen Says")  # its subject, as cron renders it
    assert lines[3].split()[:5] == ["done", "2026-11-25", "10:30", "CET", "sample"]
    assert lines[3].split()[-1] == "welcome"
    (queued,) = json.loads(cli("status", ISSUE, "--json").stdout)
    assert queued["state"] == "queued" and queued["send_at"] == "2027-07-01T07:00:00Z"
    assert queued["started"] is None and queued["accepted"] == 0


def test_cancel_stops_a_started_send_so_cron_does_not_resume_it(project_dir, cli, clock, on_fake):
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(2500))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    on_fake.inject("ok", "400")  # the first batch goes, the second is refused: stopped
    args = ("send", SAMPLE_ARTICLE, "--list", "big", "--yes", "--transport", "sendgrid")
    assert cli(*args).exit_code == 1
    stopped = cli("schedule", "--cancel", ISSUE)
    assert stopped.exit_code == 0, stopped.output
    assert stopped.stdout == (
        f"Stopped the send of issue {ISSUE} (list big): 1,500 recipients not sent yet will "
        "not get it.\n"
    )
    assert cli("cron").stdout == ""  # nothing to resume
    assert len(on_fake.accepted_emails()) == 1000
    (status,) = json.loads(cli("status", ISSUE, "--json").stdout)
    assert (status["state"], status["accepted"], status["skipped"]) == ("cancelled", 1000, 1500)
    again = cli("schedule", "--cancel", ISSUE)
    assert again.exit_code == 1 and "was sent completely on" in again.stderr
    resend = cli(*args)
    assert resend.exit_code == 0 and "nothing more to send" in resend.stdout


def test_a_locked_state_file_is_a_clear_error_and_nothing_is_lost(project_dir, tmp_path):
    import sqlite3

    path = project_dir / ".newsletter" / "state.db"
    Database(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds it
    try:
        from newsletter.errors import StateError

        with (
            pytest.raises(StateError, match="locked by another program") as caught,
            Database(path, busy_timeout=0.2) as state,
        ):
            state.ledger.claim(ISSUE, 10, 1, NOW)
        assert str(caught.value).startswith(".") or "state.db" in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Database(path) as state:  # unlocked: opens as before
        assert state.issues.all() == []


@pytest.mark.slow
def test_processes_opening_a_new_state_file_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "state.db"
    code = (
        "import sys; from pathlib import Path; from newsletter.state import Database; "
        "Database(Path(sys.argv[1])).close()"
    )
    runs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE)
            for _ in range(4)]  # fmt: skip
    errors = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
    with Database(path) as state:
        names = [row[0] for row in state.engine.all("SELECT name FROM migrations ORDER BY name")]
    assert names == [step.name for step in STEPS]


def test_a_send_that_keeps_failing_is_tried_less_and_less_often(
    project_dir, cli, clock, on_fake, monkeypatch
):
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace('kind = "outbox"', 'kind = "sendgrid"'))
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now").exit_code == 0
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.revoked-key-0000")  # SendGrid answers 401
    tried = []
    for minute in range(1, 9):
        result = cli("cron")
        if result.stderr:  # the sync and the send both fail, and both back off
            assert result.exit_code == 1 and "SendGrid answered 401" in result.stderr
            assert len(result.stderr.splitlines()) == 2 and "next try at" in result.stderr
            tried.append(minute)
        clock.at += timedelta(seconds=60)
    assert tried == [1, 2, 4, 8]  # then 1, 2, 4 minutes later
    monkeypatch.setenv("SENDGRID_API_KEY", on_fake.api_key)
    clock.at += timedelta(minutes=16)
    fixed = cli("cron")
    assert fixed.exit_code == 0 and f"Sent (resumed) issue {ISSUE}" in fixed.stdout
    assert len(on_fake.accepted_emails()) == 4
    clock.at += timedelta(seconds=60)
    assert cli("cron").stdout == ""


def test_a_send_of_a_queued_issue_starts_its_entry_and_an_old_double_is_mended(project_dir, cli):
    """Freezing an issue starts its queued entry in the same transaction, whoever
    sends it; a state an earlier release left queued and sending at once is mended
    when it is migrated."""
    assert (
        cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2027-07-01T09:00").exit_code
        == 0
    )
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"
    assert [r["state"] for r in json.loads(cli("status", "--json").stdout)] == ["done"]
    with open_state(project_dir) as state:  # as a killed cron send of an earlier release left it
        state.engine.execute("UPDATE schedule SET state = 'queued'")
        state.engine.execute(
            "DELETE FROM migrations WHERE name = '0008_frozen_issues_are_not_queued'"
        )
    assert [r["state"] for r in json.loads(cli("status", "--json").stdout)] == ["done"]
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"


def test_a_list_broken_after_scheduling_keeps_the_issue_queued_and_says_where(
    project_dir, cli, clock
):
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now").exit_code == 0
    with (project_dir / "subscribers" / "sample.csv").open("a") as handle:
        handle.write('late@example.com,"Late\nlater@example.com,Later\n')
    failed = cli("cron")
    assert failed.exit_code == 1 and failed.stdout == ""
    assert "subscribers/sample.csv:8: a quoted field opens on this line" in failed.stderr
    assert not (project_dir / "outbox").exists()
    assert "last try failed: " in cli("schedule", "--list-queued").stdout
    assert json.loads(cli("status", "--json").stdout)[0]["state"] == "queued"
