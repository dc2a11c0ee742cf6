"""The schedule: issues queued to be sent at a time, in the ledger's database.

An entry is queued until `cron` starts its send (started), the editor cancels it
(cancelled), or it cannot be sent as queued (failed, with the reason). At most one
entry per issue is queued at a time (a partial unique index says so).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsletter.errors import UsageError
from newsletter.ledger import Ledger
from newsletter.when import from_stamp, stamp


@dataclass(frozen=True)
class Entry:
    n: int
    issue_id: str
    list_name: str
    articles: list[str]
    transport: str | None
    send_at: datetime
    given: str
    state: str
    reason: str | None
    force: bool = False  # send even if `check` finds errors then

    def data(self) -> dict[str, object]:
        return {
            "issue": self.issue_id, "list": self.list_name, "articles": self.articles,
            "transport": self.transport, "send_at": stamp(self.send_at), "given": self.given,
            "state": self.state, "reason": self.reason,
        }  # fmt: skip


COLUMNS = "n, issue_id, list, articles, transport, send_at, given, state, reason, force"


def _entry(row: tuple) -> Entry:
    n, issue_id, list_name, articles, transport, send_at, given, state, reason, force = row
    return Entry(n, issue_id, list_name, json.loads(articles), transport, from_stamp(send_at),
                 given, state, reason, bool(force))  # fmt: skip


class Queue:
    """The schedule table, through the ledger's connection."""

    def __init__(self, ledger: Ledger) -> None:
        self.db = ledger.db

    def add(
        self,
        issue_id: str,
        list_name: str,
        articles: list[str],
        transport: str | None,
        send_at: datetime,
        given: str,
        now: datetime,
        force: bool = False,
    ) -> Entry:
        try:
            cursor = self.db.execute(
                f"INSERT INTO schedule ({COLUMNS}, created_at, updated_at) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?, 'queued', NULL, ?, ?, ?)",
                (issue_id, list_name, json.dumps(articles), transport, stamp(send_at), given,
                 int(force), now.isoformat(), now.isoformat()),
            )  # fmt: skip
        except sqlite3.IntegrityError:
            queued = self.queued(issue_id)
            when = f" for {queued[0].given}" if queued else ""
            raise UsageError(
                f"issue {issue_id} is already queued{when}; cancel it first "
                f"(newsletter schedule --cancel {issue_id}) or give another --id"
            ) from None
        found = self.get(cursor.lastrowid or 0)
        assert found is not None
        return found

    def get(self, n: int) -> Entry | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM schedule WHERE n = ?", (n,)).fetchone()
        return _entry(row) if row else None

    def queued(self, issue_id: str | None = None) -> list[Entry]:
        """Queued entries, soonest first (of one issue, or all)."""
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM schedule WHERE state = 'queued' "
            "AND (? IS NULL OR issue_id = ?) ORDER BY send_at, n",
            (issue_id, issue_id),
        ).fetchall()
        return [_entry(row) for row in rows]

    def due(self, now: datetime) -> list[Entry]:
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM schedule INDEXED BY schedule_due "
            "WHERE state = 'queued' AND send_at <= ? ORDER BY send_at, n",
            (stamp(now),),
        ).fetchall()
        return [_entry(row) for row in rows]

    def mark(self, n: int, state: str, now: datetime, reason: str | None = None) -> bool:
        """Move a queued entry on (compare-and-set: only from queued)."""
        return (
            self.db.execute(
                "UPDATE schedule SET state = ?, reason = ?, updated_at = ? "
                "WHERE n = ? AND state = 'queued'",
                (state, reason, now.isoformat(), n),
            ).rowcount
            == 1
        )

    def note(self, n: int, reason: str, now: datetime) -> None:
        """Why a due entry could not be sent yet; it stays queued."""
        self.db.execute(
            "UPDATE schedule SET reason = ?, updated_at = ? WHERE n = ? AND state = 'queued'",
            (reason, now.isoformat(), n),
        )


class Backoff:
    """Issues whose cron send failed, and when cron may try each again: after 1, 2, 4
    ... minutes, at most an hour apart, so a failure that lasts (a revoked key) is
    reported now and then, not every minute. A success clears it."""

    FIRST = 60.0
    LONGEST = 3600.0

    def __init__(self, ledger: Ledger) -> None:
        self.db = ledger.db

    def waiting(self, now: datetime) -> set[str]:
        """The issues not to try yet."""
        rows = self.db.execute("SELECT issue_id FROM cron_backoff WHERE retry_at > ?",
                               (stamp(now),))  # fmt: skip
        return {row[0] for row in rows}

    def failed(self, issue_id: str, now: datetime) -> datetime:
        """Count a failure; returns when cron may try again."""
        row = self.db.execute(
            "SELECT failures FROM cron_backoff WHERE issue_id = ?", (issue_id,)
        ).fetchone()
        failures = (row[0] if row else 0) + 1
        retry_at = now + timedelta(seconds=min(self.FIRST * 2 ** (failures - 1), self.LONGEST))
        self.db.execute(
            "INSERT OR REPLACE INTO cron_backoff VALUES (?, ?, ?, ?)",
            (issue_id, failures, stamp(retry_at), now.isoformat()),
        )
        return retry_at

    def succeeded(self, issue_id: str) -> None:
        self.db.execute("DELETE FROM cron_backoff WHERE issue_id = ?", (issue_id,))
