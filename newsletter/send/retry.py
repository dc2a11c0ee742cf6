"""One batch handed over, retried while its failure is transient, as the transport
seam's one retry policy says (transports/base.py RetryPolicy)."""

from __future__ import annotations

import random

from newsletter.clock import Clock
from newsletter.errors import TransientError
from newsletter.send.report import SendReport
from newsletter.transports.base import Batch, BatchResult, RetryPolicy, Transport


def send_with_retries(
    transport: Transport,
    batch: Batch,
    clock: Clock,
    retry: RetryPolicy | None = None,
    report: SendReport | None = None,
) -> BatchResult:
    """The transport's answer for the whole batch. A transient failure is retried for
    the recipients it left unanswered (an SMTP connection dropped after some
    messages): only the rest goes again, and after such progress the attempts count
    from one again, so these retries are bounded by the batch's size. When they run
    out, the answer carries the last error, saying so."""
    retry = retry or RetryPolicy()
    attempt = 1
    done = BatchResult()  # what earlier attempts answered
    while True:
        result = done.then(transport.send(batch))
        error = result.error
        if not isinstance(error, TransientError):
            return result
        if result.answered > done.answered:
            attempt = 1
        wait = retry.wait(attempt, error, random.random())
        if wait is None:
            gave_up = TransientError(
                f"{error.message} (gave up after {attempt} attempt{'s' * (attempt != 1)})",
                status=error.status,
                where=error.where,
            )
            return result.stopped(gave_up)
        if report is not None:
            report.retries += 1
        clock.sleep(wait)
        attempt += 1
        decided = result.decided()
        batch = batch.but(tuple(r for r in batch.recipients if r.email not in decided))
        done = result.stopped(None)
