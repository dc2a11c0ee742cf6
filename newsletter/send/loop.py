"""The send loop: the frozen issue to its waiting recipients, a batch at a time.

Rendering happened once before this; per recipient there is only substitution. Each
batch is claimed (in flight, committed) before the transport sees it, and its answer
settled after, always the same way: accepted, refused and ambiguous as the transport
says, the rest pending again. The next batch is claimed in the same commit, except
after a transient failure: then the answer is settled, the send waits in back-off
with nobody in flight (a send killed while it waits resends them; none is held as
ambiguous), and claims again.
"""

from __future__ import annotations

from newsletter.clock import Clock
from newsletter.errors import TransientError
from newsletter.message import Envelope
from newsletter.personalise import Personaliser
from newsletter.send.report import OnBatch, SendReport
from newsletter.send.retry import wait_or_give_up
from newsletter.state.ledger import Claimant, Ledger
from newsletter.transports.base import Batch, RetryPolicy, Transport


def deliver(
    ledger: Ledger,
    personaliser: Personaliser,
    envelope: Envelope,
    transport: Transport,
    report: SendReport,
    clock: Clock,
    on_batch: OnBatch | None = None,
    retry: RetryPolicy | None = None,
    claimant: Claimant | None = None,
) -> SendReport:
    """Send to every recipient waiting. Transient failures are retried; when retries
    run out, or on a permanent error, the send stops (what was not handed over waits
    for the next run); answers lost for some (ambiguous) hold them, and the send goes
    on. The attempts count from one again after any progress, so a connection that
    drops now and then does not use up the retries of a long send. Other runs may
    send the same issue at once (the state shared by several hosts): each batch is
    claimed under its own number, as `claimant`'s, and what a run that died left in
    flight is held as ambiguous at the end."""
    retry = retry or RetryPolicy()
    claimant = claimant or Claimant()
    issue = personaliser.issue
    size = transport.batch_size
    claimed = ledger.claim(issue.id, size, None, clock.now(), claimant.name)
    attempt = 1
    while claimed:
        try:
            recipients = tuple(personaliser.recipient(c, c.seq) for c in claimed)
        except BaseException:  # never handed over: back to pending, not ambiguous
            ledger.release(issue.id, [c.email for c in claimed], clock.now())
            raise
        number = claimed.number
        result = transport.send(Batch(issue, recipients, envelope, number=number))
        handed = [r.email for r in recipients]
        wait = None
        if isinstance(result.error, TransientError) and result.settled(handed)[1]:
            attempt = 1 if result.answered else attempt  # progress: the count starts again
            wait, result = wait_or_give_up(result, attempt, retry)
        elif isinstance(result.error, TransientError):  # it left nobody to try again
            result = result.stopped(None)
        report.add(result, handed, retrying=wait is not None)
        next_size = size if result.goes_on and wait is None else 0
        claimed = ledger.settle(issue.id, number, handed, result, clock.now(), next_size,
                                claimant.name)  # fmt: skip
        if on_batch and (result.goes_on or wait is not None):
            on_batch(report)
        if wait is not None:
            clock.sleep(wait)  # nobody in flight while it waits
            attempt += 1
            claimed = ledger.claim(issue.id, size, None, clock.now(), claimant.name)
            continue
        attempt = 1
        if not result.goes_on:
            break
    report.recovered += ledger.recover(issue.id, clock.now(), claimant.alive)  # runs gone
    ledger.finish_if_done(issue.id, clock.now())
    return report
