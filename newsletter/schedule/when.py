"""Times the editor writes (`schedule --at`): ISO 8601, read in the project's time
zone when they carry no offset. Pure: the current time is passed in."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from newsletter.clock import show
from newsletter.errors import UsageError

DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
EXAMPLE = "2026-12-01T09:00, or with an offset 2026-12-01T09:00+01:00"
FURTHEST_YEARS = 10  # an issue queued further ahead is a typo


def parse_when(text: str, zone: str, now: datetime, allow_past: bool = False) -> datetime:
    """The moment `text` names, in UTC. A local time that does not exist (the clocks
    skip it) or exists twice (they go back) is refused: only an offset says which."""
    text = text.strip()
    if DATE_ONLY.fullmatch(text):
        raise UsageError(f"--at {text!r}: give a time of day too, e.g. {text}T09:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r}: not an ISO 8601 time; write e.g. {EXAMPLE}") from None
    try:
        if value.tzinfo is None:
            value = _localise(value, zone, text)
        value = value.astimezone(UTC)
    except OverflowError:  # e.g. the year 1 with a positive offset
        raise UsageError(f"--at {text!r}: out of the range of dates") from None
    if value > _years_after(now, FURTHEST_YEARS):
        raise UsageError(
            f"--at {text!r}: that is more than {FURTHEST_YEARS} years from now; "
            f"is the year right? Write e.g. {EXAMPLE}"
        )
    if value < now and not allow_past:
        raise UsageError(
            f"--at {text!r}: that is in the past (now it is {show(now, zone)}); "
            "add --now to send it at the next cron run"
        )
    return value


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _localise(value: datetime, zone: str, text: str) -> datetime:
    tz = ZoneInfo(zone)
    first, second = value.replace(tzinfo=tz, fold=0), value.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != value:
        options = "; ".join(
            f"{_with_offset(value, z)} is {show(z.astimezone(UTC), zone)}" for z in (first, second)
        )
        raise UsageError(
            f"--at {text!r}: that time does not exist in {zone} (the clocks skip it "
            f"that night); give an offset: {options}"
        )
    raise UsageError(
        f"--at {text!r}: that time happens twice in {zone} (the clocks go back that "
        f"night); give its offset: {_with_offset(value, first)} for the first, "
        f"{_with_offset(value, second)} for the second"
    )


def _with_offset(value: datetime, zoned: datetime) -> str:
    offset = zoned.strftime("%z")
    return f"{value.isoformat(timespec='minutes')}{offset[:3]}:{offset[3:]}"
