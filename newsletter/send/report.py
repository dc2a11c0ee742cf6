"""How a send went, as it goes: counts, the first few refusals and bad rows, the
provider's batch ids, the error that stopped it. Counts only: which address got
which message id is in the ledger, not kept here for the whole list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.audience.lists import BadRow
from newsletter.errors import TransportError
from newsletter.transports.base import BatchResult

KEEP = 100  # refusals and bad rows kept to show (a list of millions must not keep all)


@dataclass
class BadRows:
    """Bad rows met while streaming a list: all counted, the first few kept."""

    kept: list[BadRow] = field(default_factory=list)
    total: int = 0
    duplicates: int = 0
    suppressed: int = 0  # good rows whose address is suppressed (counted, not bad)

    def add(self, row: BadRow) -> None:
        self.total += 1
        self.duplicates += row.reason.startswith("duplicate")
        if len(self.kept) < KEEP:
            self.kept.append(row)


@dataclass
class SendReport:
    issue_id: str
    list_name: str
    transport: str
    destination: str
    accepted: int = 0
    refused: int = 0
    refusals: list[tuple[str, str]] = field(default_factory=list)  # the first few, to show
    ambiguous: int = 0  # in a batch handed over whose answer never came
    batches: int = 0  # requests answered (in full, or in part before a retry)
    retries: int = 0
    resumed: bool = False  # the issue was frozen by an earlier run
    was_queued: str | None = None  # queued (for this time): this send started it
    content_changed: bool = False  # its articles changed since: the frozen content went
    done_at: str | None = None  # set when the issue had been sent completely before
    done_count: int = 0
    recovered: int = 0  # rows a dead run left in flight, now ambiguous
    reopening: str = ""  # "retry" (--retry-ambiguous) or "mark" (--mark-ambiguous-sent)
    reopened: int = 0  # the ambiguous rows that made pending again, or counted as sent
    held: int = 0  # ambiguous rows of the issue after this run
    pending: int = 0
    skipped: int = 0  # suppressed, or cancelled
    message_ids: list[str] = field(default_factory=list)  # the provider's id for each batch
    bad_rows: BadRows = field(default_factory=BadRows)
    error: TransportError | None = None
    audience: str | None = None  # who it went to, when not its list alone (as shown)

    @property
    def whom(self) -> str:
        """`list news`, or the audience spelled out."""
        return self.audience or f"list {self.list_name}"

    def add(self, result: BatchResult, handed: list[str], retrying: bool = False) -> None:
        """Count one batch's answer for the recipients `handed` to the transport;
        `retrying`: its error is transient and the rest goes again after a wait."""
        self.accepted += len(result.accepted)
        self.refused += len(result.refused)
        self.ambiguous += len(result.settled(handed)[0])
        room = KEEP - len(self.refusals)
        if room > 0:
            self.refusals.extend(list(result.refused.items())[:room])
        if retrying:
            self.retries += 1
            self.batches += result.answered > 0
        elif result.error is None:
            self.batches += 1
        else:
            self.error = result.error
        if result.batch_id is not None:
            self.message_ids.append(result.batch_id)


OnBatch = Callable[[SendReport], None]  # called after each batch (a progress bar)
