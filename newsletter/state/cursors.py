"""Sync cursors: how far each of a provider's lists was pulled (e.g. SendGrid's
bounces), moved in the same transaction as the suppressions it brought."""

from __future__ import annotations

from datetime import datetime

from newsletter.state.engine import Engine


class Cursors:
    """The sync_cursors table: a source -> the Unix time it was pulled up to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, source: str) -> int | None:
        value = self.engine.value(
            "SELECT synced_until FROM sync_cursors WHERE source = ?", (source,)
        )
        return None if value is None else int(value)

    def move(self, source: str, until: int, now: datetime) -> None:
        """In the caller's transaction."""
        self.engine.execute(
            "INSERT INTO sync_cursors (source, synced_until, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET synced_until = excluded.synced_until, "
            "updated_at = excluded.updated_at",
            (source, until, now.isoformat()),
        )
