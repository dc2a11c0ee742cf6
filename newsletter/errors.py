"""One error hierarchy. Library code raises these; only the CLI prints them.

Every error renders as one line that says where: a file (and line), a setting, a
recipient or a batch.
"""

from __future__ import annotations

from typing import Any


class NewsletterError(Exception):
    """Base of every error a user can cause or fix."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = " ".join(message.split())
        self.where = where
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
    """The project state in .newsletter/ is unusable."""


class CheckError(NewsletterError):
    """`newsletter check` found errors in the email, and the send was not forced."""


class LockHeld(StateError):
    """Another run is sending this issue now."""


class UsageError(NewsletterError):
    """Options that do not make sense together; the CLI exits 2."""


class TransportError(NewsletterError):
    """A transport could not hand over (all of) a batch.

    `partial` is an Accepted for the part of the batch answered before the failure
    (accepted or refused); `ambiguous` names the recipients handed over whose answer
    never came (None: for an AmbiguousError every recipient not in `partial`, for the
    others none). The rest of the batch was never handed over."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        status: int | None = None,
        partial: Any = None,
        ambiguous: list[str] | None = None,
    ) -> None:
        self.status = status
        self.partial = partial
        self.ambiguous = ambiguous
        super().__init__(message, where=where)


class TransientError(TransportError):
    """Worth retrying later: nothing was accepted but what `partial` says. `retry_after`
    is the wait the provider asked for (a 429's reset time), in seconds, when it said."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        partial: Any = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, where=where, status=status, partial=partial)


class PermanentError(TransportError):
    """Retrying will not help: stop the send."""


class AmbiguousError(TransportError):
    """The batch was handed over but no answer came: it may have been accepted."""
