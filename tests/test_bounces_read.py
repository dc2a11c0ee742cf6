"""`newsletter bounces read` end to end: an issue sent over SMTP (aiosmtpd), DSNs made
from the MTAs' fixtures about its copies' real Message-ID and X-Newsletter-Issue, read
from a folder (.eml files and an mbox), then the ledger and the suppressions.

The tests that record are marked `record` (run them alone with `pytest -m record`).
The commands' own errors (usage, unreadable files, a folder with nothing of ours)
need no recording and are tested below them, unmarked."""

from __future__ import annotations

import email
import json
import mailbox
from email import policy
from pathlib import Path

import pytest
from conftest import SAMPLE_ARTICLE, point_smtp_at

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dsn"
ISSUE = "000_1718b35f7cc77fd8"

# fixture -> (the address it bounces in the fixture, its Message-ID there)
MADE_FROM = {
    "postfix-hard.eml": ("nobody@example.org", "<weekly-48.1755941725ea1892156463a3@example.com>"),
    "exim-soft.eml": ("full@exim.example", "<weekly-48.070632989398fe20320eb4e9@example.com>"),
    "postfix-delayed.eml": ("slow@example.net", "<weekly-48.5b5874f5973b6a89d3dab857@example.com>"),
}


@pytest.fixture
def sent(project_dir, smtp_server, cli, sleepless):
    """The sample issue sent over SMTP: each recipient's copy as the server got it."""
    point_smtp_at(project_dir, smtp_server.port, security='"none"')
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--transport", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    copies = {}
    for received in smtp_server.received:
        message = email.message_from_bytes(received.content, policy=policy.default)
        (to,) = received.rcpt_tos
        copies[to.lower()] = message
    assert all(m["X-Newsletter-Issue"] == ISSUE for m in copies.values())
    return copies


def dsn_about(name: str, copy) -> bytes:
    """The fixture `name` made about our copy `copy`: its address, Message-ID, issue."""
    address, message_id = MADE_FROM[name]
    to = copy["To"].addresses[0].addr_spec
    data = (FIXTURES / name).read_bytes()
    for old, new in ((message_id, copy["Message-ID"]), (address, to), ("weekly-48", ISSUE)):
        data = data.replace(old.encode(), new.encode())
    return data


@pytest.fixture
def bounces(project_dir, sent):
    """A folder as a fetcher fills it: a hard bounce (Postfix) and a soft one (Exim) as
    .eml files; an mbox with a delay (Postfix), a bounce of someone else's mail and an
    out-of-office reply."""
    folder = project_dir / "bounces"
    folder.mkdir()
    (folder / "1.eml").write_bytes(dsn_about("postfix-hard.eml", sent["ada@example.com"]))
    (folder / "2.eml").write_bytes(dsn_about("exim-soft.eml", sent["zoe@example.org"]))
    box = mailbox.mbox(folder / "mbox")
    for data in (
        dsn_about("postfix-delayed.eml", sent["tom@example.net"]),
        (FIXTURES / "not-ours.eml").read_bytes(),
        (FIXTURES / "out-of-office.eml").read_bytes(),
    ):
        box.add(mailbox.mboxMessage(data))
    box.close()
    return folder


def read_json(cli, path) -> dict:
    result = cli("--debug", "bounces", "read", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fates(cli) -> dict[str, int]:
    """What `status ISSUE --json` says the events told of the accepted copies."""
    result = cli("status", ISSUE, "--json")
    assert result.exit_code == 0, result.output
    (issue,) = json.loads(result.stdout)
    return issue["events"]


def suppressed(cli) -> dict[str, str]:
    result = cli("subscribers", "suppressions", "--json")
    assert result.exit_code == 0, result.output
    return {item["email"].lower(): item["reason"] for item in json.loads(result.stdout)}


@pytest.mark.record
@pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL
@pytest.mark.record
def test_a_hard_bounce_suppresses_a_soft_one_does_not_and_a_delay_is_noted(
    cli, bounces, project_dir
):
    summary = read_json(cli, bounces)
    assert summary["messages"] == 5 and summary["files"] == 3
    assert (summary["dsns"], summary["recipients"], summary["skipped"]) == (4, 4, 1)
    assert (summary["recorded"], summary["repeated"]) == (3, 0)
    assert summary["not_ours"] == 1 and summary["unknown"] == 1
    assert summary["suppressed"] == 1
    assert summary["unreadable"] == []
    assert suppressed(cli) == {"ada@example.com": "bounced"}
    now = fates(cli)
    assert (now["bounced"], now["bounced_hard"]) == (2, 1)  # zoe's soft: no suppression
    assert (now["deferred"], now["delivered"]) == (1, 0)


@pytest.mark.record
@pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL
@pytest.mark.record
def test_reading_the_same_files_twice_changes_nothing(cli, bounces):
    read_json(cli, bounces)
    before = (fates(cli), suppressed(cli))
    again = read_json(cli, bounces)
    assert (again["recorded"], again["repeated"], again["suppressed"]) == (0, 3, 0)
    assert (fates(cli), suppressed(cli)) == before


@pytest.mark.record
@pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL
@pytest.mark.record
def test_a_bounce_for_an_address_the_issue_never_had_is_unknown(cli, sent, project_dir):
    copy = sent["ada@example.com"]
    data = dsn_about("postfix-hard.eml", copy).replace(b"ada@example.com", b"eve@example.com")
    (project_dir / "eve.eml").write_bytes(data)
    summary = read_json(cli, project_dir / "eve.eml")
    assert (summary["recorded"], summary["unknown"], summary["suppressed"]) == (0, 1, 0)
    assert suppressed(cli) == {}


@pytest.mark.record
@pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL
@pytest.mark.record
def test_the_summary_for_people_names_every_count(cli, bounces):
    result = cli("--debug", "bounces", "read", str(bounces))
    assert result.exit_code == 0, result.output
    first, *rows = result.stdout.splitlines()
    assert first == (
        "Read 5 messages from 3 files: 4 DSNs about 4 recipients, 1 skipped (not a DSN)."
    )
    named = {row.split()[0]: int(row.split()[1]) for row in rows if row.startswith("  ")}
    assert named == {"recorded": 3, "repeated": 0, "unknown": 1, "suppressed": 1}


# --- what needs no recording ---


def test_a_folder_with_no_dsn_of_ours_records_nothing_and_says_so(cli, project_dir):
    folder = project_dir / "mail"
    folder.mkdir()
    names = ("out-of-office.eml", "arf-complaint.eml", "not-ours.eml", "no-returned-headers.eml")
    for name in names:
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    (folder / "README").write_text("where the bounce mailbox is fetched to\n")
    result = cli("bounces", "read", "mail", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["messages"], summary["dsns"], summary["skipped"]) == (4, 2, 2)
    assert (summary["not_ours"], summary["unknown"], summary["recorded"]) == (2, 2, 0)
    assert summary["other_files"] == 1


def test_a_file_that_cannot_be_read_is_named_and_exits_1(cli, project_dir):
    folder = project_dir / "mail"
    folder.mkdir()
    (folder / "ooo.eml").write_bytes((FIXTURES / "out-of-office.eml").read_bytes())
    (folder / "empty.eml").write_bytes(b"")
    (folder / "mbox").write_bytes(
        b"From MAILER-DAEMON Wed Dec  2 10:15:01 2026\n"
        + (FIXTURES / "out-of-office.eml").read_bytes()
        + b"\nFrom MAILER-DAEMON Wed Dec  2 10:15:02 2026\n\n"
    )
    result = cli("bounces", "read", "mail")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: mail/empty.eml: is empty, not a message",
        "error: mail/mbox: message 2: is empty",
    ]
    assert result.stdout.startswith("Read 1 message from 1 file: 0 DSNs about 0 recipients")


def test_a_path_that_is_not_there_is_wrong_usage(cli, project_dir):
    result = cli("bounces", "read", "nowhere")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: PATH 'nowhere': no such file or folder"


def test_bounces_needs_its_path(cli):
    assert cli("bounces", "read").exit_code == 2
