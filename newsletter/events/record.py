"""PLACEHOLDER: the lead's record.py replaces this file at merge.

Only the contract the bounces branch codes against (issue 17): `record_events` and
its `Recorded`. Nothing here records anything; `newsletter bounces read` raises
NotImplementedError through it until the real module lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from newsletter.events.model import Event

if TYPE_CHECKING:
    from newsletter.project import Project


@dataclass(frozen=True)
class Recorded:
    """What one call recorded: kept (new events), repeated (the same Event.id already
    recorded), unknown (no recipient of that issue has that address, or the message
    id does not match), ignored (kinds not recorded), suppressed (suppressions added),
    settled (ambiguous recipients settled as accepted)."""

    kept: int = 0
    repeated: int = 0
    unknown: int = 0
    ignored: int = 0
    suppressed: int = 0
    settled: int = 0


def record_events(
    project: Project, events: Sequence[Event], now: datetime | None = None
) -> Recorded:
    """Placeholder: the lead's record.py replaces this at merge."""
    raise NotImplementedError("placeholder: the lead's record.py replaces this at merge")
