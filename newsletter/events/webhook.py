"""SendGrid's Event Webhook: a request checked (its ECDSA signature, with the official
client's EventWebhook helper, over the timestamp and the body; the timestamp within
five minutes of now), and its JSON read into Events.

SendGrid posts a JSON array of events; each names its event, the recipient's address,
a Unix timestamp, its own `sg_event_id` (an event is repeated when a post is retried)
and `sg_message_id` (the request's X-Message-Id, then a dot and more), and carries our
custom args as fields of its own: `issue` (the issue's id) and `r` (the recipient's
number in the ledger). https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
"""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from newsletter.events.model import KINDS, Event

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TOLERANCE = 300  # seconds: a signed request older (or newer) than this is refused
MAX_FIELD = 2000  # characters kept of a reason or a link
LATEST = 2**40  # a Unix time past any event's (and within a database's whole numbers)


class Refused(Exception):
    """The request is not SendGrid's, or not now: refused whole, nothing recorded. Its
    text names what was wrong (never an address)."""

    def __init__(self, status: str, why: str) -> None:
        super().__init__(why)
        self.status = status


def verifier(public_key: str) -> Any:
    """The verification key (SendGrid's base64 DER "public key") as the helper wants
    it; ValueError when it is not one."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    try:
        return EventWebhook().convert_public_key_to_ecdsa(public_key.strip())
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("it is not an elliptic-curve public key in base64") from exc


def check(body: bytes, signature: str, timestamp: str, key: Any, now: float) -> str:
    """The body as text when the request is signed by the key's owner, now; else
    Refused (403 for a signature, 400 for what cannot be read)."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    if not signature or not timestamp:
        raise Refused("403 Forbidden", f"no {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused("400 Bad Request", f"{TIMESTAMP_HEADER} is not a Unix time")
    if abs(now - int(timestamp)) > TOLERANCE:
        raise Refused("403 Forbidden", f"signed at {timestamp}, more than {TOLERANCE} s from now")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "the body is not UTF-8") from None
    try:
        good = EventWebhook().verify_signature(text, signature, timestamp, key)
    except (ValueError, binascii.Error):
        good = False
    if not good:
        raise Refused("403 Forbidden", "the signature does not match the body")
    return text


@dataclass
class Read:
    """A post's events, and how many of its entries could not be read as one."""

    events: list[Event] = field(default_factory=list)
    malformed: int = 0


def read_events(text: str) -> Read:
    """The events of a post's body (JSON: an array of objects). An entry that is not an
    event SendGrid documents is counted, not fatal: the others are still recorded."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("400 Bad Request", "the body is not JSON") from None
    if not isinstance(data, list):
        raise Refused("400 Bad Request", "the body is not a JSON array of events")
    found = Read()
    for item in data:
        event = _event(item) if isinstance(item, dict) else None
        if event is None:
            found.malformed += 1
        else:
            found.events.append(event)
    return found


def _event(item: dict[str, Any]) -> Event | None:
    kind, email, at = item.get("event"), item.get("email"), item.get("timestamp")
    if kind not in KINDS or not isinstance(email, str) or "@" not in email:
        return None
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < LATEST:
        return None  # NaN and Infinity (which JSON readers take) fail the range too
    number = item.get("r")
    fits = isinstance(number, str) and number.isascii() and number.isdigit() and len(number) < 16
    recipient = int(str(number)) if fits else None
    issue = item.get("issue")
    message_id = item.get("sg_message_id")
    event_id = item.get("sg_event_id")
    if not isinstance(event_id, str) or not event_id:  # SendGrid always sends one
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
        event_id = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    bounce = ""
    if kind == "bounce":  # type "bounce": the address refused for good; "blocked": for now
        bounce = "soft" if item.get("type") == "blocked" else "hard"
    return Event(
        id=event_id[:200],
        kind=str(kind),
        email=email.strip(),
        at=int(at),
        issue=issue if isinstance(issue, str) else None,
        recipient=recipient,
        message_id=message_id if isinstance(message_id, str) else None,
        bounce=bounce,
        reason=_reason(item),
        url=_text(item.get("url")),
        machine=item.get("sg_machine_open") is True,
    )


def _reason(item: dict[str, Any]) -> str:
    """The provider's words: a bounce's or a drop's reason, a deferral's response,
    with the status code when there is one."""
    words = _text(item.get("reason")) or _text(item.get("response"))
    status = _text(item.get("status"))
    return f"{status} {words}".strip() if status and status not in words else words


def _text(value: Any) -> str:
    return " ".join(value.split())[:MAX_FIELD] if isinstance(value, str) else ""
