"""`newsletter status` that can be used: every issue id whole (last on its row, to
copy), the subject under it, a stopped send shown as *cancelled*, times in the
project's zone."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_ARTICLE, write

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

ISSUE = "000_1718b35f7cc77fd8"


def _rows(cli) -> list[list[str]]:
    result = cli("status")
    assert result.exit_code == 0, result.output
    return [line.split() for line in result.stdout.splitlines()]


def _in_zone(project_dir, zone: str) -> None:
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace('timezone = "UTC"', f'timezone = "{zone}"'))


def test_a_long_issue_id_is_shown_whole_and_last(project_dir, cli):
    """A digest's id is long; it was cut at 30 characters, so it could not be copied."""
    long = project_dir / "articles" / "2026-12-07-merge-queues.md"
    long.write_text((project_dir / "articles" / "welcome.md").read_text())
    sent = cli("send", SAMPLE_ARTICLE, "articles/2026-12-07-merge-queues.md", "--list", "sample",
               "--yes")  # fmt: skip
    assert sent.exit_code == 0, sent.output
    (issue,) = [s["issue"] for s in json.loads(cli("status", "--json").stdout)]
    assert len(issue) > 30
    header, row, subject = _rows(cli)
    assert header[0] == "state" and header[-1] == "issue"
    assert row[0] == "done" and row[-1] == issue
    assert cli("status", row[-1]).exit_code == 0  # what is shown can be given back
    assert " ".join(subject).startswith("Chrissy Teigen Says Miles")


def test_the_subject_is_shown_for_sent_and_queued_issues(project_dir, cli):
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    queued = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2030-01-01T09:00",
                 "--subject", "Our January issue")  # fmt: skip
    assert queued.exit_code == 0, queued.output
    text = cli("status").stdout
    assert "\n    Our January issue\n" in text  # as cron will render it: --subject kept
    assert "\n    Welcome to the newsletter: how articles work\n" in text
    data = {s["issue"]: s for s in json.loads(cli("status", "--json").stdout)}
    assert data[ISSUE]["subject"] == "Our January issue"
    assert data["welcome"]["subject"] == "Welcome to the newsletter: how articles work"


def test_a_queued_issue_whose_article_is_gone_says_so_and_status_still_works(project_dir, cli):
    write(project_dir / "articles" / "soon.md", "---\ntitle: Soon\n---\nText.\n")
    at = ("--at", "2030-01-01T09:00")
    assert cli("schedule", "articles/soon.md", "--list", "sample", *at).exit_code == 0
    (project_dir / "articles" / "soon.md").unlink()
    result = cli("status")
    assert result.exit_code == 0, result.output
    assert "    cannot be rendered now: " in result.stdout
    assert "articles/soon.md" in result.stdout
    (found,) = json.loads(cli("status", "--json").stdout)
    assert found["subject"] is None and "articles/soon.md" in found["problem"]


def test_a_stopped_send_is_cancelled_not_done(project_dir, cli, on_fake):
    rows = "".join(f"reader{i}@example.com\n" for i in range(1500))
    write(project_dir / "subscribers" / "big.csv", "email\n" + rows)
    on_fake.inject("ok", "400")  # the first batch goes, the second is refused: stopped
    send = cli("send", SAMPLE_ARTICLE, "--list", "big", "--yes", "--transport", "sendgrid")
    assert send.exit_code == 1
    assert cli("schedule", "--cancel", ISSUE).exit_code == 0
    (found,) = json.loads(cli("status", "--json").stdout)
    assert (found["state"], found["accepted"], found["skipped"]) == ("cancelled", 1000, 500)
    assert _rows(cli)[1][0] == "cancelled"
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    states = {s["issue"]: s["state"] for s in json.loads(cli("status", "--json").stdout)}
    assert states == {ISSUE: "cancelled", "welcome": "done"}  # a whole send stays done


def test_an_issue_taken_off_the_schedule_is_shown_cancelled(project_dir, cli):
    at = ("--at", "2030-01-01T09:00")
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", *at).exit_code == 0
    assert cli("schedule", "--cancel", ISSUE).exit_code == 0
    (found,) = json.loads(cli("status", "--json").stdout)
    assert (found["issue"], found["state"], found["started"]) == (ISSUE, "cancelled", None)
    assert _rows(cli)[1][0] == "cancelled"
    again = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", *at)  # queued again: once
    assert again.exit_code == 0, again.output
    assert [s["state"] for s in json.loads(cli("status", "--json").stdout)] == ["queued"]


def test_times_are_in_the_project_zone_everywhere(project_dir, cli):
    _in_zone(project_dir, "America/New_York")
    at = ("--at", "2030-01-01T09:00")
    queued = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", *at)
    assert "2030-01-01 09:00 EST" in queued.stdout
    assert "2030-01-01 09:00 EST" in cli("schedule", "--list-queued").stdout
    assert _rows(cli)[1][1:4] == ["2030-01-01", "09:00", "EST"]
    sent = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert "was queued for 2030-01-01 09:00 EST" in sent.stderr  # it printed the raw offset
    again = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert " EST (4 accepted); nothing more to send" in again.stdout
    row = _rows(cli)[1]
    assert row[3] == "EST"
