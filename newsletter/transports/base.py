"""The transport seam: hand over one batch, answer in one shape.

A transport never raises for what happens to a batch: it returns a BatchResult that
says, per recipient, *accepted* (with the message id it was accepted under),
*refused* (with the server's words) or *ambiguous* (handed over, no answer came), and
the error that stopped it, if one did. A recipient of the batch in none of the three
was never handed over when a transient or permanent error stopped the batch; with no
error, or an ambiguous one that names nobody, it may have been, so it is held as
ambiguous (`BatchResult.settled`). The send loop has one path for every answer
(send/loop.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from newsletter.errors import AmbiguousError, PermanentError, TransientError, TransportError
from newsletter.message import Envelope
from newsletter.personalise import Recipient
from newsletter.render import RenderedIssue


@dataclass(frozen=True)
class Batch:
    issue: RenderedIssue
    recipients: tuple[Recipient, ...]
    envelope: Envelope
    number: int = 1
    test: bool = False

    def but(self, recipients: tuple[Recipient, ...]) -> Batch:
        """The same batch for other recipients (the rest of it, retried)."""
        return replace(self, recipients=recipients)


@dataclass(frozen=True)
class BatchResult:
    """A transport's answer for a batch.

    `error`: None when every recipient was answered; a TransientError when the rest
    may be retried; an AmbiguousError when answers were lost (`ambiguous` names whom)
    and the send can go on with other batches; a PermanentError when it must stop."""

    accepted: dict[str, str] = field(default_factory=dict)  # email -> message id
    refused: dict[str, str] = field(default_factory=dict)  # email -> the server's words
    ambiguous: tuple[str, ...] = ()
    error: TransportError | None = None
    batch_id: str | None = None  # one id for the whole batch (SendGrid's X-Message-Id)

    @property
    def answered(self) -> int:
        return len(self.accepted) + len(self.refused)

    def decided(self) -> set[str]:
        """The addresses this answer says something about."""
        return {*self.accepted, *self.refused, *self.ambiguous}

    def then(self, later: BatchResult) -> BatchResult:
        """This answer, then a later one for the rest of the same batch."""
        return BatchResult(
            {**self.accepted, **later.accepted},
            {**self.refused, **later.refused},
            (*self.ambiguous, *later.ambiguous),
            later.error,
            later.batch_id or self.batch_id,
        )

    def stopped(self, error: TransportError | None) -> BatchResult:
        return replace(self, error=error)

    def settled(self, handed: Iterable[str]) -> tuple[list[str], list[str]]:
        """Of the recipients `handed` to the transport: those to hold as ambiguous (the
        ones it names, and those it says nothing of when it may have handed them over)
        and those to make pending again (never handed over)."""
        decided = self.decided()
        rest = [email for email in handed if email not in decided]
        unnamed = isinstance(self.error, AmbiguousError) and not self.ambiguous
        if self.error is None or unnamed:
            return [*self.ambiguous, *rest], []
        return list(self.ambiguous), rest

    @property
    def goes_on(self) -> bool:
        """Whether the send takes the next batch: yes unless retries ran out or the
        error is permanent (answers lost for some is not a reason to stop)."""
        return self.error is None or isinstance(self.error, AmbiguousError)


def most_serious(errors: list[TransportError]) -> TransportError | None:
    """Of several connections' errors for one batch, the one that decides: permanent,
    then ambiguous, then transient."""
    for kind in (PermanentError, AmbiguousError, TransientError, TransportError):
        found = next((e for e in errors if isinstance(e, kind)), None)
        if found is not None:
            return found
    return None


class Transport(Protocol):
    name: str
    batch_size: int

    def send(self, batch: Batch) -> BatchResult:
        """Hand over the recipients of the batch; never raises a TransportError."""
        ...

    def destination(self, issue_id: str, test: bool = False) -> str:
        """Where accepted messages go, for the summary."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before trying a transient failure again: the provider's own
    ask (a 429's reset time) within reason, else exponential back-off with "equal
    jitter" (never a retry at once); a bounded number of attempts. The one policy for
    sends and for reading SendGrid's suppression lists."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    longest_asked_wait: float = 120.0

    def wait(self, attempt: int, error: TransientError, jitter: float) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.longest_asked_wait) + jitter * self.base
        delay = min(self.cap, self.base * 2 ** (attempt - 1))
        return delay / 2 + jitter * delay / 2
