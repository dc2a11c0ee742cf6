"""Transient failures tried again, as the transport seam's one retry policy says
(transports/base.py RetryPolicy): the wait before the next attempt, the error when
they run out, and one batch retried in place (a test copy, which has no ledger)."""

from __future__ import annotations

import random

from newsletter.clock import Clock
from newsletter.errors import TransientError
from newsletter.transports.base import Batch, BatchResult, RetryPolicy, Transport


def gave_up(error: TransientError, attempts: int) -> TransientError:
    """The last transient error, saying that retries ran out."""
    plural = "s" * (attempts != 1)
    return TransientError(
        f"{error.message} (gave up after {attempts} attempt{plural})",
        status=error.status,
        where=error.where,
    )


def wait_or_give_up(
    result: BatchResult, attempt: int, retry: RetryPolicy
) -> tuple[float | None, BatchResult]:
    """For a batch answered with a transient error on attempt `attempt`: the seconds
    to wait before trying the rest again, or None with the answer now saying that
    retries ran out."""
    assert isinstance(result.error, TransientError)
    wait = retry.wait(attempt, result.error, random.random())
    if wait is None:
        return None, result.stopped(gave_up(result.error, attempt))
    return wait, result


def send_with_retries(
    transport: Transport, batch: Batch, clock: Clock, retry: RetryPolicy | None = None
) -> BatchResult:
    """The transport's answer for the whole batch. A transient failure is retried for
    the recipients it left unanswered (an SMTP connection dropped after some
    messages): only the rest goes again, and after such progress the attempts count
    from one again, so these retries are bounded by the batch's size."""
    retry = retry or RetryPolicy()
    attempt = 1
    done = BatchResult()  # what earlier attempts answered
    while True:
        result = done.then(transport.send(batch))
        if not isinstance(result.error, TransientError):
            return result
        if result.answered > done.answered:
            attempt = 1
        wait, result = wait_or_give_up(result, attempt, retry)
        if wait is None:
            return result
        clock.sleep(wait)
        attempt += 1
        decided = result.decided()
        batch = batch.but(tuple(r for r in batch.recipients if r.email not in decided))
        done = result.stopped(None)
