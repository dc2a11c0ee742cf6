"""One recipient's copy of an issue as RFC 5322 bytes (outbox, preview, SMTP).

Everything that is the same for every copy (the headers but To, Subject, Message-ID
and List-Unsubscribe; the MIME skeleton) is encoded once per send by `MessageMaker`;
each copy then costs a substitution and two quoted-printable encodings in C
(`binascii.b2a_qp`), instead of building an `email.message.EmailMessage`, whose
header parsing costs milliseconds per message.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.policy import SMTP
from email.utils import format_datetime, quote
from urllib.parse import quote as url_quote

from newsletter.personalise import Recipient, personalise
from newsletter.render import RenderedIssue
from newsletter.render.placeholders import UNSUBSCRIBE_URL
from newsletter.settings import NewsletterSettings
from newsletter.text import header_text

ONE_CLICK = "List-Unsubscribe=One-Click"
MAILTO_SAFE = "!$'*+-^_`{|}~."  # what a mailto: URI's local part may hold as it is
CRLF = b"\r\n"


@dataclass(frozen=True)
class Envelope:
    """What every message of a send shares besides the rendered issue."""

    newsletter: NewsletterSettings
    list_name: str
    notice: bool = False  # a mail to one reader (a signup's confirmation), not an issue:
    # no List-Unsubscribe (the reader is on no list yet)
    mailto: str = ""  # [unsubscribe] mailto: a mailto: in List-Unsubscribe besides the link

    def list_unsubscribe(self, url: str) -> str:
        """The List-Unsubscribe value: the one-click link (RFC 8058 wants it first and
        HTTPS), then the mailto: if there is one."""
        return f"<{url}>{self.mailto_part}"

    @property
    def mailto_part(self) -> str:
        """ ", <mailto:...>" for List-Unsubscribe (RFC 6068: the address's local part
        percent-encoded where a URI needs it), or "" without [unsubscribe] mailto."""
        if not self.mailto:
            return ""
        local, _, domain = self.mailto.rpartition("@")
        return f", <mailto:{url_quote(local, safe=MAILTO_SAFE)}@{domain}?subject=unsubscribe>"

    @property
    def domain(self) -> str:
        return self.newsletter.from_.domain

    @property
    def list_id(self) -> str:
        """RFC 2919: a phrase (quoted or encoded as needed) and <list.domain>."""
        phrase = _phrase(header_text(self.newsletter.name), "List-Id")
        return f"{phrase} <{self.list_name}.{self.domain}>"


def message_id(issue_id: str, email: str, domain: str, test: bool = False) -> str:
    """Stable per issue and address: a copy sent twice by mistake carries the same
    Message-ID, so mail clients show it once. Test copies each get their own."""
    if test:
        return f"<test.{issue_id}.{secrets.token_hex(12)}@{domain}>"
    digest = hashlib.sha256(f"{issue_id}\n{email.lower()}".encode()).hexdigest()[:24]
    return f"<{issue_id}.{digest}@{domain}>"


class MessageMaker:
    """Makes each recipient's message of one send; the shared parts are encoded once."""

    def __init__(
        self, issue: RenderedIssue, envelope: Envelope, when: datetime, test: bool = False
    ) -> None:
        self.issue = issue
        self.envelope = envelope
        self.test = test
        self.prefix = "[Test] " if test else ""
        # "=_" never occurs in quoted-printable text (it writes "=" as "=3D").
        self.boundary = f"=_nl_{secrets.token_hex(8)}"
        newsletter = envelope.newsletter
        self._from = _header("From", str(newsletter.from_))
        self._reply_to = (
            _header("Reply-To", str(newsletter.reply_to)) if newsletter.reply_to else b""
        )
        self._subject = (
            None if issue.subject.keys else _subject(self.prefix + issue.subject.fill({}))
        )
        self._tail = b"".join(
            [
                _header("Date", format_datetime(when)),
                _raw("List-Id", envelope.list_id),
                b"" if envelope.notice else _raw("List-Unsubscribe-Post", ONE_CLICK),
                _header("Content-Language", issue.language),
                _header("X-Newsletter-Issue", issue.id),
                _raw("MIME-Version", "1.0"),
                _raw("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
                CRLF,
            ]
        )
        open_part = f'--{self.boundary}\r\nContent-Type: text/{{}}; charset="utf-8"\r\n'
        self._text_head = (open_part.format("plain") + QP_HEAD).encode()
        self._html_head = (open_part.format("html") + QP_HEAD).encode()
        self._close = f"--{self.boundary}--\r\n".encode()

    def make(self, recipient: Recipient) -> tuple[str, bytes]:
        """(Message-ID, the whole message) for one recipient."""
        copy = personalise(self.issue.subject, self.issue.html, self.issue.text, recipient)
        # a notice is made anew each time (a new link): a Message-ID of its own, or Gmail
        # drops the second as one it has seen
        once = self.test or self.envelope.notice
        msgid = message_id(self.issue.id, recipient.email, self.envelope.domain, once)
        subject = self._subject or _subject(self.prefix + copy.subject)
        data = b"".join(
            [
                self._from,
                _to(recipient.name, recipient.email),
                self._reply_to,
                subject,
                _raw("Message-ID", msgid),
                b""
                if self.envelope.notice
                else _raw(
                    "List-Unsubscribe",
                    self.envelope.list_unsubscribe(recipient.values[UNSUBSCRIBE_URL]),
                ),
                self._tail,
                self._text_head,
                _quoted_printable(copy.text),
                CRLF,
                self._html_head,
                _quoted_printable(copy.html),
                CRLF,
                self._close,
            ]
        )
        return msgid, data


QP_HEAD = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
_POLICY = SMTP


def _header(name: str, value: str) -> bytes:
    """A header folded and RFC 2047-encoded by the email package (used once per send)."""
    return _POLICY.header_factory(name, value).fold(policy=_POLICY).encode("ascii")


def _raw(name: str, value: str) -> bytes:
    """A header written as is: ASCII we made ourselves, never folded (a List-Unsubscribe
    URL folded into RFC 2047 words would no longer be a link)."""
    return f"{name}: {value}\r\n".encode("ascii")


def _subject(text: str) -> bytes:
    """Plain ASCII folded at spaces; anything else (non-ASCII, "=?" that would read as
    an encoded word, a word too long to fold) as RFC 2047 encoded words."""
    text = header_text(text)
    plain = text.isascii() and "=?" not in text and max(map(len, text.split()), default=0) <= 70
    charset = "us-ascii" if plain else "utf-8"
    encoded = Header(text, charset, header_name="Subject").encode(" \t", linesep="\r\n")
    return f"Subject: {encoded}\r\n".encode("ascii")


def _to(name: str, email: str) -> bytes:
    """The recipient's address with their display name from the list."""
    name = header_text(name)
    if not name:
        return f"To: {email}\r\n".encode("ascii")
    phrase = _phrase(name, "To")
    last = len(phrase.rsplit("\n", 1)[-1]) + (4 if "\n" not in phrase else 0)
    gap = " " if last + len(email) + 3 <= 78 else "\r\n "
    return f"To: {phrase}{gap}<{email}>\r\n".encode("ascii")


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def _phrase(name: str, header: str) -> str:
    """A display name: as it is, quoted when it holds specials, or RFC 2047 encoded
    words when it is not ASCII, looks like an encoded word, or is long (they fold)."""
    if not name.isascii() or "=?" in name or len(name) > 60:
        return Header(name, "utf-8", header_name=header).encode(linesep="\r\n")
    return f'"{quote(name)}"' if _SPECIALS.search(name) else name


def _quoted_printable(text: str) -> bytes:
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return encoded.replace(b"\n", CRLF).removesuffix(CRLF)


def header_values(message: bytes) -> dict[str, str]:
    """The headers of an RFC 5322 message, names lowercased, folded lines joined."""
    head = message.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    values: dict[str, str] = {}
    name = ""
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and name:
            values[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            values[name] = value.strip()
    return values
