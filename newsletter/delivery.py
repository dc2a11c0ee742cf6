"""The send loop: stream the list, batch recipients, hand each batch to a transport.

Rendering happened once before this; per recipient there is only substitution.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from newsletter.audience.lists import BadRow, Subscriber
from newsletter.clock import Clock, SystemClock
from newsletter.errors import AmbiguousError, TransientError, TransportError
from newsletter.ledger import Ledger
from newsletter.message import Envelope
from newsletter.personalise import Recipient, recipient_for
from newsletter.render import RenderedIssue
from newsletter.transports.base import Accepted, Batch, Transport
from newsletter.unsubscribe import Links


class Audience:
    """Turns subscribers of one list into recipients of one issue."""

    def __init__(self, list_name: str, unsubscribe_base: str, secret: bytes) -> None:
        self.list_name = list_name
        self.links = Links(unsubscribe_base, secret, list_name)

    def recipient(self, subscriber: Subscriber, issue: RenderedIssue) -> Recipient:
        url = self.links.url(subscriber.email)
        return recipient_for(
            subscriber.email, subscriber.name, subscriber.fields, issue.fields, url
        )


@dataclass
class BadRows:
    """Bad rows met while streaming a list: all counted, the first few kept to show
    (a list of millions must not keep millions of them in memory)."""

    KEEP = 100
    kept: list[BadRow] = field(default_factory=list)
    total: int = 0
    duplicates: int = 0
    suppressed: int = 0  # good rows whose address is suppressed (counted, not bad)

    def add(self, row: BadRow) -> None:
        self.total += 1
        self.duplicates += row.reason.startswith("duplicate")
        if len(self.kept) < self.KEEP:
            self.kept.append(row)


@dataclass
class SendReport:
    """How a send went. Counts only: which address got which message id is the
    transport's answer, recorded per batch, not kept here for the whole list."""

    issue_id: str
    list_name: str
    transport: str
    destination: str
    accepted: int = 0
    refused: int = 0
    refusals: list[tuple[str, str]] = field(default_factory=list)  # the first few, to show
    ambiguous: int = 0  # in a batch handed over whose answer never came
    batches: int = 0
    retries: int = 0
    resumed: bool = False  # the issue was frozen by an earlier run
    content_changed: bool = False  # its articles changed since: the frozen content went
    done_at: str | None = None  # set when the issue had been sent completely before
    done_count: int = 0
    recovered: int = 0  # rows a dead run left in flight, now ambiguous
    held: int = 0  # ambiguous rows of the issue after this run
    pending: int = 0
    skipped: int = 0  # suppressed
    message_ids: list[str] = field(default_factory=list)  # the provider's id for each batch
    bad_rows: BadRows = field(default_factory=BadRows)
    error: TransportError | None = None


Progress = Callable[[SendReport], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures are retried: exponential back-off with full jitter, or the
    wait the provider asked for; both bounded."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    longest_asked_wait: float = 120.0

    def wait(self, attempt: int, error: TransientError, jitter: float) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.attempts:
            return None
        if error.retry_after is not None:  # what the provider asked for, within reason
            return min(max(error.retry_after, 0.0), self.longest_asked_wait) + jitter * self.base
        delay = min(self.cap, self.base * 2 ** (attempt - 1))
        return delay / 2 + jitter * delay / 2  # "equal jitter": never a retry at once


def deliver(
    ledger: Ledger,
    issue: RenderedIssue,
    audience: Audience,
    envelope: Envelope,
    transport: Transport,
    report: SendReport,
    progress: Progress | None = None,
    clock: Clock | None = None,
    retry: RetryPolicy | None = None,
) -> SendReport:
    """Send the frozen issue to its pending recipients, a batch at a time.

    Each batch is moved to in_flight in a committed transaction before the transport
    sees it, and settled after: sent (with the provider's id), refused, or ambiguous
    when the answer never came (held, never resent by itself; the send goes on).
    Transient failures are retried (RetryPolicy); when retries run out, or on a
    permanent error, the send stops. A failure may come after part of the batch was
    answered (TransportError.partial): that part is recorded, the recipients handed
    over without an answer are held, and the rest goes back to pending.
    """
    clock = clock or SystemClock()
    retry = retry or RetryPolicy()
    size = transport.batch_size
    number = ledger.last_batch(issue.id) + 1
    subscribers = ledger.claim(issue.id, size, number, clock.now())
    while subscribers:
        try:
            recipients = tuple(audience.recipient(s, issue) for s in subscribers)
        except BaseException:  # never handed over: back to pending, not ambiguous
            ledger.release(issue.id, [s.email for s in subscribers], clock.now())
            raise
        emails = [r.email for r in recipients]
        try:
            accepted = send_with_retries(
                transport, Batch(issue, recipients, envelope, number=number), clock, retry, report
            )
        except TransportError as exc:
            # What was answered before the failure is recorded; what was handed over
            # without an answer is held as ambiguous; the rest was never handed over and
            # goes back to pending (before the next claim, so it is claimed again first).
            partial = exc.partial or Accepted({})
            held = held_by(exc, emails)
            answered = {*partial.message_ids, *partial.refused, *held}
            ledger.release(issue.id, [e for e in emails if e not in answered], clock.now())
            goes_on = isinstance(exc, AmbiguousError)
            claim = size if goes_on else 0
            subscribers = ledger.settle(issue.id, number, partial.message_ids, partial.refused,
                                        held, clock.now(), then_claim=claim)  # fmt: skip
            number += 1
            report.accepted += len(partial.message_ids)
            report.refused += len(partial.refused)
            report.ambiguous += len(held)
            room = BadRows.KEEP - len(report.refusals)
            report.refusals.extend(list(partial.refused.items())[: max(room, 0)])
            report.error = exc
            if not goes_on:  # permanent, or transient retries ran out: stop
                break
            if progress:
                progress(report)
            continue
        answered = set(accepted.message_ids) | set(accepted.refused)
        unanswered = [email for email in emails if email not in answered]
        subscribers = ledger.settle(issue.id, number, accepted.message_ids, accepted.refused,
                                    unanswered, clock.now(), accepted.batch_id, size)  # fmt: skip
        number += 1
        report.batches += 1
        report.accepted += len(accepted.message_ids)
        report.refused += len(accepted.refused)
        report.ambiguous += len(unanswered)
        if accepted.batch_id is not None:
            report.message_ids.append(accepted.batch_id)
        room = BadRows.KEEP - len(report.refusals)
        report.refusals.extend(list(accepted.refused.items())[: max(room, 0)])
        if progress:
            progress(report)
    ledger.finish_if_done(issue.id, clock.now())
    return report


def send_with_retries(
    transport: Transport,
    batch: Batch,
    clock: Clock,
    retry: RetryPolicy | None = None,
    report: SendReport | None = None,
) -> Accepted:
    """Hand one batch over, retrying transient failures as the policy says. When a
    transient failure says part of the batch was answered first (an SMTP connection
    dropped after some messages), only the rest is retried, and the attempts count
    again from one: each such retry has made progress, so they are bounded by the
    batch's size."""
    retry = retry or RetryPolicy()
    attempt = 1
    done = Accepted({})  # answered by earlier attempts
    while True:
        try:
            return joined(done, transport.send(batch))
        except TransientError as exc:
            if has_answers(exc.partial):
                done = joined(done, exc.partial)
                have = {*done.message_ids, *done.refused}
                rest = tuple(r for r in batch.recipients if r.email not in have)
                batch = replace(batch, recipients=rest)
                attempt = 1
            wait = retry.wait(attempt, exc, random.random())
            if wait is None:
                raise TransientError(
                    f"{exc.message} (gave up after {attempt} attempt{'s' * (attempt != 1)})",
                    where=exc.where,
                    status=exc.status,
                    partial=done if has_answers(done) else None,
                ) from None
            if report is not None:
                report.retries += 1
            clock.sleep(wait)
            attempt += 1
        except TransportError as exc:
            if has_answers(done):  # what earlier attempts had answered is part of it
                exc.partial = joined(done, exc.partial or Accepted({}))
            raise


def has_answers(accepted: Accepted | None) -> bool:
    return accepted is not None and bool(accepted.message_ids or accepted.refused)


def joined(first: Accepted, then: Accepted) -> Accepted:
    """Two answers for parts of one batch as one."""
    if not has_answers(first):
        return then
    return Accepted({**first.message_ids, **then.message_ids}, {**first.refused, **then.refused})


def held_by(exc: TransportError, emails: list[str]) -> list[str]:
    """The recipients of a failed batch to hold as ambiguous (see TransportError)."""
    if exc.ambiguous is not None:
        return list(exc.ambiguous)
    if not isinstance(exc, AmbiguousError):
        return []
    partial = exc.partial or Accepted({})
    return [e for e in emails if e not in partial.message_ids and e not in partial.refused]


def count(
    rows: Iterable[Subscriber | BadRow], suppressed: frozenset[str] = frozenset()
) -> tuple[list[Subscriber], int, BadRows]:
    """For --dry-run and the confirmation prompt: a few recipients, how many a send
    goes to (suppressed addresses left out, and counted in BadRows.suppressed), the
    bad rows."""
    bad = BadRows()
    first: list[Subscriber] = []
    total = 0
    for subscriber in good_rows(rows, bad):
        if subscriber.key in suppressed:
            bad.suppressed += 1
            continue
        total += 1
        if len(first) < 10:
            first.append(subscriber)
    return first, total, bad


def good_rows(rows: Iterable[Subscriber | BadRow], bad: BadRows) -> Iterator[Subscriber]:
    """The subscribers of a list; its bad rows are counted into `bad`."""
    for row in rows:
        if isinstance(row, BadRow):
            bad.add(row)
        else:
            yield row
