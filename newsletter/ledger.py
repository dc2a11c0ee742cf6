"""The delivery ledger: SQLite state in .newsletter/state.db.

One row per issue (its frozen content and recipients' list) and one per recipient,
sent in batches: pending -> in_flight (committed before the transport is called) ->
sent | failed | refused; skipped recipients (suppressed) never leave. Recipients found
in flight when a send starts belong to a run that died with the batch handed over:
they become ambiguous, and nothing resends them unless the editor asks. How a state
is recorded (a batch row for the common outcome, recipient rows for the exceptions)
is in ledger_batches.

The schema is versioned by named migrations recorded in the same transaction as the
change, so a later release opens an older project without loss; a newer one is
refused with a clear error.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from newsletter.audience.lists import Subscriber
from newsletter.errors import StateError
from newsletter.ledger_batches import Deliveries
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
    (
        # Per-recipient writes only at the freeze and for exceptions: a recipient row
        # without a state of its own follows the live batch covering it (or is pending),
        # see ledger_batches. Issues get an integer key; deliveries lose their state index.
        "0003_batches",
        """
        CREATE TABLE issue_keys (
            n INTEGER PRIMARY KEY,
            issue_id TEXT NOT NULL UNIQUE REFERENCES issues(id),
            first_seq INTEGER NOT NULL DEFAULT 1,  -- its recipients' run of deliveries.seq
            last_seq INTEGER NOT NULL DEFAULT 0,
            recipients INTEGER NOT NULL DEFAULT 0,
            frontier INTEGER NOT NULL DEFAULT 1  -- below it, no recipient is waiting but
                                             -- those pending alone
        );
        INSERT INTO issue_keys (issue_id) SELECT id FROM issues ORDER BY created_at, id;
        CREATE TABLE deliveries_0003 (
            seq INTEGER PRIMARY KEY,         -- the list's order: an issue's recipients
                                             -- are a run of it, written in one go (an
                                             -- append, cheaper than a composite key)
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,            -- the subscriber's row when frozen: JSON, or
                                             -- '' for just its email and name columns
            state TEXT CHECK (state IS NULL OR state IN ('pending', 'in_flight', 'sent',
                                  'failed', 'refused', 'skipped', 'ambiguous')),
                                             -- NULL: as its batch (or pending if none).
                                             -- IS NULL first: an IN list checked on
                                             -- every insert made a freeze 2 s/M slower
            batch INTEGER,                   -- the batch it was decided in
            message_id TEXT,
            reason TEXT,
            updated_at TEXT
            -- An address once per issue: the list reader drops duplicates, and the
            -- freeze checks (ledger_batches). No UNIQUE (issue, email_key) index: in
            -- list order its keys come at random, and keeping it made a freeze of a
            -- million recipients 3 s slower (the check takes about 0.5 s).
        );
        INSERT INTO deliveries_0003
            SELECT row_number() OVER (ORDER BY k.n, d.seq), k.n, d.email_key, d.email,
                   d.name, d.fields, nullif(d.state, 'pending'),
                   iif(d.state = 'pending', NULL, d.batch), d.message_id, d.reason,
                   d.updated_at
            FROM deliveries AS d JOIN issue_keys AS k ON k.issue_id = d.issue_id;
        UPDATE issue_keys SET first_seq = m.first, last_seq = m.last, recipients = m.total,
                              frontier = m.first
            FROM (SELECT issue, min(seq) AS first, max(seq) AS last, count(*) AS total
                  FROM deliveries_0003 GROUP BY issue) AS m
            WHERE m.issue = issue_keys.n;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_0003 RENAME TO deliveries;
        CREATE INDEX deliveries_alone ON deliveries (issue, state, batch)
            WHERE state IS NOT NULL;
        CREATE TABLE batches (
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            number INTEGER NOT NULL,
            first_seq INTEGER NOT NULL,      -- the stretch of the list it covers
            last_seq INTEGER NOT NULL,
            size INTEGER NOT NULL,           -- its recipients not decided alone since
            state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'ambiguous',
                                                 'released')),
            message_id TEXT,                 -- the provider's id for the whole batch
            reason TEXT,
            claimed_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (issue, number)
        ) WITHOUT ROWID;
        CREATE INDEX batches_live ON batches (issue, first_seq) WHERE state != 'released'
        """,
    ),
    (
        "0004_sync_cursors",
        """
        CREATE TABLE sync_cursors (
            source TEXT PRIMARY KEY,         -- e.g. 'sendgrid bounces'
            synced_until INTEGER NOT NULL,   -- Unix time: pulled up to here
            updated_at TEXT NOT NULL
        )
        """,
    ),
    (
        # Queued with --force: cron sends it even if `check` finds errors at send time.
        "0005_schedule_force",
        "ALTER TABLE schedule ADD COLUMN force INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # An issue whose cron send keeps failing is tried less and less often.
        "0006_cron_backoff",
        """
        CREATE TABLE cron_backoff (
            issue_id TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            retry_at TEXT NOT NULL,          -- UTC, 'YYYY-MM-DDTHH:MM:SSZ'
            updated_at TEXT NOT NULL
        )
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

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._wal(busy_timeout)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if _locked(exc):
                raise _locked_error(path) from None
            raise StateError(f"the state database is unusable: {exc}", where=str(path)) from None

    def _wal(self, patience: float) -> None:
        """Switch a new file to WAL. Processes doing it at once may be told "locked"
        without SQLite waiting for the other (the switch needs the file to itself), so
        wait here, as the busy timeout would."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

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
            with self.transaction():  # another process may have applied it meanwhile
                if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))

    def transaction(self) -> Any:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error), for this state's other
        tables too (schedule, suppressions, sync cursors)."""
        return _Transaction(self.db, self.path)

    # --- issues ---

    def issue(self, issue_id: str) -> IssueRecord | None:
        row = self.db.execute(
            "SELECT id, list, transport, content_hash, state, created_at, finished_at, content "
            "FROM issues WHERE id = ?",
            (issue_id,),
        ).fetchone()
        return IssueRecord(*row) if row else None

    def _deliveries(self, issue_id: str) -> Deliveries | None:
        row = self.db.execute(
            "SELECT n, first_seq, last_seq FROM issue_keys WHERE issue_id = ?", (issue_id,)
        ).fetchone()
        return Deliveries(self.db, *row) if row else None

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
            with self.transaction():
                self.db.execute(
                    "INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, NULL)",
                    (rendered.id, list_name, transport, json.dumps(articles),
                     dump_rendered(rendered), content_hash, stamp),
                )  # fmt: skip
                key = self.db.execute(
                    "INSERT INTO issue_keys (issue_id, recipients) VALUES (?, 0)", (rendered.id,)
                ).lastrowid
                total = Deliveries(self.db, key, 1, 0).freeze(subscribers, stamp)
                if total == 0:
                    raise _Empty
                return total
        except _Empty:  # raised inside the transaction, so it rolled back
            return 0

    def recover(self, issue_id: str, now: datetime) -> int:
        """Recipients left in flight by a run that died: ambiguous, never resent by
        themselves. Returns how many."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            return deliveries.recover(now.isoformat()) if deliveries else 0

    def reopen_ambiguous(self, issue_id: str, now: datetime, as_sent: bool) -> int:
        """The editor's call on ambiguous recipients: send them again, or count them as
        sent. Returns how many."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            return deliveries.reopen(now.isoformat(), as_sent) if deliveries else 0

    def claim(self, issue_id: str, size: int, batch: int, now: datetime) -> list[Subscriber]:
        """Move the next `size` pending recipients (in list order) to in_flight as batch
        `batch`, committed before they are sent. A suppression recorded since the freeze
        wins here: such recipients become skipped instead."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            return deliveries.claim(size, batch, now.isoformat()) if deliveries else []

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
        """Record a batch's outcome; only its recipients still in flight move. With
        `batch_id` (one id for the whole batch, as SendGrid gives), every recipient of
        the batch not refused or ambiguous is sent under it. With `then_claim`, the next
        batch (number batch + 1) of that size is claimed in the same transaction (one
        commit a batch instead of two)."""
        stamp = now.isoformat()
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            if deliveries is None:
                return []
            deliveries.settle(batch, sent, refused, ambiguous, stamp, batch_id)
            return deliveries.claim(then_claim, batch + 1, stamp) if then_claim else []

    def release(self, issue_id: str, emails: Iterable[str], now: datetime) -> None:
        """A batch that was never handed over (a transient failure that gave up, a
        permanent error): back to pending, to be sent by a later run."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            if deliveries:
                deliveries.release(emails, now.isoformat())

    def last_batch(self, issue_id: str) -> int:
        deliveries = self._deliveries(issue_id)
        return deliveries.last_batch() if deliveries else 0

    def counts(self, issue_id: str) -> dict[str, int]:
        deliveries = self._deliveries(issue_id)
        found = deliveries.counts() if deliveries else {}
        return {state: found.get(state, 0) for state in STATES}

    def finish_if_done(self, issue_id: str, now: datetime) -> bool:
        """An issue is done when nothing is pending, in flight or ambiguous."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            found = deliveries.counts() if deliveries else {}
            if any(found.get(state) for state in ("pending", "in_flight", "ambiguous")):
                return False
            return (
                self.db.execute(
                    "UPDATE issues SET state = 'done', finished_at = ? WHERE id = ? AND "
                    "state = 'sending'",
                    (now.isoformat(), issue_id),
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
        deliveries = self._deliveries(issue_id)
        if deliveries:
            yield from deliveries.recipients()

    def cancel(self, issue_id: str, reason: str, now: datetime) -> int:
        """Stop an issue's send: every recipient still waiting is skipped with
        `reason` (those in flight or ambiguous stay as they are). Returns how many."""
        with self.transaction():
            deliveries = self._deliveries(issue_id)
            return deliveries.skip_waiting(reason, now.isoformat()) if deliveries else 0


class _Empty(Exception):
    """Rolls back the freeze of an issue with no recipient."""


def _locked(exc: sqlite3.DatabaseError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _locked_error(path: Path) -> StateError:
    return StateError(
        "the state database is locked by another program (an open sqlite3 shell or a "
        "backup?) and stayed locked; nothing was changed, try again when it is closed",
        where=str(path),
    )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error. A database another
    program holds locked past the busy timeout is a StateError, not a crash."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    def __enter__(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise _locked_error(self.path) from None
            raise

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if not kind:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite may have rolled back by itself already
            self.db.execute("ROLLBACK")
