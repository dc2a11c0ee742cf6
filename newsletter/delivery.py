"""The send loop: stream the list, batch recipients, hand each batch to a transport.

Rendering happened once before this; per recipient there is only substitution.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

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
    permanent error, the batch goes back to pending and the send stops.

    While a batch is with the transport (a worker thread: waiting on the network
    leaves this one free), the next one is prepared from a peek at the ledger; it is
    claimed in the same commit that settles the current one, and used as prepared
    when the claim took the same recipients. So the provider's time and ours overlap,
    one commit a batch, and never more than one batch in flight.
    """
    clock = clock or SystemClock()
    retry = retry or RetryPolicy()
    batches = _Batches(ledger, issue, audience, transport.batch_size, clock)
    current = batches.claim(ledger.last_batch(issue.id) + 1)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="transport") as worker:
        while current:
            number, recipients, request = current
            if request is None:
                request = prepare(transport, Batch(issue, recipients, envelope, number=number))
            handed = worker.submit(send_with_retries, transport, request, clock, retry, report)
            prepared = batches.peek(number + 1, envelope, transport)
            try:
                accepted = handed.result()
            except AmbiguousError as exc:
                _settle_partial(ledger, issue.id, number, exc, report, clock)
                held = [r.email for r in recipients if r.email not in _answered(exc)]
                following = ledger.settle(issue.id, number, {}, {}, held, clock.now(),
                                          then_claim=batches.size)  # fmt: skip
                report.ambiguous += len(held)
                report.error = exc
            except TransportError as exc:
                _settle_partial(ledger, issue.id, number, exc, report, clock)
                ledger.release(issue.id, [r.email for r in recipients], clock.now())
                report.error = exc
                break
            else:
                following = _settle(ledger, issue.id, number, recipients, accepted, report,
                                    batches.size, clock)  # fmt: skip
                if progress:
                    progress(report)
            current = batches.made(number + 1, following, prepared)
    ledger.finish_if_done(issue.id, clock.now())
    return report


class _Batches:
    """Claims batches, and makes their recipients (from a claim, or ahead of it from
    a peek). A claimed batch whose recipients cannot be made goes back to pending:
    it was never handed over."""

    def __init__(
        self, ledger: Ledger, issue: RenderedIssue, audience: Audience, size: int, clock: Clock
    ) -> None:
        self.ledger, self.issue, self.audience, self.size, self.clock = (
            ledger, issue, audience, size, clock,
        )  # fmt: skip

    def claim(self, number: int) -> _Made | None:
        subscribers = self.ledger.claim(self.issue.id, self.size, number, self.clock.now())
        return self.made(number, subscribers, None)

    def peek(self, number: int, envelope: Envelope, transport: Transport) -> _Made | None:
        """The next batch made ahead, its request too; None when that fails (it is
        made, or fails, again once claimed, where a failure is handled)."""
        try:
            subscribers = self.ledger.peek(self.issue.id, self.size, number, self.clock.now())
            recipients = tuple(self.audience.recipient(s, self.issue) for s in subscribers)
            request = prepare(transport, Batch(self.issue, recipients, envelope, number=number))
            return number, recipients, request
        except Exception:
            return None

    def made(self, number: int, claimed: list[Subscriber], prepared: _Made | None) -> _Made | None:
        """The claimed batch: as prepared if the claim took the same people (it may
        not: a suppression since the peek), else its recipients made now."""
        if not claimed:
            return None
        if prepared is not None and [r.email for r in prepared[1]] == [s.email for s in claimed]:
            return prepared
        try:
            return number, tuple(self.audience.recipient(s, self.issue) for s in claimed), None
        except BaseException:
            self.ledger.release(self.issue.id, [s.email for s in claimed], self.clock.now())
            raise


_Made = tuple[int, tuple[Recipient, ...], object | None]  # number, recipients, request


def _answered(exc: TransportError) -> set[str]:
    partial = exc.partial
    return set(partial.message_ids) | set(partial.refused) if partial else set()


def _settle_partial(
    ledger: Ledger, issue_id: str, number: int, exc: TransportError, report: SendReport,
    clock: Clock,
) -> None:  # fmt: skip
    """What the transport took before it failed is recorded as such."""
    if exc.partial is not None:
        partial = exc.partial
        ledger.settle(issue_id, number, partial.message_ids, partial.refused, [], clock.now())
        report.accepted += len(partial.message_ids)
        report.refused += len(partial.refused)


def _settle(
    ledger: Ledger,
    issue_id: str,
    number: int,
    recipients: tuple[Recipient, ...],
    accepted: Accepted,
    report: SendReport,
    then_claim: int,
    clock: Clock,
) -> list[Subscriber]:
    """Record an answered batch and claim the next one, in one commit."""
    answered = set(accepted.message_ids) | set(accepted.refused)
    unanswered = [r.email for r in recipients if r.email not in answered]
    following = ledger.settle(issue_id, number, accepted.message_ids, accepted.refused,
                              unanswered, clock.now(), accepted.batch_id, then_claim)  # fmt: skip
    report.batches += 1
    report.accepted += len(accepted.message_ids)
    report.refused += len(accepted.refused)
    report.ambiguous += len(unanswered)
    if accepted.batch_id is not None:
        report.message_ids.append(accepted.batch_id)
    room = BadRows.KEEP - len(report.refusals)
    report.refusals.extend(list(accepted.refused.items())[: max(room, 0)])
    return following


def prepare(transport: Transport, batch: Batch) -> object:
    """What `send_with_retries` hands over: the transport's prepared request when it
    makes one ahead (see Preparing), else the batch itself."""
    making = getattr(transport, "prepare", None)
    return making(batch) if making is not None else batch


def send_with_retries(
    transport: Transport,
    batch: object,
    clock: Clock,
    retry: RetryPolicy | None = None,
    report: SendReport | None = None,
) -> Accepted:
    """Hand one batch (or its prepared request, see `prepare`) over, retrying
    transient failures as the policy says."""
    retry = retry or RetryPolicy()
    hand_over = transport.send if isinstance(batch, Batch) else transport.post  # type: ignore[attr-defined]
    attempt = 1
    while True:
        try:
            return hand_over(batch)
        except TransientError as exc:
            wait = retry.wait(attempt, exc, random.random())
            if wait is None:
                raise TransientError(
                    f"{exc.message} (gave up after {attempt} attempt{'s' * (attempt != 1)})",
                    where=exc.where,
                    status=exc.status,
                ) from None
            if report is not None:
                report.retries += 1
            clock.sleep(wait)
            attempt += 1


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
