"""One error hierarchy. Library code raises these; only the CLI prints them.

Every error renders as one line that says where, from one structured location
(`Where`: a file and line, a setting, a batch, a recipient), never written into the
message by hand: `newsletter.toml:24: [sendgrid] api_key_env: the variable ...`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Where:
    """Where a problem is: any of a file (as shown to the user) and its line, a
    setting (`[sendgrid] api_key_env`), a batch of a send, a recipient."""

    file: str | None = None
    line: int | None = None
    setting: str | None = None
    batch: int | None = None
    recipient: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        elif self.line:
            parts.append(f"line {self.line}")
        if self.setting:
            parts.append(self.setting)
        if self.batch is not None:
            parts.append(f"batch {self.batch}")
        if self.recipient:
            parts.append(self.recipient)
        return ": ".join(parts)

    def __bool__(self) -> bool:
        return bool(str(self))


class NewsletterError(Exception):
    """Base of every error a user can cause or fix."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        setting: str | None = None,
        batch: int | None = None,
        recipient: str | None = None,
        where: Where | None = None,
    ) -> None:
        self.message = " ".join(message.split())
        base = where or Where()
        self.where = replace(
            base,
            file=file or base.file,
            line=line or base.line,
            setting=setting or base.setting,
            batch=batch if batch is not None else base.batch,
            recipient=recipient or base.recipient,
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SettingsError(NewsletterError):
    """newsletter.toml is missing, unreadable or has a wrong value."""


class ArticleError(NewsletterError):
    """An article file cannot be read."""


class ListError(NewsletterError):
    """A subscriber list cannot be read at all (bad rows are not errors)."""


class TemplateError(NewsletterError):
    """A template cannot be loaded or rendered."""


class StateError(NewsletterError):
    """The project state is unusable."""


class CheckError(NewsletterError):
    """`newsletter check` found errors in the email, and the send was not forced."""


class LockHeld(StateError):
    """Another run is sending this issue now."""


class UsageError(NewsletterError):
    """The command line is wrong in itself: an option or argument missing, malformed,
    given twice, or two that contradict each other; the CLI exits 2, and the message
    starts with what to change (`--list '..': …`, `missing --list LIST`). What the
    project says no to (its files, lists, ledger or schedule) is another error: exit 1."""


class IssueError(NewsletterError):
    """An issue cannot be sent, queued or cancelled as asked: the ledger or the
    schedule says otherwise (started for another list, queued already, not there)."""


class SubscriberError(NewsletterError):
    """What the project says no to about an address (exit 1): a suppression to lift
    that is not there, or that only --force lifts; an address asked to be forgotten."""


class ArchiveError(NewsletterError):
    """The web archive cannot be written where asked (a folder it does not own)."""


class TransportError(NewsletterError):
    """What stopped a transport handing over (all of) a batch: it is not raised by a
    transport but returned in its BatchResult, beside what was answered before."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        where: Where | None = None,
        file: str | None = None,
        batch: int | None = None,
        recipient: str | None = None,
    ) -> None:
        self.status = status
        super().__init__(message, where=where, file=file, batch=batch, recipient=recipient)


class TransientError(TransportError):
    """Worth retrying later: the recipients not answered were not handed over.
    `retry_after` is the wait the provider asked for (a 429's reset time), in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        where: Where | None = None,
        batch: int | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, where=where, batch=batch)


class PermanentError(TransportError):
    """Retrying will not help: stop the send."""


class AmbiguousError(TransportError):
    """Handed over, but no answer came: the recipients it names may have been accepted."""
