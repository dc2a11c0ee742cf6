"""The one place that reads the time and waits, so tests can fix both; and the one
way a time is shown to people: in the project's time zone."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a retry's back-off)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class FixedClock:
    """A clock that only moves when slept on; it records the waits."""

    at: datetime
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)


def show(moment: datetime | str, zone: str) -> str:
    """A moment (or an ISO 8601 stamp of one) as the editor reads it: local time in
    the project's zone, with its abbreviation, e.g. "2026-12-01 09:00 CET"."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except OverflowError:  # the last hours of the year 9999, ahead of UTC: shown in UTC
        local = moment.astimezone(UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
