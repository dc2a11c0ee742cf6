"""Cron's back-off: what failed lately (an issue's send, the SendGrid sync), and when
cron may try it again: after 1, 2, 4 ... minutes, at most an hour apart, so a failure
that lasts (a revoked key) is reported now and then, not every minute. A success
clears it."""

from __future__ import annotations

from datetime import datetime, timedelta

from newsletter.state.engine import Engine
from newsletter.state.schedule import stamp


class Backoff:
    """The cron_backoff table; a key is an issue id, or e.g. "sync:sendgrid"."""

    FIRST = 60.0
    LONGEST = 3600.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def waiting(self, now: datetime) -> set[str]:
        """The keys not to try yet."""
        rows = self.engine.all("SELECT issue_id FROM cron_backoff WHERE retry_at > ?",
                               (stamp(now),))  # fmt: skip
        return {row[0] for row in rows}

    def failed(self, key: str, now: datetime) -> datetime:
        """Count a failure; returns when cron may try again."""
        failures = 1 + int(
            self.engine.value("SELECT failures FROM cron_backoff WHERE issue_id = ?", (key,)) or 0
        )
        retry_at = now + timedelta(seconds=min(self.FIRST * 2 ** (failures - 1), self.LONGEST))
        self.engine.execute(
            "INSERT INTO cron_backoff (issue_id, failures, retry_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (issue_id) DO UPDATE SET "
            "failures = excluded.failures, retry_at = excluded.retry_at, "
            "updated_at = excluded.updated_at",
            (key, failures, stamp(retry_at), now.isoformat()),
        )
        return retry_at

    def succeeded(self, key: str) -> None:
        self.engine.execute("DELETE FROM cron_backoff WHERE issue_id = ?", (key,))
