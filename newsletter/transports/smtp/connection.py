"""One SMTP connection of the transport: opened when first needed, kept for the whole
send, one transaction per recipient. What each answer means is in the package's
docstring; the password goes to smtplib's login only.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from newsletter.errors import AmbiguousError, PermanentError, TransientError, TransportError
from newsletter.message import MessageMaker
from newsletter.personalise import Recipient
from newsletter.settings import SmtpSettings


@dataclass
class Outcome:
    """What one connection did with its share of a batch."""

    accepted: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    ambiguous: list[str] = field(default_factory=list)
    error: TransportError | None = None


class Connection:
    """One SMTP connection, opened when first needed and kept for the whole send."""

    def __init__(
        self, settings: SmtpSettings, password: str | None, context: ssl.SSLContext | None
    ) -> None:
        self.settings = settings
        self.password = password
        self.context = context
        self.smtp: smtplib.SMTP | None = None
        self.where = f"the SMTP server at {settings.host}:{settings.port}"

    def work(
        self,
        todo: deque[Recipient],
        stop: threading.Event,
        maker: MessageMaker,
        sender: str,
        outcome: Outcome,
    ) -> None:
        """Send to the next recipient of `todo` until none is left, or until this or
        another connection fails (`stop`). The next message is made while the server
        reads the last one: its answer comes after (a recipient taken that way but not
        handed over when the send stops is in no answer, so it goes back to pending)."""
        made: tuple[Recipient, str, bytes] | None = None

        def make_next() -> None:
            nonlocal made
            if made is None and not stop.is_set():
                try:
                    recipient = todo.popleft()
                except IndexError:
                    return
                made = (recipient, *maker.make(recipient))

        try:
            while not stop.is_set():
                make_next()
                if made is None:
                    return
                (recipient, msgid, data), made = made, None
                try:
                    refusal = self.deliver(sender, recipient.email, data, make_next)
                except TransportError as exc:
                    if isinstance(exc, AmbiguousError):
                        outcome.ambiguous.append(recipient.email)
                    outcome.error = exc
                    stop.set()
                    return
                if refusal is None:
                    outcome.accepted[recipient.email] = msgid
                else:
                    outcome.refused[recipient.email] = refusal
        except BaseException:
            stop.set()
            raise

    def deliver(
        self, sender: str, email: str, data: bytes, meanwhile: Callable[[], None] | None = None
    ) -> str | None:
        """Hand one message over: None when accepted (250), the server's reply when it
        refused this recipient; raises TransientError, PermanentError, AmbiguousError.
        `meanwhile` runs between sending the message and reading the server's answer."""
        try:
            smtp = self._mail_from(sender)
            code, reply = _ask(smtp, f"RCPT TO:<{email}>")
            if code not in (250, 251):
                text = _text(code, reply)
                if code >= 500 and not _about_us(code, text):
                    self.reset()
                    return text
                self.fail(code, reply, f"RCPT TO:<{email}>")
            code, reply = _ask(smtp, "DATA")
            if code != 354:
                self.fail(code, reply, f"DATA for {email}")
            smtp.send(_stuffed(data))
        except OSError as exc:  # SMTPServerDisconnected, a timeout, a reset: not handed over
            self.drop()
            raise TransientError(
                f"lost the connection to {self.where} before the message to {email} was "
                f"handed over ({_reason(exc, self.settings.timeout)})"
            ) from None
        # The whole message went: from here, no answer means it may have been accepted.
        if meanwhile is not None:
            meanwhile()
        return self._answer(smtp, email)

    def _mail_from(self, sender: str) -> smtplib.SMTP:
        """A transaction begun on the kept connection, or on a new one when the server
        closed the kept one meanwhile (once)."""
        kept = self.smtp is not None
        smtp = self.smtp or self.open()
        try:
            code, reply = _ask(smtp, f"MAIL FROM:<{sender}>")
        except OSError:
            if not kept:
                raise
            code, reply = 421, b"closed"
        if code == 421 and kept:
            self.drop()
            smtp = self.open()
            code, reply = _ask(smtp, f"MAIL FROM:<{sender}>")
        if code != 250:
            self.fail(code, reply, f"MAIL FROM:<{sender}> (the sender)")
        return smtp

    def _answer(self, smtp: smtplib.SMTP, email: str) -> str | None:
        """The server's answer to a message handed over whole."""
        try:
            code, reply = smtp.getreply()
        except OSError as exc:
            self.drop()
            why = _reason(exc, self.settings.timeout)
            raise AmbiguousError(
                f"no answer from {self.where} after the message to {email} was handed "
                f"over ({why}); it may have been accepted, so it is not sent again",
                recipient=email,
            ) from None
        if code == 250:
            return None
        text = _text(code, reply)
        if code >= 500 and _enhanced(text)[:4] in ("5.1.", "5.2."):
            return text  # about this address or its mailbox
        self.fail(code, reply, f"the message to {email}", ended=True)

    def fail(self, code: int, reply: bytes, what: str, ended: bool = False) -> NoReturn:
        """Raise for an answer that is neither success nor a refusal of the recipient;
        leave the connection ready for the next transaction, or drop it."""
        text = _text(code, reply)
        if code == 421 or not 400 <= code < 600:
            self.drop()
        elif not ended:
            self.reset()
        if 400 <= code < 500:
            raise TransientError(f"{self.where} answered {what} with {text}", status=code)
        if code >= 500:
            raise PermanentError(f"{self.where} refused {what}: {text}", status=code)
        raise TransientError(f"{self.where} answered {what} with {text}, which is not SMTP")

    def reset(self) -> None:
        """RSET after a failed transaction; a connection that cannot is dropped."""
        if self.smtp is None:
            return
        try:
            code, _ = self.smtp.rset()
        except OSError:
            code = 0
        if code != 250:
            self.drop()

    def open(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentError(
                        f"{self.where} does not offer STARTTLS, which [smtp] security = "
                        '"starttls" requires; nothing is sent in the clear (security = "ssl" '
                        "is for a port that takes TLS from the start, usually 465)"
                    )
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, self.password or "")
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            if isinstance(exc, Exception) and not isinstance(exc, TransportError):
                raise self._connect_error(exc) from None
            raise
        self.smtp = smtp
        return smtp

    def _connect_error(self, exc: Exception) -> Exception:
        """What a failure to connect, start TLS or log in means: TLS ones, then SMTP
        answers, then the network."""
        if isinstance(exc, ssl.SSLError):
            return self._tls_error(exc)
        if isinstance(exc, smtplib.SMTPException):
            return self._smtp_error(exc)
        if isinstance(exc, OSError):
            return TransientError(
                f"cannot connect to {self.where}: {_reason(exc, self.settings.timeout)}"
            )
        return exc

    def _tls_error(self, exc: ssl.SSLError) -> TransportError:
        s = self.settings
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = "" if s.ca_file else " (a private CA can be trusted with [smtp] ca_file)"
            return PermanentError(
                f"cannot verify the certificate of {self.where}: {exc.verify_message}{hint}"
            )
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
            return TransientError(f"{self.where} closed the connection during TLS: {exc}")
        hint = ""
        if s.security == "ssl":
            hint = (
                f' (does port {s.port} take TLS from the start? security = "starttls" is '
                "for a server that starts in plain text, usually on port 587)"
            )
        return PermanentError(f"TLS with {self.where} failed: {exc.reason or exc}{hint}")

    def _smtp_error(self, exc: smtplib.SMTPException) -> TransportError:
        s = self.settings
        if isinstance(exc, smtplib.SMTPResponseException):
            text = _text(exc.smtp_code, exc.smtp_error)
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                what = f"{self.where} refused the login of {s.username}: {text}"
            elif 400 <= exc.smtp_code < 500:
                what = f"{self.where} answered {text}"
            else:
                what = f"{self.where} refused us: {text}"
            kind = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            return kind(what, status=exc.smtp_code)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PermanentError(
                f"{self.where} does not offer a login (AUTH) for [smtp] username "
                f"{s.username}" + (" without TLS" if s.security == "none" else "")
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return TransientError(
                f"{self.where} closed the connection: {_reason(exc, self.settings.timeout)}"
            )
        # e.g. "No suitable authentication method"
        return PermanentError(f"cannot log in to {self.where} as {s.username}: {exc}")

    def drop(self) -> None:
        """Close without a word: after a failure, nothing more can be said on it."""
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            smtp.close()

    def close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except OSError:
                smtp.close()


def _stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: a dot that starts a line doubled (RFC 5321
    4.5.2), ended by CRLF . CRLF. (bytes.replace: a tenth of the time of a regex.)"""
    data = data.replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _ask(smtp: smtplib.SMTP, command: str) -> tuple[int, bytes]:
    """One command and its reply. The addresses are ASCII and checked already
    (newsletter.addresses), so smtplib's mail() and rcpt(), which parse each one again
    with the email package (some 30 us each), are not needed."""
    smtp.send(f"{command}\r\n".encode("ascii"))
    return smtp.getreply()


def _text(code: int, reply: bytes | str) -> str:
    """A server's reply as one line: "550 5.1.1 No such user"."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(f"{code} {reply}".split())[:500]


_ENHANCED = re.compile(r"^\d{3} ([245]\.\d{1,3}\.\d{1,3})\b")


def _enhanced(text: str) -> str:
    """The enhanced status code (RFC 3463) of a reply, or ""."""
    found = _ENHANCED.match(text)
    return found.group(1) if found else ""


def _about_us(code: int, text: str) -> bool:
    """A refusal at RCPT TO that is about the sender, not the recipient: the server
    wants a login (530, 5.7.0) or will not relay for us ("Relay access denied"). It
    would refuse everyone. One about the address or mailbox (5.1.x, 5.2.x: Postfix's
    "User unknown in relay recipient table") is the recipient's."""
    enhanced = _enhanced(text)
    if enhanced[:4] in ("5.1.", "5.2."):
        return False
    return code == 530 or enhanced == "5.7.0" or "relay" in text.lower()


def _reason(exc: BaseException, timeout: int) -> str:
    """Why a connection failed; smtplib reports a timeout as a closed connection."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return f"no answer within {timeout} s"
    return str(exc) or type(exc).__name__
