"""`subscribers suppressions [lift]` (issue 16, item 6): every suppression an editor
can see, and the lift of one that the rules allow, recorded with its reason; a bounce
or a spam report only with --force; `add --resubscribe` no longer says it added a
subscriber whose bounce stays."""

import json

import pytest
from conftest import NOW, open_state, write
from test_bad_input import assert_one_line_error

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

SAMPLE = "subscribers/sample.csv"

# (reason, source): every kind the project records, and whether a lift needs --force
LIFTABLE = [
    ("unsubscribed", "link"),
    ("unsubscribed", "one-click"),
    ("unsubscribed", "sendgrid unsubscribes"),
    ("unsubscribed", "sendgrid group 42"),
    ("unsubscribed", "import:mailchimp"),
    ("removed", "manual"),
    ("removed", "import:listmonk"),
]
FORCED = [
    ("bounced", "sendgrid bounces"),
    ("bounced", "import:mailchimp"),
    ("spam report", "sendgrid spam_reports"),
    ("blocked", "sendgrid blocks"),
    ("invalid", "sendgrid invalid_emails"),
]


def suppress(project_dir, email: str, reason: str, source: str) -> None:
    with open_state(project_dir) as state:
        state.suppressions.add(email, reason, source, NOW)


def suppressions(project_dir) -> dict[str, tuple[str, str]]:
    with open_state(project_dir) as state:
        return {s.email: (s.reason, s.source) for s in state.suppressions.all()}


def lifts(project_dir) -> list[dict]:
    with open_state(project_dir) as state:
        return [lift.data() for lift in state.suppressions.lifts()]


def test_the_list_shows_every_suppression_with_its_lists_and_time(project_dir, cli):
    empty = cli("subscribers", "suppressions")
    assert empty.exit_code == 0 and empty.stdout == "No suppressions.\n"
    assert json.loads(cli("subscribers", "suppressions", "--json").stdout) == []
    suppress(project_dir, "tom@example.net", "bounced", "sendgrid bounces")
    suppress(project_dir, "gone@example.com", "unsubscribed", "link")
    write(project_dir / "subscribers" / "more.csv", "email\ntom@example.net\n")
    shown = cli("subscribers", "suppressions")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["address", "reason", "source", "when", "lists"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert rows["tom@example.net"].split()[1:] == [
        "bounced", "sendgrid", "bounces", "2026-11-25", "09:30", "UTC", "more,", "sample"
    ]  # fmt: skip
    assert rows["gone@example.com"].split()[-1] == "-"  # on no list
    assert lines[-1] == "2 suppressions."
    data = json.loads(cli("subscribers", "suppressions", "--json").stdout)
    tom = next(d for d in data if d["email"] == "tom@example.net")
    assert tom == {"email": "tom@example.net", "reason": "bounced", "source": "sendgrid bounces",
                   "created_at": NOW.isoformat(), "forgotten": False,
                   "lists": ["more", "sample"]}  # fmt: skip
    only = cli("subscribers", "suppressions", "--reason", "unsubscribed", "--json")
    assert [d["email"] for d in json.loads(only.stdout)] == ["gone@example.com"]
    only = cli("subscribers", "suppressions", "--source", "sendgrid bounces", "--json")
    assert [d["email"] for d in json.loads(only.stdout)] == ["tom@example.net"]
    none = cli("subscribers", "suppressions", "--source", "nowhere")
    assert none.exit_code == 0 and none.stdout == "No suppressions of that kind.\n"


def test_the_times_are_shown_in_the_projects_zone(project_dir, cli):
    settings = project_dir / "newsletter.toml"
    text = settings.read_text()
    assert 'timezone = "UTC"' in text
    settings.write_text(text.replace('timezone = "UTC"', 'timezone = "Europe/Berlin"'))
    suppress(project_dir, "tom@example.net", "bounced", "sendgrid bounces")
    assert "2026-11-25 10:30 CET" in cli("subscribers", "suppressions").stdout


@pytest.mark.parametrize(("reason", "source"), LIFTABLE)
def test_a_readers_own_unsubscribe_or_a_removal_is_lifted_with_a_reason(
    project_dir, cli, reason, source
):
    suppress(project_dir, "tom@example.net", reason, source)
    lifted = cli("subscribers", "suppressions", "lift", "TOM@example.net",
                 "--reason", "asked to come back by email")  # fmt: skip
    assert lifted.exit_code == 0, lifted.stderr
    assert lifted.stdout == (
        f"Lifted the suppression of tom@example.net: {reason} ({source}, 2026-11-25); "
        "sends to sample reach it again.\n"
    )
    assert suppressions(project_dir) == {}
    (record,) = lifts(project_dir)
    assert record["email"] == "tom@example.net" and record["lifted_by"] == "lift"
    assert (record["reason"], record["source"]) == (reason, source)
    assert record["suppressed_at"] == NOW.isoformat()
    assert record["lift_reason"] == "asked to come back by email"
    if source.startswith("sendgrid"):  # SendGrid's own list still holds it: said
        assert "remove the address there too" in lifted.stderr
    else:
        assert lifted.stderr == ""


@pytest.mark.parametrize(("reason", "source"), FORCED)
def test_a_bounce_or_a_spam_report_is_lifted_only_with_force(project_dir, cli, reason, source):
    suppress(project_dir, "tom@example.net", reason, source)
    refused = cli("subscribers", "suppressions", "lift", "tom@example.net", "--reason", "fixed")
    assert_one_line_error(refused, 1, "tom@example.net: ", f"{reason} ({source}, 2026-11-25)",
                          "only with --force", "nothing changed")  # fmt: skip
    assert refused.stdout == ""
    assert suppressions(project_dir) == {"tom@example.net": (reason, source)}
    assert lifts(project_dir) == []
    forced = cli("subscribers", "suppressions", "lift", "tom@example.net",
                 "--reason", "their mailbox works again", "--force")  # fmt: skip
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout.startswith("Lifted the suppression of tom@example.net")
    assert suppressions(project_dir) == {}
    (record,) = lifts(project_dir)
    assert record["lifted_by"] == "lift --force"
    assert record["lift_reason"] == "their mailbox works again"


def test_a_lift_of_an_address_not_suppressed_is_one_line(project_dir, cli):
    result = cli("subscribers", "suppressions", "lift", "tom@example.net", "--reason", "x")
    assert_one_line_error(result, 1, "tom@example.net: is not suppressed: nothing to lift")
    suppress(project_dir, "tom@example.net", "removed", "manual")
    lift = ("subscribers", "suppressions", "lift", "tom@example.net", "--reason", "x")
    assert cli(*lift).exit_code == 0
    assert_one_line_error(cli(*lift), 1, "is not suppressed")


def test_a_lift_needs_a_reason_and_an_address(project_dir, cli):
    suppress(project_dir, "tom@example.net", "removed", "manual")
    missing = cli("subscribers", "suppressions", "lift", "tom@example.net")
    assert_one_line_error(missing, 2, "missing --reason TEXT")
    blank = cli("subscribers", "suppressions", "lift", "tom@example.net", "--reason", " ")
    assert_one_line_error(blank, 2, "--reason")
    bad = cli("subscribers", "suppressions", "lift", "not an address", "--reason", "x")
    assert_one_line_error(bad, 2, "EMAIL 'not an address': not a valid address")
    assert suppressions(project_dir) == {"tom@example.net": ("removed", "manual")}


def test_resubscribe_refuses_a_bounce_before_writing_anything(project_dir, cli):
    """It used to add the row, warn that the bounce stays, say "Added" and exit 0."""
    suppress(project_dir, "new@example.com", "bounced", "sendgrid bounces")
    before = (project_dir / SAMPLE).read_bytes()
    result = cli("subscribers", "add", "sample", "new@example.com", "--resubscribe")
    assert_one_line_error(
        result, 1, "new@example.com: bounced (sendgrid bounces, 2026-11-25) is not lifted by "
        "--resubscribe", "nothing changed",
        "suppressions lift new@example.com --reason TEXT --force",
    )  # fmt: skip
    assert result.stdout == "" and "Added" not in result.stdout
    assert (project_dir / SAMPLE).read_bytes() == before
    assert suppressions(project_dir) == {"new@example.com": ("bounced", "sendgrid bounces")}
    # a reader's unsubscribe through SendGrid is theirs, but SendGrid's: lift says it
    suppress(project_dir, "other@example.com", "unsubscribed", "sendgrid unsubscribes")
    result = cli("subscribers", "add", "sample", "other@example.com", "--resubscribe")
    line = assert_one_line_error(result, 1, "lift other@example.com --reason TEXT`")
    assert "--force" not in line
    # without --resubscribe it is added, and stays suppressed, as before
    plain = cli("subscribers", "add", "sample", "new@example.com")
    assert plain.exit_code == 0 and "is suppressed (bounced" in plain.stderr


def test_resubscribe_lifts_a_removal_and_records_the_lift(project_dir, cli):
    assert cli("subscribers", "remove", "sample", "zoe@example.org").exit_code == 0
    back = cli("subscribers", "add", "sample", "zoe@example.org", "--resubscribe")
    assert back.exit_code == 0, back.stderr
    assert "Lifted its suppression: removed (manual" in back.stdout
    (record,) = lifts(project_dir)
    assert record["lifted_by"] == "add --resubscribe" and record["reason"] == "removed"
    assert "asked to come back" in record["lift_reason"]


def test_help_is_clear_about_lift(cli):
    shown = cli("subscribers", "suppressions", "--help").stdout
    assert "lift" in shown and "--json" in shown and "--reason" in shown
    shown = cli("subscribers", "suppressions", "lift", "--help").stdout
    assert "--force" in shown and "--reason TEXT" in shown
