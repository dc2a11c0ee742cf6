"""The transport seam: hand over one batch, say what was accepted, or raise.

A transport raises TransientError (nothing accepted; worth retrying),
PermanentError (stop the send) or AmbiguousError (handed over, answer never came).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True)
class Accepted:
    """Addresses the transport accepted, each with the id it was accepted under."""

    message_ids: dict[str, str]


class Transport(Protocol):
    name: str
    batch_size: int

    def send(self, batch: Batch) -> Accepted:
        """Hand over every recipient of the batch, or raise a TransportError."""
        ...

    def destination(self, issue_id: str, test: bool = False) -> str:
        """Where accepted messages go, for the summary."""
        ...

    def close(self) -> None: ...
