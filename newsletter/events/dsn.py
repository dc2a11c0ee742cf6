"""SMTP delivery status notifications (RFC 3464) read into delivery events.

A DSN is a `multipart/report; report-type=delivery-status`: a human-readable part, a
`message/delivery-status` part (per-message fields, then one group of fields per
recipient: Final-Recipient, Original-Recipient, Action, Status, Diagnostic-Code) and
the returned message or its headers (`message/rfc822`, `text/rfc822-headers`), whose
X-Newsletter-Issue and Message-ID say which copy of which issue it is about.

Pure: the bytes of one message in, what it says out (`read`, or `events` for the
events alone). What they do to the recipients is record.py's.

Each recipient group is one event:

- Action failed, Status 5.1.x, 5.2.x (not 5.2.2, a full mailbox), 5.0.0 or 5.4.4: a
  bounce, hard (record.py suppresses the address); failed with any other 5.x.x (a
  refusal of this mail, not of the address: policy, content) or 4.x.x (the server gave
  up retrying): a bounce, soft.
- Action delayed: deferred. delivered, relayed, expanded: delivered.

Real notifications vary; what is read besides the RFC's form: a Status with a
three-digit detail (Exchange's 5.1.10); RFC 6533's message/global-delivery-status
and returned message/global or message/global-headers; a Diagnostic-Code folded over lines
(Gmail's); a delivery-status part encoded in base64 or quoted-printable; a
delivery-status part with no recipient groups (Gmail's, at times), whose recipients
are then the X-Failed-Recipients header's, with the first status code of the
human-readable part. A failed Action without any status code is a soft bounce: a
hard one suppresses the address, which wants the server's word for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
import re
from dataclasses import dataclass
from datetime import UTC
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from newsletter.addresses import BadAddress, normalise_address
from newsletter.events.model import Event
from newsletter.events.status_codes import STATUS, status_meaning

ISSUE_HEADER = "X-Newsletter-Issue"  # message.py writes it in every copy
ACTIONS = {
    "failed": "bounce",
    "delayed": "deferred",
    "delivered": "delivered",
    "relayed": "delivered",
    "expanded": "delivered",
}
STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")  # RFC 6533's too
RETURNED_MESSAGES = ("message/rfc822", "message/global", "message/global-headers")
_SMTP_CODE = re.compile(r"^\s*([245])\d\d\b")


@dataclass(frozen=True)
class Notification:
    """What one message says. `dsn`: it is a delivery status notification at all (else
    it is other mail: an auto-reply, an out-of-office, spam; skipped). `issue` and
    `message_id`: of the returned copy (None: no returned headers, or not one of our
    copies). `dated`: where `at` came from ("Arrival-Date", "Date" or "file": the
    time the caller gave, the file's). `events`: one per recipient group."""

    dsn: bool
    events: tuple[Event, ...] = ()
    issue: str | None = None
    message_id: str | None = None
    dated: str = ""

    @property
    def ours(self) -> bool:
        return self.issue is not None


NOT_A_DSN = Notification(dsn=False)


def events(data: bytes, fallback_at: int) -> list[Event]:
    """The events of one message (none if it is no DSN); `fallback_at` (Unix time, the
    file's mtime) dates them when the DSN has neither Arrival-Date nor Date."""
    return list(read(data, fallback_at).events)


def read(data: bytes, fallback_at: int) -> Notification:
    """One message read: a DSN's events, or NOT_A_DSN."""
    message = message_from_bytes(data, policy=policy.compat32)
    status_part = _delivery_status(message)
    if status_part is None:
        return NOT_A_DSN
    fields, groups = _status_fields(status_part)
    returned = _returned_headers(message)
    issue = _header(returned, ISSUE_HEADER) if returned is not None else None
    original_id = _message_id(returned) or _message_id_field(fields)
    at, dated = _date(fields, message, fallback_at)
    own_id = _message_id(message)
    if not groups:
        groups = _failed_recipients(message)
    # each copy goes to one address, its To: the recipient, whatever the MTA calls it
    one = bool(issue) and len(groups) == 1
    sent_to = _single_to(returned) if one and returned is not None else None
    found = []
    for group in groups:
        event = _event(group, data, own_id, at, issue, original_id, sent_to)
        if event is not None:
            found.append(event)
    return Notification(True, tuple(found), issue, original_id, dated)


def _delivery_status(message: Message) -> Message | None:
    """The message/delivery-status part of a report (the first, outside any message
    it returns)."""
    if message.get_content_type() in STATUS_PARTS:
        return message
    if not message.is_multipart():
        return None
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        kind = part.get_content_type()
        if kind in STATUS_PARTS:
            return part
        if kind.startswith("multipart/"):
            inner = _delivery_status(part)
            if inner is not None:
                return inner
    return None


def _status_fields(part: Message) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(the per-message fields, each recipient's fields), names in lower case."""
    text = part.as_string().replace("\r\n", "\n")
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    raw = body.encode("utf-8", "surrogateescape")
    try:
        if encoding == "base64":
            raw = base64.b64decode(raw)
        elif encoding == "quoted-printable":
            raw = quopri.decodestring(raw)
    except (binascii.Error, ValueError):
        pass  # read as it is
    blocks = [_fields(block) for block in re.split(r"\n[ \t]*\n", _text(raw).replace("\r\n", "\n"))]
    blocks = [block for block in blocks if block]
    if not blocks:
        return {}, []
    first, rest = (blocks[0], blocks[1:])
    if "final-recipient" in first or "original-recipient" in first:
        first, rest = {}, blocks  # no per-message fields
    return first, [block for block in rest if "final-recipient" in block or "action" in block]


def _fields(block: str) -> dict[str, str]:
    """`Name: value` lines (continuations unfolded), the first of a name kept."""
    out: dict[str, str] = {}
    name = ""
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and name:
            out[name] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip() or " " in key.strip():
            name = ""
            continue
        name = key.strip().lower()
        if name in out:  # a second of a field: not ours to merge
            name = ""
            continue
        out[name] = value.strip()
    return out


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _returned_headers(message: Message) -> Message | None:
    """The headers of the message returned with the report, if any."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in RETURNED_MESSAGES:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return inner
        if kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = _text(raw) if isinstance(raw, bytes) else str(part.get_payload())
            return HeaderParser(policy=policy.compat32).parsestr(text)
    return None


def _header(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _message_id(message: Message | None) -> str | None:
    if message is None:
        return None
    value = _header(message, "Message-ID")
    if not value:
        return None
    found = re.search(r"<[^<>\s]+>", value)
    return found.group(0) if found else value


def _message_id_field(fields: dict[str, str]) -> str | None:
    """Gmail's per-message X-Original-Message-ID, when the copy's headers are not
    returned."""
    value = fields.get("x-original-message-id", "")
    found = re.search(r"<[^<>\s]+>", value)
    return found.group(0) if found else None


def _date(fields: dict[str, str], message: Message, fallback_at: int) -> tuple[int, str]:
    for name, value in (
        ("Arrival-Date", fields.get("arrival-date")),
        ("Date", message.get("Date")),
    ):
        if not value:
            continue
        try:
            when = parsedate_to_datetime(" ".join(str(value).split()))
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:  # RFC 5322's -0000: UTC, zone unknown
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp()), name
    return int(fallback_at), "file"


def _failed_recipients(message: Message) -> list[dict[str, str]]:
    """Recipient groups made from X-Failed-Recipients, for a delivery-status part
    without any: failed, with the first status code the human-readable part gives."""
    listed = message.get_all("X-Failed-Recipients") or []
    addresses = [addr for _, addr in getaddresses([str(v) for v in listed]) if "@" in addr]
    if not addresses:
        return []
    status = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            raw = part.get_payload(decode=True)
            found = STATUS.search(_text(raw)) if isinstance(raw, bytes) else None
            if found:
                status = found.group(0)
                break
    return [{"final-recipient": f"rfc822; {a}", "action": "failed", "status": status}
            for a in addresses]  # fmt: skip


def _single_to(returned: Message) -> str | None:
    found = [addr for _, addr in getaddresses([str(v) for v in returned.get_all("To") or []])]
    found = [addr for addr in found if "@" in addr]
    return found[0] if len(found) == 1 else None


def _address(value: str) -> str:
    """`rfc822; Ada@Example.COM` -> `Ada@example.com` (as lists keep it)."""
    kind, semi, address = value.partition(";")
    text = address if semi else kind
    text = text.strip().strip("<>").strip()
    try:
        return normalise_address(text)
    except BadAddress:
        return text


def _event(
    group: dict[str, str],
    data: bytes,
    own_id: str | None,
    at: int,
    issue: str | None,
    original_id: str | None,
    sent_to: str | None,
) -> Event | None:
    action = group.get("action", "").split(";")[0].strip().lower()
    kind = ACTIONS.get(action)
    recipient = group.get("original-recipient") or group.get("final-recipient") or ""
    email = _address(sent_to or recipient) if (sent_to or recipient) else ""
    if kind is None or not email:
        return None
    status = group.get("status", "")
    code = STATUS.search(status)
    diagnostic = group.get("diagnostic-code", "")
    reason = _diagnostic(diagnostic) or status_meaning(status)
    bounce = ""
    if kind == "bounce":
        bounce = _bounce(code, _smtp_class(diagnostic))
    basis = own_id or hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256(f"{basis}\n{email.lower()}\n{action}".encode()).hexdigest()
    return Event(
        id=f"dsn:{digest}",
        kind=kind,
        email=email,
        at=at,
        issue=issue,
        message_id=original_id,
        bounce=bounce,
        reason=reason,
        source="dsn",
    )


def _diagnostic(value: str) -> str:
    """A Diagnostic-Code's words, without its type (`smtp; 550 ...` -> `550 ...`)."""
    kind, semi, text = value.partition(";")
    words = text if semi and " " not in kind.strip() else value
    return " ".join(words.split())


# The permanent failures that are the address's, as the SMTP transport's refusals
# (5.1.x: no such user or domain; 5.2.x: the mailbox, but a full one, 5.2.2), plus an
# undefined permanent one (5.0.0, what many servers say for an unknown user) and no
# route to the domain (5.4.4: no MX or A record). Any other 5.x.x (a policy or content
# refusal, 5.7.x; a system's or a protocol's) refuses this mail, not the address: soft.
_HARD = {("1", None), ("2", None), ("0", "0"), ("4", "4")}


def _bounce(code: re.Match[str] | None, smtp_class: str) -> str:
    """hard or soft, from the Status (a 5.x.x as above), else the reply's class."""
    if code is None:
        return "hard" if smtp_class == "5" else "soft"
    klass, subject, detail = code.groups()
    if klass != "5" or (subject, detail) == ("2", "2"):
        return "soft"
    return "hard" if (subject, None) in _HARD or (subject, detail) in _HARD else "soft"


def _smtp_class(diagnostic: str) -> str:
    found = _SMTP_CODE.match(_diagnostic(diagnostic))
    return found.group(1) if found else ""
