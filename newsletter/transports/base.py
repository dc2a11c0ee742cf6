"""The transport seam: hand over one batch, say what was accepted, or raise.

A transport raises TransientError (nothing accepted; worth retrying),
PermanentError (stop the send) or AmbiguousError (handed over, answer never came).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """The transport's answer for a batch: each address either accepted, with the id it
    was accepted under, or refused, with the reason (an SMTP 550 for one recipient)."""

    message_ids: dict[str, str]
    refused: dict[str, str] = field(default_factory=dict)
    batch_id: str | None = None  # one id for the whole batch (SendGrid's X-Message-Id)


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
