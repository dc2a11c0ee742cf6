"""Delivery status notifications (RFC 3464) read into events: events/dsn.py, and the
files `bounces read` takes (events/mailfiles.py, events/bounces.py's parse_path).
None of these record anything: they pass without the ledger's record.py."""

from __future__ import annotations

import base64
import mailbox
import os
from pathlib import Path

import pytest

from newsletter.events.bounces import parse_path
from newsletter.events.dsn import events, read
from newsletter.events.mailfiles import MailFileError, mail_files, read_mail
from newsletter.events.status_codes import status_meaning

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dsn"
ISSUE = "weekly-48"
MTIME = 1_700_000_000


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def only(name: str):
    found = events(fixture(name), MTIME)
    assert len(found) == 1, found
    return found[0]


# (fixture, kind, bounce, email, original Message-ID, words the reason holds, dated by)
CASES = [
    ("postfix-hard.eml", "bounce", "hard", "nobody@example.org",
     "<weekly-48.1755941725ea1892156463a3@example.com>",
     "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual "
     "mailbox table", "Arrival-Date"),
    ("postfix-delayed.eml", "deferred", "", "slow@example.net",
     "<weekly-48.5b5874f5973b6a89d3dab857@example.com>",
     "connect to mx.example.net[198.51.100.7]:25: Connection timed out", "Arrival-Date"),
    ("exim-hard.eml", "bounce", "hard", "gone@exim.example",
     "<weekly-48.4a609247cdf59d19f91726b6@example.com>",
     "550 5.1.1 <gone@exim.example>: Recipient address rejected: User unknown", "Date"),
    ("exim-soft.eml", "bounce", "soft", "full@exim.example",
     "<weekly-48.070632989398fe20320eb4e9@example.com>",
     "452 4.2.2 The email account that you tried to reach is over quota", "Date"),
    ("gmail-hard.eml", "bounce", "hard", "nosuch@gmail.com",
     "<weekly-48.1d1d82c487ee64284408d6ae@example.com>",
     "550-5.1.1 The email account that you tried to reach does not exist. Please try "
     "550-5.1.1 double-checking", "Arrival-Date"),
    ("gmail-empty-status.eml", "bounce", "hard", "alias@workspace.example",
     "<weekly-48.fa8694496a362e38f87bbd0b@example.com>",
     "5.1.1 permanent failure: bad destination mailbox address", "Date"),
    ("exchange-online-hard.eml", "bounce", "hard", "nobody@contoso.com",
     "<weekly-48.508a3f5c5807dab5ad7077ad@example.com>",
     "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     "Arrival-Date"),
    ("ses-hard.eml", "bounce", "hard", "bounce@simulator.amazonses.com",
     "<weekly-48.bf95bcd32cee143ef6f93b03@example.com>", "550 5.1.1 user unknown", "Date"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "bounce", "email", "message_id", "reason", "dated"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_each_mta_s_dsn_reads_into_one_event_of_our_copy(
    name, kind, bounce, email, message_id, reason, dated
):
    note = read(fixture(name), MTIME)
    assert note.dsn and note.ours and note.dated == dated
    (event,) = note.events
    assert (event.kind, event.bounce, event.email) == (kind, bounce, email)
    assert (event.issue, event.message_id, event.source) == (ISSUE, message_id, "dsn")
    assert event.reason.startswith(reason), event.reason
    assert event.id.startswith("dsn:") and len(event.id) == 4 + 64
    assert event.recipient is None and event.url == "" and not event.machine


def test_arrival_date_dates_the_event_else_the_dsn_s_date():
    assert only("postfix-hard.eml").at == 1796206498  # Arrival-Date: 2 Dec 2026 10:14:58 UTC
    assert only("exim-hard.eml").at == 1796206504  # Date: 2 Dec 2026 10:15:04 +0000
    assert only("gmail-hard.eml").at == 1796206505  # 02:15:05 -0800 (PST)


def test_without_any_date_the_file_s_time_dates_it_and_says_so():
    data = fixture("exim-hard.eml").replace(b"\nDate: Wed, 02 Dec 2026 10:15:04 +0000\n", b"\n")
    note = read(data, MTIME)
    assert note.dated == "file" and note.events[0].at == MTIME


def test_the_same_dsn_read_twice_gives_the_same_ids():
    for name, *_ in CASES:
        assert [e.id for e in events(fixture(name), 1)] == [e.id for e in events(fixture(name), 2)]


def test_ids_differ_per_recipient_and_per_action():
    hard = only("postfix-hard.eml")
    delayed = fixture("postfix-hard.eml").replace(b"Action: failed", b"Action: delayed")
    assert events(delayed, MTIME)[0].id != hard.id
    assert only("exim-hard.eml").id != hard.id


def test_a_dsn_without_a_message_id_is_identified_by_its_bytes():
    data = fixture("postfix-hard.eml").replace(
        b"Message-Id: <20261202101501.4D8E2160A1C@mail.example.com>\n", b""
    )
    first, again = events(data, MTIME)[0], events(data, MTIME)[0]
    assert first.id == again.id != only("postfix-hard.eml").id


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_delivered_relayed_and_expanded_are_deliveries(action):
    data = fixture("postfix-hard.eml").replace(b"Action: failed", f"Action: {action}".encode())
    data = data.replace(b"Status: 5.1.1", b"Status: 2.0.0")
    (event,) = events(data, MTIME)
    assert (event.kind, event.bounce) == ("delivered", "")


def test_a_failed_status_of_class_4_is_a_soft_bounce_and_5_a_hard_one():
    soft = fixture("postfix-hard.eml").replace(b"Status: 5.1.1", b"Status: 4.4.7")
    assert events(soft, MTIME)[0].bounce == "soft"
    assert only("postfix-hard.eml").bounce == "hard"


def test_failed_without_status_takes_the_smtp_code_else_is_soft():
    data = fixture("ses-hard.eml").replace(b"Status: 5.1.1\n", b"")
    assert events(data, MTIME)[0].bounce == "hard"  # 550 in the Diagnostic-Code
    data = data.replace(b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n", b"")
    (event,) = events(data, MTIME)
    assert event.bounce == "soft" and event.reason == ""


def test_without_a_diagnostic_code_the_reason_is_the_status_and_its_meaning():
    data = fixture("ses-hard.eml").replace(b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n", b"")
    assert (
        events(data, MTIME)[0].reason == "5.1.1 permanent failure: bad destination mailbox address"
    )


def test_status_meanings_follow_rfc_3463():
    assert status_meaning("4.2.2") == "4.2.2 persistent transient failure: mailbox full"
    assert status_meaning("5.7.1") == (
        "5.7.1 permanent failure: delivery not authorized, message refused"
    )
    assert status_meaning("5.1.10") == "5.1.10 permanent failure: addressing status"
    assert status_meaning("weird") == "weird"


def test_a_delivery_status_part_in_base64_is_read():
    data = fixture("ses-hard.eml")
    head, rest = data.split(
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: 7bit\n\n"
    )
    status, tail = rest.split(b"\n\n\n------=_Part", 1)
    encoded = base64.encodebytes(status.replace(b"\n", b"\r\n") + b"\r\n")
    data = (head + b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
            + encoded + b"\n------=_Part" + tail)  # fmt: skip
    (event,) = events(data, MTIME)
    assert (event.kind, event.bounce, event.email) == (
        "bounce",
        "hard",
        "bounce@simulator.amazonses.com",
    )


def test_a_dsn_of_several_recipients_gives_one_event_each():
    data = fixture("no-returned-headers.eml").replace(
        b"\n--xQ2legacy--",
        b"\nFinal-Recipient: rfc822; second@legacy.example\nAction: delayed\nStatus: 4.4.1\n"
        b"\n--xQ2legacy--",
    )
    found = events(data, MTIME)
    assert [(e.email, e.kind) for e in found] == [
        ("old@legacy.example", "bounce"),
        ("second@legacy.example", "deferred"),
    ]


def test_our_copy_s_to_is_the_recipient_when_the_mta_names_another_address():
    """Forwarded or aliased on the way: the ledger's recipient is the To of our copy."""
    data = fixture("postfix-hard.eml").replace(
        b"Final-Recipient: rfc822; nobody@example.org\n"
        b"Original-Recipient: rfc822;nobody@example.org",
        b"Final-Recipient: rfc822; nobody@forward.example.net",
    )
    assert events(data, MTIME)[0].email == "nobody@example.org"


def test_a_dsn_without_our_issue_header_is_not_ours():
    note = read(fixture("not-ours.eml"), MTIME)
    assert note.dsn and not note.ours
    assert note.message_id == "<c0ffee12-3456-7890-abcd-ef0123456789@example.com>"
    assert [e.email for e in note.events] == ["typo@exmaple.org"]


def test_a_dsn_that_returns_no_headers_is_not_ours():
    note = read(fixture("no-returned-headers.eml"), MTIME)
    assert note.dsn and not note.ours and note.message_id is None
    assert note.events[0].reason == "550 5.2.1 Mailbox disabled, not accepting messages"


@pytest.mark.parametrize("name", ["out-of-office.eml", "arf-complaint.eml"])
def test_other_mail_is_no_dsn(name):
    note = read(fixture(name), MTIME)
    assert not note.dsn and note.events == ()


def test_garbage_is_no_dsn():
    assert not read(b"\x00\xff not mail at all", MTIME).dsn
    assert not read(b"", MTIME).dsn


# --- the files `bounces read` takes ---


def _mbox(path: Path, names: list[str]) -> Path:
    box = mailbox.mbox(path)
    for name in names:
        message = mailbox.mboxMessage(fixture(name))
        message.set_from("MAILER-DAEMON", (2026, 12, 2, 10, 15, 1, 2, 336, 0))
        box.add(message)
    box.flush()
    box.close()
    return path


def test_a_folder_is_its_eml_and_mbox_files_not_its_subfolders(tmp_path):
    (tmp_path / "a.eml").write_bytes(fixture("postfix-hard.eml"))
    (tmp_path / "B.EML").write_bytes(fixture("out-of-office.eml"))
    _mbox(tmp_path / "bounces", ["exim-hard.eml", "exim-soft.eml"])
    (tmp_path / "notes.txt").write_text("not mail")
    (tmp_path / ".hidden.eml").write_bytes(fixture("ses-hard.eml"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.eml").write_bytes(fixture("ses-hard.eml"))
    found = mail_files(tmp_path)
    assert [p.name for p in found.files] == ["B.EML", "a.eml", "bounces"]
    assert found.others == 1
    counts, evs = parse_path(tmp_path)
    assert (counts.files, counts.messages, counts.dsns, counts.skipped) == (3, 4, 3, 1)
    assert sorted(e.email for e in evs) == [
        "full@exim.example",
        "gone@exim.example",
        "nobody@example.org",
    ]


def test_an_mbox_is_read_message_by_message(tmp_path):
    box = _mbox(tmp_path / "mbox", ["postfix-hard.eml", "arf-complaint.eml", "not-ours.eml"])
    mails = read_mail(box)
    assert [m.where.rsplit(": ", 1)[1] for m in mails] == ["message 1", "message 2", "message 3"]
    counts, evs = parse_path(box)
    assert (counts.messages, counts.dsns, counts.skipped, counts.not_ours) == (3, 2, 1, 1)
    assert [e.email for e in evs] == ["nobody@example.org"]


def test_an_mbox_message_without_a_date_is_dated_by_its_from_line(tmp_path):
    data = fixture("exim-hard.eml").replace(b"\nDate: Wed, 02 Dec 2026 10:15:04 +0000\n", b"\n")
    (FIXTURE_COPY := tmp_path / "one.eml").write_bytes(data)
    box = mailbox.mbox(tmp_path / "mbox")
    message = mailbox.mboxMessage(data)
    message.set_from("MAILER-DAEMON Wed Dec  2 10:15:01 2026")
    box.add(message)
    box.close()
    (mail,) = read_mail(tmp_path / "mbox")
    assert mail.fallback_at == 1796206501
    os.utime(FIXTURE_COPY, (MTIME, MTIME))
    counts, evs = parse_path(FIXTURE_COPY)
    assert counts.dated_by_file == 1 and evs[0].at == MTIME


def test_a_maildir_is_its_new_and_cur_messages(tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(fixture("postfix-hard.eml"))
    box.add(fixture("gmail-hard.eml"))
    box.close()
    assert len(mail_files(tmp_path / "Maildir").files) == 2
    assert parse_path(tmp_path / "Maildir")[0].dsns == 2


def test_a_file_that_cannot_be_read_is_named_and_gives_nothing(tmp_path):
    (tmp_path / "a.eml").write_bytes(fixture("postfix-hard.eml"))
    (tmp_path / "empty.eml").write_bytes(b"")
    locked = tmp_path / "locked.eml"
    locked.write_bytes(fixture("exim-hard.eml"))
    locked.chmod(0)
    try:
        counts, evs = parse_path(tmp_path)
    finally:
        locked.chmod(0o600)
    unreadable = counts.unreadable
    assert any("empty.eml: is empty" in line for line in unreadable), unreadable
    if os.geteuid() != 0:  # root reads any file
        assert any("locked.eml: cannot read" in line for line in unreadable), unreadable
    assert [e.email for e in evs if e.email == "nobody@example.org"] == ["nobody@example.org"]
    assert counts.files == len(mail_files(tmp_path).files) - len(unreadable)


def test_a_broken_message_in_an_mbox_names_its_number(tmp_path):
    path = tmp_path / "mbox"
    path.write_bytes(
        b"From MAILER-DAEMON Wed Dec  2 10:15:01 2026\n" + fixture("postfix-hard.eml")
        + b"\nFrom MAILER-DAEMON Wed Dec  2 10:15:02 2026\n\n"
    )  # fmt: skip
    with pytest.raises(MailFileError) as raised:
        read_mail(path)
    assert str(raised.value).endswith("mbox: message 2: is empty")
    counts, evs = parse_path(path)
    assert evs == [] and counts.files == 0 and len(counts.unreadable) == 1


def test_rfc_6533_s_global_parts_are_read_as_the_others():
    data = fixture("postfix-hard.eml").replace(
        b"Content-Type: message/delivery-status", b"Content-Type: message/global-delivery-status"
    )
    data = data.replace(b"text/rfc822-headers", b"message/global-headers")
    note = read(data, MTIME)
    assert note.ours and [(e.kind, e.bounce, e.email) for e in note.events] == [
        ("bounce", "hard", "nobody@example.org")
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_a_cut_or_mangled_message_never_raises(name):
    """Mail from the outside is anything: every prefix of each fixture, with bytes
    that are no UTF-8 in it, reads (as something or as nothing) without an error."""
    data = fixture(name)
    for cut in range(0, len(data), 11):
        for variant in (data[:cut], data[:cut] + b"\xff\xfe\x00" + data[cut:]):
            read(variant, MTIME)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("5.1.1", "hard"), ("5.1.10", "hard"), ("5.2.1", "hard"), ("5.2.2", "soft"),
     ("5.0.0", "hard"), ("5.4.4", "hard"), ("5.7.1", "soft"), ("5.7.26", "soft"),
     ("5.3.4", "soft"), ("4.2.2", "soft")],
)  # fmt: skip
def test_only_a_failure_of_the_address_is_a_hard_bounce(status, expected):
    from newsletter.events.dsn import _bounce
    from newsletter.events.status_codes import STATUS

    assert _bounce(STATUS.search(status), "") == expected


def test_without_a_status_the_replys_class_decides():
    from newsletter.events.dsn import _bounce

    assert (_bounce(None, "5"), _bounce(None, "4"), _bounce(None, "")) == ("hard", "soft", "soft")
