"""The delivery ledger: SQLite state in .newsletter/state.db.

One row per issue (its frozen content and recipients' list) and one per recipient:
pending -> in_flight (committed before the transport is called) -> sent | failed |
refused; skipped rows (suppressed) never leave. A row found in_flight when a send
starts belongs to a run that died with the batch handed over: it becomes ambiguous,
and nothing resends it unless the editor asks.

The schema is versioned by named migrations recorded in the same transaction as the
change, so a later release opens an older project without loss; a newer one is
refused with a clear error.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from newsletter.audience.lists import Subscriber
from newsletter.errors import StateError
from newsletter.render import RenderedIssue, dump_rendered, load_rendered

STATES = ("pending", "in_flight", "sent", "failed", "refused", "skipped", "ambiguous")

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_issues_deliveries_suppressions",
        """
        CREATE TABLE issues (
            id TEXT PRIMARY KEY,
            list TEXT NOT NULL,
            transport TEXT NOT NULL,
            articles TEXT NOT NULL,          -- JSON: the article paths
            content TEXT NOT NULL,           -- JSON: the frozen rendered issue
            content_hash TEXT NOT NULL,      -- of the articles when the send started
            state TEXT NOT NULL CHECK (state IN ('sending', 'done')),
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE deliveries (
            issue_id TEXT NOT NULL REFERENCES issues(id),
            email_key TEXT NOT NULL,
            seq INTEGER NOT NULL,            -- the list's order
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,            -- JSON: the subscriber's row when frozen
            state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'sent', 'failed',
                                                 'refused', 'skipped', 'ambiguous')),
            batch INTEGER,
            message_id TEXT,
            reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (issue_id, seq),     -- a batch's rows sit together on disk
            UNIQUE (issue_id, email_key)     -- an address once per issue
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_state ON deliveries (issue_id, state, seq);
        CREATE TABLE suppressions (
            email_key TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0002_schedule",
        """
        CREATE TABLE schedule (
            n INTEGER PRIMARY KEY,
            issue_id TEXT NOT NULL,
            list TEXT NOT NULL,
            articles TEXT NOT NULL,          -- JSON: the article paths, as given
            transport TEXT,                  -- NULL: the project's [transport] kind then
            send_at TEXT NOT NULL,           -- UTC, 'YYYY-MM-DDTHH:MM:SSZ' (sorts as text)
            given TEXT NOT NULL,             -- the time as the editor meant it, with offset
            state TEXT NOT NULL CHECK (state IN ('queued', 'started', 'cancelled', 'failed')),
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX schedule_queued ON schedule (issue_id) WHERE state = 'queued';
        CREATE INDEX schedule_due ON schedule (state, send_at);
        """,
    ),
]


@dataclass(frozen=True)
class IssueRecord:
    id: str
    list_name: str
    transport: str
    content_hash: str
    state: str
    created_at: str
    finished_at: str | None
    content: str

    def rendered(self) -> RenderedIssue:
        return load_rendered(self.content)


class Ledger:
    """The project's state database. Short transactions; WAL; compare-and-set moves."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"the state database is unusable: {exc}", where=str(path)) from None

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in db.execute("SELECT name FROM migrations")}
        known = {name for name, _ in MIGRATIONS}
        if done - known:
            newer = ", ".join(sorted(done - known))
            raise StateError(
                f"made by a newer version of newsletter (migrations {newer}); upgrade it",
                where=str(self.path),
            )
        for name, script in MIGRATIONS:
            if name in done:
                continue
            with self._transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))

    def _transaction(self) -> Any:
        return _Transaction(self.db)

    # --- issues ---

    def issue(self, issue_id: str) -> IssueRecord | None:
        row = self.db.execute(
            "SELECT id, list, transport, content_hash, state, created_at, finished_at, content "
            "FROM issues WHERE id = ?",
            (issue_id,),
        ).fetchone()
        return IssueRecord(*row) if row else None

    def freeze(
        self,
        rendered: RenderedIssue,
        list_name: str,
        transport: str,
        articles: list[str],
        content_hash: str,
        subscribers: Iterable[Subscriber],
        now: datetime,
    ) -> int:
        """Record the issue's content and every recipient, in one transaction. An issue
        with no recipient at all is not recorded (returns 0)."""
        stamp = now.isoformat()
        try:
            with self._transaction():
                self.db.execute(
                    "INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, NULL)",
                    (rendered.id, list_name, transport, json.dumps(articles),
                     dump_rendered(rendered), content_hash, stamp),
                )  # fmt: skip
                rows = (
                    (rendered.id, s.key, n, s.email, s.name, json.dumps(s.fields), stamp)
                    for n, s in enumerate(subscribers)
                )
                self.db.executemany(
                    "INSERT OR IGNORE INTO deliveries (issue_id, email_key, seq, email, name, "
                    "fields, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    rows,
                )
                self.db.execute(
                    "UPDATE deliveries SET state = 'skipped', reason = s.reason || ' (' || "
                    "s.source || ')' FROM suppressions AS s WHERE deliveries.issue_id = ? AND "
                    "deliveries.email_key = s.email_key AND deliveries.state = 'pending'",
                    (rendered.id,),
                )
                total = self.db.execute(
                    "SELECT count(*) FROM deliveries WHERE issue_id = ?", (rendered.id,)
                ).fetchone()[0]
                if total == 0:
                    raise _Empty
                return total
        except _Empty:  # raised inside the transaction, so it rolled back
            return 0

    def recover(self, issue_id: str, now: datetime) -> int:
        """Rows left in flight by a run that died: ambiguous, never resent by themselves."""
        with self._transaction():
            return self.db.execute(
                "UPDATE deliveries SET state = 'ambiguous', reason = 'the run sending it "
                "stopped before the answer was recorded', updated_at = ? "
                "WHERE issue_id = ? AND state = 'in_flight'",
                (now.isoformat(), issue_id),
            ).rowcount

    def reopen_ambiguous(self, issue_id: str, now: datetime, as_sent: bool) -> int:
        """The editor's call on ambiguous rows: send them again, or count them as sent."""
        state, reason = ("sent", "marked sent by the editor") if as_sent else ("pending", None)
        with self._transaction():
            return self.db.execute(
                "UPDATE deliveries SET state = ?, reason = ?, updated_at = ? "
                "WHERE issue_id = ? AND state = 'ambiguous'",
                (state, reason, now.isoformat(), issue_id),
            ).rowcount

    def claim(self, issue_id: str, size: int, batch: int, now: datetime) -> list[Subscriber]:
        """Move the next `size` pending rows (in list order) to in_flight, committed
        before they are sent. A suppression recorded since the freeze wins here: such
        rows become skipped instead."""
        with self._transaction():
            return self._claim_some(issue_id, size, batch, now.isoformat())

    def _claim_some(self, issue_id: str, size: int, batch: int, stamp: str) -> list[Subscriber]:
        while True:  # until a batch with someone to send to, or nothing pending
            claimed = self._claim(issue_id, size, batch, stamp)
            if claimed is None or claimed:
                return claimed or []

    def _claim(self, issue_id: str, size: int, batch: int, stamp: str) -> list[Subscriber] | None:
        """One try of claim: None when nothing is pending."""
        rows = self.db.execute(
            "SELECT d.seq, d.email_key, d.email, d.name, d.fields, s.reason, s.source "
            "FROM deliveries AS d LEFT JOIN suppressions AS s ON s.email_key = d.email_key "
            "WHERE d.issue_id = ? AND d.state = 'pending' ORDER BY d.seq LIMIT ?",
            (issue_id, size),
        ).fetchall()
        if not rows:
            return None
        self.db.execute(
            "UPDATE deliveries SET state = 'in_flight', batch = ?, updated_at = ? "
            "WHERE issue_id = ? AND state = 'pending' AND seq <= ?",
            (batch, stamp, issue_id, rows[-1][0]),
        )
        self.db.executemany(
            "UPDATE deliveries SET state = 'skipped', reason = ?, batch = NULL "
            "WHERE issue_id = ? AND email_key = ?",
            [(f"{r[5]} ({r[6]})", issue_id, r[1]) for r in rows if r[5] is not None],
        )
        return [
            Subscriber(email, name, json.loads(fields))
            for _, _, email, name, fields, reason, _ in rows
            if reason is None
        ]

    def settle(
        self,
        issue_id: str,
        batch: int,
        sent: dict[str, str],
        refused: dict[str, str],
        ambiguous: Iterable[str],
        now: datetime,
        batch_id: str | None = None,
        then_claim: int = 0,
    ) -> list[Subscriber]:
        """Record a batch's outcome; only rows still in flight move. With `batch_id`
        (one id for the whole batch, as SendGrid gives), every row of the batch not
        refused or ambiguous is sent under it, in one statement. With `then_claim`,
        the next batch (number batch + 1) of that size is claimed in the same
        transaction (one commit a batch instead of two)."""
        stamp = now.isoformat()
        moves = [
            *(("refused", None, why, email) for email, why in refused.items()),
            *(("ambiguous", None, "no answer came", email) for email in ambiguous),
        ]
        if batch_id is None:
            moves += [("sent", msgid, None, email) for email, msgid in sent.items()]
        with self._transaction():
            self.db.executemany(
                "UPDATE deliveries SET state = ?, message_id = ?, reason = ?, updated_at = ? "
                "WHERE issue_id = ? AND email_key = ? AND state = 'in_flight'",
                [(s, m, r, stamp, issue_id, e.lower()) for s, m, r, e in moves],
            )
            if batch_id is not None:
                self.db.execute(  # by the state index: only in-flight rows are looked at
                    "UPDATE deliveries INDEXED BY deliveries_state SET state = 'sent', "
                    "message_id = ?, updated_at = ? "
                    "WHERE issue_id = ? AND state = 'in_flight' AND batch = ?",
                    (batch_id, stamp, issue_id, batch),
                )
            if then_claim:
                return self._claim_some(issue_id, then_claim, batch + 1, stamp)
        return []

    def release(self, issue_id: str, emails: Iterable[str], now: datetime) -> None:
        """A batch that was never handed over (a transient failure that gave up, a
        permanent error): back to pending, to be sent by a later run."""
        with self._transaction():
            self.db.executemany(
                "UPDATE deliveries SET state = 'pending', batch = NULL, updated_at = ? "
                "WHERE issue_id = ? AND email_key = ? AND state = 'in_flight'",
                [(now.isoformat(), issue_id, e.lower()) for e in emails],
            )

    def last_batch(self, issue_id: str) -> int:
        row = self.db.execute(
            "SELECT max(batch) FROM deliveries WHERE issue_id = ?", (issue_id,)
        ).fetchone()
        return row[0] or 0

    def counts(self, issue_id: str) -> dict[str, int]:
        found = dict(
            self.db.execute(
                "SELECT state, count(*) FROM deliveries WHERE issue_id = ? GROUP BY state",
                (issue_id,),
            ).fetchall()
        )
        return {state: found.get(state, 0) for state in STATES}

    def finish_if_done(self, issue_id: str, now: datetime) -> bool:
        """An issue is done when nothing is pending, in flight or ambiguous."""
        with self._transaction():
            return (
                self.db.execute(
                    "UPDATE issues SET state = 'done', finished_at = ? WHERE id = ? AND "
                    "state = 'sending' AND NOT EXISTS (SELECT 1 FROM deliveries WHERE "
                    "issue_id = ? AND state IN ('pending', 'in_flight', 'ambiguous'))",
                    (now.isoformat(), issue_id, issue_id),
                ).rowcount
                == 1
            )

    def issues(self) -> list[IssueRecord]:
        rows = self.db.execute(
            "SELECT id, list, transport, content_hash, state, created_at, finished_at, '' "
            "FROM issues ORDER BY created_at DESC, id"
        ).fetchall()
        return [IssueRecord(*row) for row in rows]

    def recipients(self, issue_id: str) -> Iterator[tuple[str, str, str | None, str | None]]:
        """(email, state, message id, reason) of every recipient, in list order."""
        yield from self.db.execute(
            "SELECT email, state, message_id, reason FROM deliveries WHERE issue_id = ? "
            "ORDER BY seq",
            (issue_id,),
        )

    def suppress(self, email: str, reason: str, source: str, now: datetime) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO suppressions VALUES (?, ?, ?, ?, ?)",
                (email.lower(), email, reason, source, now.isoformat()),
            )


class _Empty(Exception):
    """Rolls back the freeze of an issue with no recipient."""


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if not kind:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite may have rolled back by itself already
            self.db.execute("ROLLBACK")
