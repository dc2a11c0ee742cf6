"""The ledger: every recipient of every issue, from the freeze to their answer, each
move in a short transaction of its own and compare-and-set (a batch goes in flight
only from pending, committed before the transport sees it).

    pending -> in_flight -> sent | refused | ambiguous;  skipped (suppressed, cancelled)

Recipients found in flight when a send starts belong to a run that died with the
batch handed over: they become ambiguous, and nothing resends them unless the editor
asks. How each state is kept (a row per batch, rows only for the exceptions) is in
recipients.py and outcomes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsletter.personalise import Addressee
from newsletter.render import RenderedIssue
from newsletter.state import outcomes
from newsletter.state.engine import Engine
from newsletter.state.issues import Issues
from newsletter.state.recipients import STATES, Claim, Recipients, RecipientState
from newsletter.state.schedule import start_queued
from newsletter.transports.base import BatchResult

UNREPORTED = "the transport said nothing of it"


def nobody_else(owner: str | None) -> bool:
    """No other run is alive: the caller holds the issue alone (its send lock)."""
    return False


@dataclass(frozen=True)
class Claimant:
    """A run that claims batches: its name (kept with each claim), and how it tells
    whether another run named in a claim is alive. By default: alone, every other
    run gone (the issue's send lock is its own)."""

    name: str = ""
    others_alive: Callable[[str | None], bool] = nobody_else

    def alive(self, owner: str | None) -> bool:
        return owner == self.name or self.others_alive(owner)


CANCELLED = "cancelled by the editor"  # the reason of a recipient a stopped send skipped


class Ledger:
    def __init__(self, engine: Engine, issues: Issues) -> None:
        self.engine = engine
        self.issues = issues

    def _of(self, issue_id: str) -> Recipients | None:
        key = self.issues.key(issue_id)
        return Recipients(self.engine, *key) if key else None

    def freeze(
        self,
        rendered: RenderedIssue,
        list_name: str,
        transport: str,
        articles: list[str],
        content_hash: str,
        subscribers: Iterable[Addressee],
        now: datetime,
        audience: dict[str, Any] | None = None,
    ) -> int:
        """Record the issue's content and every recipient, in one transaction that also
        starts the issue's entry in the schedule, if it is queued. An issue with no
        recipient at all is not recorded (returns 0). `audience`: who it goes to, when
        not `list_name` alone (kept with the issue, as JSON)."""
        try:
            with self.engine.transaction():
                key = self.issues.add(rendered, list_name, transport, articles, content_hash, now,
                                      audience)  # fmt: skip
                start_queued(self.engine, rendered.id, list_name, now)
                total = Recipients(self.engine, key, 1, 0).freeze(subscribers, now.isoformat())
                if total == 0:
                    raise _Empty
                return total
        except _Empty:  # raised inside the transaction, so it rolled back
            return 0

    def claim(
        self, issue_id: str, size: int, batch: int | None, now: datetime, owner: str = ""
    ) -> Claim:
        """Move the next `size` pending recipients (in list order) to in_flight as batch
        `batch` (None: the issue's next number), committed before they are sent, as
        `owner`'s claim. A suppression recorded since the freeze wins here: such
        recipients become skipped instead."""
        with self.engine.transaction():
            r = self._of(issue_id)
            return r.claim(size, batch, now.isoformat(), owner) if r else Claim()

    def settle(
        self,
        issue_id: str,
        batch: int,
        handed: Iterable[str],
        result: BatchResult,
        now: datetime,
        then_claim: int = 0,
        owner: str = "",
    ) -> Claim:
        """Record the transport's answer for the recipients `handed` to it as batch
        `batch`, in one transaction: accepted and refused as it says, ambiguous and
        never handed over (pending again) as `BatchResult.settled` reads it. With
        `then_claim`, the next batch of that size (the issue's next number) is claimed
        in the same transaction (one commit a batch instead of two)."""
        stamp = now.isoformat()
        ambiguous, rest = result.settled(handed)
        with self.engine.transaction():
            r = self._of(issue_id)
            if r is None:
                return Claim()
            outcomes.release(r, rest, stamp)
            outcomes.settle(r, batch, result.accepted, result.refused, ambiguous, stamp,
                            result.batch_id)  # fmt: skip
            return r.claim(then_claim, None, stamp, owner) if then_claim else Claim()

    def release(self, issue_id: str, emails: Iterable[str], now: datetime) -> None:
        """Recipients claimed but never handed over (making their copies failed):
        pending again, to be sent by a later run."""
        with self.engine.transaction():
            r = self._of(issue_id)
            if r:
                outcomes.release(r, emails, now.isoformat())

    def recover(
        self, issue_id: str, now: datetime, alive: Callable[[str | None], bool] = nobody_else
    ) -> int:
        """Recipients left in flight by a run that died (whose claimant `alive` says
        is gone; by default every run but the caller is): ambiguous, never resent by
        themselves. Returns how many."""
        with self.engine.transaction():
            r = self._of(issue_id)
            return outcomes.recover(r, now.isoformat(), alive) if r else 0

    def reopen_ambiguous(self, issue_id: str, now: datetime, as_sent: bool) -> int:
        """The editor's call on ambiguous recipients: send them again, or count them as
        sent. Returns how many."""
        with self.engine.transaction():
            r = self._of(issue_id)
            return outcomes.reopen(r, now.isoformat(), as_sent) if r else 0

    def cancel(self, issue_id: str, reason: str, now: datetime) -> int:
        """Stop an issue's send: every recipient still waiting is skipped with
        `reason` (those in flight or ambiguous stay as they are). Returns how many."""
        with self.engine.transaction():
            r = self._of(issue_id)
            return outcomes.skip_waiting(r, reason, now.isoformat()) if r else 0

    def finish_if_done(self, issue_id: str, now: datetime) -> bool:
        """An issue is done when nothing is pending, in flight or ambiguous."""
        with self.engine.transaction():
            r = self._of(issue_id)
            found = r.counts() if r else {}
            if any(found.get(state) for state in ("pending", "in_flight", "ambiguous")):
                return False
            return self.issues.finish(issue_id, now)

    def cancelled(self, issue_id: str) -> int:
        """How many recipients `cancel` skipped with CANCELLED (the editor stopped it)."""
        r = self._of(issue_id)
        if r is None:
            return 0
        found = self.engine.value(
            "SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'skipped' AND reason = ?",
            (r.issue, CANCELLED),
        )
        return int(found or 0)

    def last_batch(self, issue_id: str) -> int:
        r = self._of(issue_id)
        return r.last_batch() if r else 0

    def counts(self, issue_id: str) -> dict[str, int]:
        r = self._of(issue_id)
        return r.counts() if r else dict.fromkeys(STATES, 0)

    def sent_keys(self, issue_id: str) -> Iterator[str] | None:
        """The addresses (lower case) of the recipients of `issue_id` whose copy was
        accepted, streamed; None when the ledger has no such issue."""
        r = self._of(issue_id)
        return r.sent_keys() if r else None

    def recipients(self, issue_id: str) -> Iterator[RecipientState]:
        """Every recipient's (email, state, message id, reason), in list order."""
        r = self._of(issue_id)
        if r:
            yield from r.states()


class _Empty(Exception):
    """Rolls back the freeze of an issue with no recipient."""
