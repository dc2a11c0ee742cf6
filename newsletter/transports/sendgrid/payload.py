"""The v3 Mail Send request body for one batch, built apart from posting it (as
django-anymail splits payload from backend) so its rules are tested without a server.

One request carries up to 1000 personalizations, one recipient each, with that
recipient's `substitutions` (the rendered issue's tokens and their values: escaped
for the HTML part's tokens, raw for the text part's), `headers` (their own
List-Unsubscribe) and the issue's content, subject, from and reply-to once.

The body is written as JSON bytes directly: what every request of a send shares (the
content, the subject, the settings) is encoded once per send (`PayloadMaker`), and
each recipient costs a few string escapes in C (`encode_basestring_ascii`, what
`json.dumps` does), not a dictionary to build and walk. The result is the JSON
`json.dumps` would write, compactly.

Everything the API would reject is caught here, before the request: a recipient
whose substitutions pass SendGrid's 10,000 bytes is refused (named, with why), the
others go; a request over 30 MB is refused whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.headerregistry import Address
from json.encoder import encode_basestring_ascii as quoted
from typing import Any

from newsletter.errors import PermanentError
from newsletter.message import Envelope
from newsletter.personalise import Recipient, escape_html
from newsletter.render import RenderedIssue
from newsletter.render.placeholders import UNSUBSCRIBE_URL
from newsletter.settings import NO_TRACKING, SendgridSettings, TrackingSettings
from newsletter.text import header_text
from newsletter.transports.base import Batch

MAX_PERSONALIZATIONS = 1000
MAX_SUBSTITUTION_BYTES = 10_000
MAX_REQUEST_BYTES = 30 * 1024 * 1024
ONE_CLICK = '"List-Unsubscribe-Post":"List-Unsubscribe=One-Click"'


@dataclass
class Payload:
    """A request body and the recipients it carries (in order), plus those refused."""

    body: bytes  # JSON, as it is sent
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body)

    def data(self) -> dict[str, Any]:
        """The body read back (for tests and people)."""
        return dict(json.loads(self.body))


class PayloadMaker:
    """Makes the request bodies of one send (one issue, list and test flag): the parts
    every request shares are encoded here, once."""

    def __init__(
        self,
        issue: RenderedIssue,
        envelope: Envelope,
        settings: SendgridSettings,
        test: bool,
        tracking: TrackingSettings = NO_TRACKING,
    ) -> None:
        newsletter = envelope.newsletter
        self.notice = envelope.notice
        # what follows the link in List-Unsubscribe: ", <mailto:...>" (JSON-quoted), or ""
        self.mailto = quoted(envelope.mailto_part)[1:-1]
        # (token as a JSON key and colon, key) pairs; each token counts for every recipient
        self.html = [(quoted(issue.html.token(k, "html")) + ":", k)
                     for k in sorted(set(issue.html.keys))]  # fmt: skip
        self.text = [(quoted(issue.text.token(k, "text")) + ":", k)
                     for k in sorted(set(issue.text.keys))]  # fmt: skip
        # the subject's own tokens: a header's values are folded to one line (header_text)
        subject_tokens = {k: f"{issue.subject.prefix}s.{k}%%" for k in set(issue.subject.keys)}
        self.subject = [(quoted(t) + ":", k) for k, t in sorted(subject_tokens.items())]
        self.token_bytes = sum(len(t) - 3 for t, _ in self.html + self.text + self.subject)
        shared: dict[str, Any] = {
            "from": _mailbox(newsletter.from_),
            "subject": ("[Test] " if test else "") + issue.subject.fill(subject_tokens),
            "content": [
                {"type": "text/plain", "value": issue.text.source("text")},
                {"type": "text/html", "value": issue.html.source("html")},
            ],
            "custom_args": {"issue": issue.id, "list": envelope.list_name},
        }
        if settings.categories:
            shared["categories"] = list(settings.categories)
        if newsletter.reply_to:
            shared["reply_to"] = _mailbox(newsletter.reply_to)
        if settings.unsubscribe_group and not envelope.notice:
            shared["asm"] = {"group_id": settings.unsubscribe_group}
        if settings.sandbox:
            shared["mail_settings"] = {"sandbox_mode": {"enable": True}}
        # SendGrid's tracking as [tracking] says, whatever the account's own settings
        # say (off unless turned on; never on a notice: its link is the reader's alone)
        opens, clicks = (tracking.opens, tracking.clicks) if not envelope.notice else (False,) * 2
        shared["tracking_settings"] = {
            "click_tracking": {"enable": clicks, "enable_text": False},
            "open_tracking": {"enable": opens},
        }
        self.head = b'{"personalizations":['
        self.tail = ("]," + json.dumps(shared, separators=(",", ":"))[1:]).encode("ascii")

    def make(self, recipients: tuple[Recipient, ...]) -> Payload:
        if len(recipients) > MAX_PERSONALIZATIONS:
            raise ValueError(f"a batch of {len(recipients)} is over {MAX_PERSONALIZATIONS}")
        payload = Payload(b"")
        people: list[str] = []
        seen: set[str] = set()
        for recipient in recipients:
            key = recipient.email.lower()
            if key in seen:
                payload.refused[recipient.email] = "listed twice in one request"
                continue
            person, size = self._person(recipient)
            if size > MAX_SUBSTITUTION_BYTES:
                payload.refused[recipient.email] = (
                    f"its fields make {size:,} bytes of substitutions, over SendGrid's "
                    f"{MAX_SUBSTITUTION_BYTES:,} per recipient"
                )
                continue
            seen.add(key)
            people.append(person)
            payload.recipients.append(recipient.email)
        payload.body = self.head + ",".join(people).encode("ascii") + self.tail
        if len(payload.body) > MAX_REQUEST_BYTES:
            raise PermanentError(
                f"a request of {len(payload.recipients)} recipients would be "
                f"{len(payload.body):,} bytes, over SendGrid's {MAX_REQUEST_BYTES:,}: the issue "
                "or the subscribers' fields are too large"
            )
        return payload

    def _person(self, recipient: Recipient) -> tuple[str, int]:
        """One personalization as JSON, and its substitutions' size in bytes. (It runs
        per recipient: each value is escaped once, and quoted once where the HTML
        escape leaves it as it is.)"""
        raw = recipient.values
        parts, size = [], self.token_bytes
        done: dict[str, str] = {}  # raw value -> its JSON string
        for token, key in self.text:
            value = raw[key]
            done[value] = encoded = quoted(value)
            parts.append(token + encoded)
            size += len(value) if value.isascii() else len(value.encode())
        for token, key in self.html:
            value = escape_html(raw[key])
            parts.append(token + (done.get(value) or quoted(value)))
            size += len(value) if value.isascii() else len(value.encode())
        for token, key in self.subject:
            value = header_text(raw[key])
            parts.append(token + (done.get(value) or quoted(value)))
            size += len(value) if value.isascii() else len(value.encode())
        box = '{"email":' + (done.get(recipient.email) or quoted(recipient.email))
        name = header_text(recipient.name)
        if name:
            box += ',"name":' + quoted(_name(name))
        # its number in the ledger, which SendGrid's events carry back as a field `r`
        number = f',"custom_args":{{"r":"{recipient.seq}"}}' if recipient.seq else ""
        if self.notice:  # on no list: no List-Unsubscribe
            return f'{{"to":[{box}}}],"substitutions":{{{",".join(parts)}}}{number}}}', size
        url = done.get(raw[UNSUBSCRIBE_URL]) or quoted(raw[UNSUBSCRIBE_URL])
        person = (
            f'{{"to":[{box}}}],"substitutions":{{{",".join(parts)}}},'
            f'"headers":{{"List-Unsubscribe":"<{url[1:-1]}>{self.mailto}",{ONE_CLICK}}}'
            f"{number}}}"
        )
        return person, size


def build_payload(
    batch: Batch, settings: SendgridSettings, tracking: TrackingSettings = NO_TRACKING
) -> Payload:
    """The request for one batch (a transport keeps its PayloadMaker for the send)."""
    maker = PayloadMaker(batch.issue, batch.envelope, settings, batch.test, tracking)
    return maker.make(batch.recipients)


def _mailbox(address: Address) -> dict[str, str]:
    box = {"email": address.addr_spec}
    if address.display_name:
        box["name"] = _name(address.display_name)
    return box


def _name(name: str) -> str:
    """SendGrid wants a display name holding `,` or `;` wrapped in double quotes."""
    if ("," in name or ";" in name) and not (name.startswith('"') and name.endswith('"')):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name
