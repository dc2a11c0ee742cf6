"""One recipient's copy of an issue as an RFC 5322 message (outbox and SMTP)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from newsletter.personalise import UNSUBSCRIBE_URL, Recipient, personalise
from newsletter.render import RenderedIssue
from newsletter.settings import NewsletterSettings
from newsletter.whitespace import squash

ONE_CLICK = "List-Unsubscribe=One-Click"
# Headers set with set_raw() go out as written: a long List-Unsubscribe URL must not be
# folded into RFC 2047 encoded words, which no mail client would read as a link.
POLICY = SMTP.clone(refold_source="none")


@dataclass(frozen=True)
class Envelope:
    """What every message of a send shares besides the rendered issue."""

    newsletter: NewsletterSettings
    list_name: str

    @property
    def domain(self) -> str:
        return self.newsletter.from_.domain

    @property
    def list_id(self) -> str:
        return f"{self.newsletter.name} <{self.list_name}.{self.domain}>"


def message_id(issue_id: str, email: str, domain: str, test: bool = False) -> str:
    """Stable per issue and address: a copy sent twice by mistake carries the same
    Message-ID, so mail clients show it once. Test copies get their own."""
    digest = hashlib.sha256(f"{issue_id}\n{email.lower()}".encode()).hexdigest()[:24]
    kind = "test." if test else ""
    return f"<{kind}{issue_id}.{digest}@{domain}>"


def build_message(
    issue: RenderedIssue,
    recipient: Recipient,
    envelope: Envelope,
    when: datetime,
    test: bool = False,
) -> EmailMessage:
    copy = personalise(issue.subject, issue.html, issue.text, recipient)
    local, _, domain = recipient.email.rpartition("@")
    msg = EmailMessage(policy=POLICY)
    msg["From"] = envelope.newsletter.from_
    msg["To"] = Address(display_name=_one_line(recipient.name), username=local, domain=domain)
    if envelope.newsletter.reply_to:
        msg["Reply-To"] = envelope.newsletter.reply_to
    msg.set_raw("Subject", _encoded(("[Test] " if test else "") + copy.subject, "Subject"))
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id(issue.id, recipient.email, envelope.domain, test)
    msg["List-Id"] = envelope.list_id
    msg.set_raw("List-Unsubscribe", f"<{recipient.values[UNSUBSCRIBE_URL]}>")
    msg["List-Unsubscribe-Post"] = ONE_CLICK
    msg["Content-Language"] = issue.language
    msg["X-Newsletter-Issue"] = issue.id
    msg.set_content(copy.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(copy.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def _encoded(text: str, name: str) -> str:
    """RFC 2047 where needed, folded at spaces. (The modern folder puts a subject that
    starts with "[" on a line of its own, which parsers then read with a leading space.)"""
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset, header_name=name).encode(linesep="\r\n")


def _one_line(text: str) -> str:
    """Display names come from CSV cells: no line breaks may reach a header."""
    return squash(text)
