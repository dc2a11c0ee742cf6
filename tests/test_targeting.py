"""Targeting (issue 16, item 7): several --list, --exclude-list, --where, segments and
--not-sent on send, schedule, preview and check; the audience frozen with the issue,
queued with it, resumed with it after a kill; each address once. On both engines."""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import NOW, SAMPLE_ARTICLE, SECRET, open_state, point_sendgrid_at, write
from test_bad_input import assert_one_line_error

pytestmark = pytest.mark.usefixtures("engine")

ISSUE = "000_1718b35f7cc77fd8"
KILLER = str(Path(__file__).with_name("killer.py"))
MINUS = "\N{MINUS SIGN}"

NEWS = """email,name,country,plan
ada@example.com,Ada,DE,paid
bob@example.com,Bob,AT,free
cy@example.com,Cy,FR,paid
dee@example.com,Dee,DE,paid
eve@example.com,Eve,AT,paid
"""
# Bob again (in capitals, and paid here: news's row wins, so he stays out of plan == "paid")
EXTRA = """email,name,country,plan,source
BOB@example.com,Robert,AT,paid,fair
fay@example.com,Fay,AT,paid,fair
gus@example.com,Gus,CH,paid,web
ada@example.com,Ada Again,DE,paid,web
hal@example.com,Hal,DE,free,web
"""
OLD = """email
dee@example.com
gus@example.com
nobody@example.com
"""
# news + extra: ada bob cy dee eve fay gus hal (8); - old: ada bob cy eve fay hal (6);
# where plan == "paid": ada cy eve fay (4)
EXPECTED = {"ada@example.com", "cy@example.com", "eve@example.com", "fay@example.com"}
TARGETING = ("--list", "news", "--list", "extra", "--exclude-list", "old",
             "--where", 'plan == "paid"')  # fmt: skip
SHOWN = f'news + extra {MINUS} old, where plan == "paid"'


@pytest.fixture
def lists(project_dir):
    write(project_dir / "subscribers" / "news.csv", NEWS)
    write(project_dir / "subscribers" / "extra.csv", EXTRA)
    write(project_dir / "subscribers" / "old.csv", OLD)
    return project_dir


def outbox(project_dir, issue=ISSUE) -> set[str]:
    return {p.stem for p in (project_dir / "outbox" / issue).glob("*.eml")}


def ledger(project_dir, issue=ISSUE) -> dict[str, str]:
    with open_state(project_dir) as state:
        found = [(r.email.lower(), r.state) for r in state.ledger.recipients(issue)]
    assert len(found) == len({email for email, _ in found}), "a recipient twice"
    return dict(found)


def add_segments(project_dir, text: str) -> None:
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text() + "\n" + text)


# --- the exact set ---


def test_two_overlapping_lists_an_exclusion_and_a_filter_give_the_exact_set(lists, cli):
    sent = cli("send", SAMPLE_ARTICLE, *TARGETING, "--yes")
    assert sent.exit_code == 0, sent.output
    assert sent.stdout.startswith(f"Sent issue {ISSUE} to {SHOWN}: 4 accepted by outbox")
    assert outbox(lists) == EXPECTED
    assert ledger(lists) == dict.fromkeys(EXPECTED, "sent")
    ada = (lists / "outbox" / ISSUE / "ada@example.com.eml").read_text()
    assert "Ada Again" not in ada  # the first list's row is the one sent
    again = cli("send", SAMPLE_ARTICLE, *TARGETING, "--yes")
    assert again.exit_code == 0 and "nothing more to send" in again.stdout
    assert outbox(lists) == EXPECTED


def test_the_dry_run_counts_each_step(lists, cli, project):
    project.state.suppressions.add("eve@example.com", "unsubscribed", "test", NOW)
    shown = cli("send", SAMPLE_ARTICLE, *TARGETING, "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert f"  audience    {SHOWN}\n" in shown.stdout
    assert (f"  steps       news 5 · + extra 8 · {MINUS} old 6 · where plan == \"paid\" 4 · "
            f"suppressed {MINUS}1 → 3\n") in shown.stdout  # fmt: skip
    assert "  recipients  3 (skipping 1 suppressed)" in shown.stdout
    data = json.loads(cli("send", SAMPLE_ARTICLE, *TARGETING, "--dry-run", "--json").stdout)
    assert data["list"] == "news" and data["audience"] == SHOWN and data["recipients"] == 3
    assert data["steps"] == [
        {"list": "news", "count": 5}, {"list": "extra", "count": 8},
        {"exclude": "old", "count": 6}, {"where": 'plan == "paid"', "count": 4},
        {"suppressed": 1, "count": 3},
    ]  # fmt: skip
    assert sorted(data["first_recipients"]) == sorted(EXPECTED - {"eve@example.com"})
    assert not (lists / "outbox").exists()


def test_one_list_alone_is_sent_and_shown_as_before(lists, cli):
    data = json.loads(cli("send", SAMPLE_ARTICLE, "--list", "news", "--dry-run", "--json").stdout)
    assert "audience" not in data and "steps" not in data and data["recipients"] == 5
    text = cli("send", SAMPLE_ARTICLE, "--list", "news", "--dry-run").stdout
    assert "audience" not in text and "steps" not in text
    sent = cli("send", SAMPLE_ARTICLE, "--list", "news", "--list", "news", "--yes")
    assert sent.stdout.startswith(f"Sent issue {ISSUE} to list news: 5 accepted")
    status = json.loads(cli("status", "--json").stdout)[0]
    assert status["list"] == "news" and "audience" not in status


@pytest.mark.parametrize(("point", "n", "held"), [("after-freeze", 0, 0), ("between", 1, 1000)])
def test_a_killed_send_resumes_to_the_same_audience_each_address_once(lists, fake, point, n, held):
    """Killed once frozen, or with batch 1 recorded and batch 2 handed over; the lists
    change meanwhile. The resumed send goes to the audience frozen before the kill,
    nobody twice (batch 2, held as ambiguous, goes again only when the editor asks)."""
    news = "".join(f"reader{i}@example.com,Reader {i},DE,{'paid' if i % 3 else 'free'}\n"
                   for i in range(3000))  # fmt: skip
    extra = "".join(f"reader{i}@example.com,Again {i},AT,paid\n" for i in range(2500, 4000))
    old = "".join(f"reader{i}@example.com\n" for i in range(0, 4000, 7))
    write(lists / "subscribers" / "news.csv", "email,name,country,plan\n" + news)
    write(lists / "subscribers" / "extra.csv", "email,name,country,plan\n" + extra)
    write(lists / "subscribers" / "old.csv", "email\n" + old)
    expected = {f"reader{i}@example.com" for i in range(4000)
                if i % 7 and (i >= 3000 or i % 3)}  # fmt: skip
    point_sendgrid_at(lists, fake.url)
    open_state(lists).close()
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)
    send = ["send", SAMPLE_ARTICLE, *TARGETING, "--transport", "sendgrid", "--yes"]

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *command], cwd=lists, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    killed = run(KILLER, point, str(n), "--", *send)
    assert killed.returncode == -9, killed.stderr
    write(lists / "subscribers" / "news.csv", "email,name,country,plan\n" + news
          + "late@example.com,Late,DE,paid\n")  # fmt: skip
    other = run("-m", "newsletter", *send[:-4], 'plan == "free"', *send[-3:])
    assert other.returncode == 1 and "--where" in other.stderr, other.stderr
    resumed = run("-m", "newsletter", *send)
    emails = [e.lower() for e in fake.accepted_emails()]
    assert len(emails) == len(set(emails)), "an address was accepted twice"
    found = ledger(lists)
    ambiguous = {e for e, state in found.items() if state == "ambiguous"}
    assert set(found) == expected and len(ambiguous) == held
    assert {e for e, state in found.items() if state == "sent"} == expected - ambiguous
    assert set(emails) == expected  # batch 2 was handed over before the kill
    if held:
        assert resumed.returncode == 1 and "--retry-ambiguous" in resumed.stderr
        retried = run("-m", "newsletter", "send", "--id", ISSUE, "--retry-ambiguous", "--yes")
        assert retried.returncode == 0, retried.stderr
        assert {e.lower() for e in fake.accepted_emails()} == expected
    else:
        assert resumed.returncode == 0, resumed.stderr
    assert ledger(lists) == dict.fromkeys(expected, "sent")


# --- segments ---


def test_a_segment_is_its_lists_exclusions_and_expression_with_the_options_added(lists, cli):
    add_segments(lists, '[segments.dach]\nlists = ["news"]\nexclude = ["old"]\n'
                        "where = 'country in [\"DE\", \"AT\", \"CH\"]'\n")  # fmt: skip
    alone = cli("send", SAMPLE_ARTICLE, "--segment", "dach", "--id", "dach", "--yes")
    assert alone.exit_code == 0, alone.output
    assert outbox(lists, "dach") == {"ada@example.com", "bob@example.com", "eve@example.com"}
    more = cli("send", SAMPLE_ARTICLE, "--segment", "dach", "--list", "extra", "--where",
               'plan == "paid"', "--id", "dach-paid", "--yes")  # fmt: skip
    assert more.exit_code == 0, more.output
    # news + extra - old, where country in DE/AT/CH and plan == "paid": gus is in old
    assert outbox(lists, "dach-paid") == {"ada@example.com", "eve@example.com",
                                          "fay@example.com"}  # fmt: skip
    status = {s["issue"]: s for s in json.loads(cli("status", "--json").stdout)}
    assert status["dach-paid"]["audience"] == (
        f'segment dach: news + extra {MINUS} old, where (country in ["DE", "AT", "CH"]) '
        'and (plan == "paid")'
    )
    assert f"audience: segment dach: news {MINUS} old" in cli("status").stdout


def test_an_unknown_segment_is_wrong_usage_naming_those_there_are(lists, cli):
    add_segments(lists, '[segments.dach]\nlists = ["news"]\n')
    result = cli("send", SAMPLE_ARTICLE, "--segment", "emea", "--yes")
    assert_one_line_error(result, 2, "--segment 'emea': no such segment (segments: dach)")
    assert not (lists / "outbox").exists()


@pytest.mark.parametrize(
    ("segment", "words"),
    [
        ("where = 'plan =='", "[segments.bad] where: column 8: expected a value after"),
        ('lists = "news"', "[segments.bad] lists: expected a list of list names"),
        ("exclude = ['../x']", "[segments.bad] exclude: expected a list's name"),
        ("list = ['news']", "[segments.bad] list: unknown setting (did you mean lists?)"),
    ],
)
def test_a_wrong_segment_is_a_settings_error_naming_it(lists, cli, segment, words):
    add_segments(lists, f"[segments.bad]\n{segment}\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", "news", "--yes")
    assert_one_line_error(result, 1, "newsletter.toml:", words)


def test_a_segments_field_no_list_has_names_the_segment(lists, cli):
    add_segments(lists, "[segments.bad]\nlists = ['news']\nwhere = 'source == \"fair\"'\n")
    result = cli("send", SAMPLE_ARTICLE, "--segment", "bad", "--yes")
    assert_one_line_error(result, 1, "[segments.bad] where: no list has the field 'source'")


# --- --not-sent ---


def test_not_sent_leaves_out_only_those_accepted_for_the_earlier_issue(lists, cli, project):
    first = cli("send", SAMPLE_ARTICLE, "--list", "news", "--where", 'country == "DE"',
                "--id", "first", "--yes")  # fmt: skip
    assert first.exit_code == 0 and outbox(lists, "first") == {"ada@example.com",
                                                               "dee@example.com"}  # fmt: skip
    write(lists / "subscribers" / "news.csv", NEWS + "new@example.com,New,DE,paid\n")
    dry = cli("send", SAMPLE_ARTICLE, "--list", "news", "--not-sent", "first", "--id", "second",
              "--dry-run")  # fmt: skip
    assert "  steps       news 6 · not sent for first 4 · suppressed" in dry.stdout
    second = cli("send", SAMPLE_ARTICLE, "--list", "news", "--not-sent", "first", "--id",
                 "second", "--yes")  # fmt: skip
    assert second.exit_code == 0, second.output
    assert outbox(lists, "second") == {"bob@example.com", "cy@example.com", "eve@example.com",
                                       "new@example.com"}  # fmt: skip


def test_not_sent_an_unknown_issue_names_it(lists, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "news", "--not-sent", "nope", "--yes")
    assert_one_line_error(result, 1, "no issue 'nope' in the ledger", "--not-sent")


# --- frozen, queued, refused ---


def test_a_started_issue_with_other_targeting_is_refused_saying_what_differs(lists, cli):
    assert cli("send", SAMPLE_ARTICLE, *TARGETING, "--yes").exit_code == 0
    plain = cli("send", SAMPLE_ARTICLE, "--list", "news", "--yes")
    assert_one_line_error(plain, 1, f"was started for {SHOWN}, not list news",
                          "the lists, exclusions, --where differ", "another --id")  # fmt: skip
    other = cli("send", SAMPLE_ARTICLE, *TARGETING[:-1], 'plan == "free"', "--dry-run")
    assert_one_line_error(other, 1, "(the --where differ)")
    resumed = cli("send", "--id", ISSUE, "--list", "news", "--yes")
    assert_one_line_error(resumed, 1, f"was started for {SHOWN}, not list news (its lists,")
    assert outbox(lists) == EXPECTED


def test_schedule_and_cron_keep_the_targeting(lists, cli, moving_clock):
    queued = cli("schedule", SAMPLE_ARTICLE, *TARGETING, "--at", "2026-11-25T10:00")
    assert queued.exit_code == 0, queued.output
    assert f"for {SHOWN}, 4 subscribers now" in queued.stdout
    listed = json.loads(cli("schedule", "--list-queued", "--json").stdout)[0]
    assert listed["list"] == "news" and listed["audience"]["shown"] == SHOWN
    assert f"audience: {SHOWN}" in cli("schedule", "--list-queued").stdout
    assert json.loads(cli("status", "--json").stdout)[0]["audience"] == SHOWN
    other = cli("send", SAMPLE_ARTICLE, "--list", "news", "--list", "extra", "--yes")
    assert_one_line_error(other, 1, f"is queued for {SHOWN}")
    write(lists / "subscribers" / "extra.csv", EXTRA + "ivy@example.com,Ivy,AT,paid,web\n")
    moving_clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    due = cli("cron")
    assert due.exit_code == 0, due.output
    assert due.stdout.startswith(f"Sent issue {ISSUE} to {SHOWN}: 5 accepted")
    assert outbox(lists) == EXPECTED | {"ivy@example.com"}  # the lists read at its time
    assert json.loads(cli("status", "--json").stdout)[0]["audience"] == SHOWN


# --- preview and check ---


def test_preview_and_check_are_made_for_the_audiences_first_subscriber(lists, cli):
    checked = cli("check", SAMPLE_ARTICLE, "--list", "news", "--exclude-list", "old",
                  "--where", 'country == "AT"')  # fmt: skip
    assert "as bob@example.com:" in checked.stdout, checked.output
    asked = cli("check", SAMPLE_ARTICLE, *TARGETING, "--as", "fay@example.com")
    assert "as fay@example.com:" in asked.stdout, asked.output
    out = cli("preview", SAMPLE_ARTICLE, *TARGETING, "--as", "dee@example.com", "--output", "p")
    assert_one_line_error(out, 1, "dee@example.com is not in this audience", SHOWN, "(--as)")
    made = cli("preview", SAMPLE_ARTICLE, *TARGETING, "--output", "p")
    assert made.exit_code == 0, made.output
    assert "ada@example.com" in (lists / "p" / f"{ISSUE}.eml").read_text()


# --- mistakes ---


@pytest.mark.parametrize(
    ("where", "column", "words"),
    [
        ('country in ["DE", "AT"] and plan ==', 36, 'expected a value after "=="'),
        ('plan = "paid"', 6, 'use "==" to compare'),
        ("(plan == 'paid'", 16, 'expected ")"'),
        ('plan == "paid', 9, "this string has no closing"),
        ("country in DE", 12, 'expected "["'),
        ("plan paid", 6, "expected an operator"),
    ],
)
def test_a_bad_expression_is_one_line_pointing_at_the_column(lists, cli, where, column, words):
    for command in ("send", "schedule", "preview", "check"):
        when = ("--at", "2027-01-01T09:00") if command == "schedule" else ("--output", "p")
        extra = when if command in ("schedule", "preview") else ()
        result = cli(command, SAMPLE_ARTICLE, "--list", "news", "--where", where, *extra)
        line = assert_one_line_error(result, 2, f"--where: column {column}: {words}")
        assert line.startswith("error: --where: column"), line
    assert not (lists / "outbox").exists() and not (lists / "p").exists()
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"


def test_a_field_no_list_has_is_wrong_usage_naming_the_columns(lists, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "news", "--list", "old", "--where",
                 "source == 'fair'", "--yes")  # fmt: skip
    assert_one_line_error(result, 2, "--where: no list has the field 'source'",
                          "news: email, name, country, plan; old: email")  # fmt: skip
    assert not (lists / "outbox").exists()


def test_an_unknown_exclusion_list_names_its_file(lists, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "news", "--exclude-list", "gone", "--yes")
    assert_one_line_error(result, 1, "subscribers/gone.csv: no such list file")
    bad = cli("send", SAMPLE_ARTICLE, "--list", "news", "--exclude-list", "../x", "--yes")
    assert_one_line_error(bad, 2, "--exclude-list '../x'")
    assert not (lists / "outbox").exists()


def test_an_audience_with_nobody_in_it_sends_nothing(lists, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "news", "--where", "plan == 'gold'", "--yes")
    assert_one_line_error(result, 1, "nobody is in this audience (news, where plan == 'gold')")


def test_the_audience_moves_with_the_state(lists, cli, tmp_path, monkeypatch):
    """`state export` carries an issue's audience and a queued one's; `state import`
    into another checkout (on SQLite) shows them as before."""
    assert cli("send", SAMPLE_ARTICLE, *TARGETING, "--yes").exit_code == 0
    queued = cli("schedule", "articles/welcome.md", "--list", "news", "--not-sent", ISSUE,
                 "--at", "2030-01-01T09:00Z")  # fmt: skip
    assert queued.exit_code == 0, queued.output
    before = json.loads(cli("status", "--json").stdout)
    assert [s.get("audience") for s in before] == [f"news, not sent for {ISSUE}", SHOWN]
    export = tmp_path / "state.jsonl"
    assert cli("state", "export", str(export)).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(lists, other, ignore=shutil.ignore_patterns(".newsletter", "outbox"))
    monkeypatch.delenv("NEWSLETTER_STATE_URL", raising=False)
    imported = cli("state", "import", str(export), "--project", str(other))
    assert imported.exit_code == 0, imported.output
    assert json.loads(cli("status", "--json", "--project", str(other)).stdout) == before
    again = cli("send", SAMPLE_ARTICLE, "--list", "news", "--project", str(other), "--yes")
    assert_one_line_error(again, 1, f"was started for {SHOWN}, not list news")
