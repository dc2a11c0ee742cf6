"""The SQLite engine: the one module of the state that knows which database it talks
to. Everything SQLite-specific is here: the connection and its pragmas (WAL, a busy
timeout, foreign keys, full sync), how a transaction begins, what a locked or broken
file means, and the few words of DDL and planner hints the portable SQL of the table
modules leaves to the engine (`Engine.sql`). The rest of `newsletter.state` writes
portable SQL with `?` parameters; a PostgreSQL engine is another module with the same
methods.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from newsletter.errors import StateError

Params = Sequence[Any]

# What the portable SQL leaves to the engine: `{name}` in a statement becomes this.
DIALECT = {
    "without_rowid": " WITHOUT ROWID",  # a table clustered on its primary key
    "auto_key": "INTEGER PRIMARY KEY",  # a key the database numbers (the rowid)
    # SQLite's planner is told which index to use where a whole scan would be chosen
    "deliveries_alone": " INDEXED BY deliveries_alone",
    "schedule_due": " INDEXED BY schedule_due",
}


class Conflict(StateError):
    """A row broke a unique constraint (e.g. an issue queued twice)."""


class Engine:
    """One connection to the state file, in autocommit mode: every statement outside
    `transaction()` commits by itself; short transactions inside it."""

    name = "sqlite"

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.where = str(path)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database: {exc}", file=self.where) from None
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._wal(busy_timeout)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise self._error(exc) from None

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

    @staticmethod
    def sql(statement: str) -> str:
        """A portable statement with this engine's words filled in."""
        return statement.format_map(DIALECT) if "{" in statement else statement

    # --- statements ---

    def execute(self, statement: str, params: Params = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(self.sql(statement), params)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise Conflict(str(exc), file=self.where) from None
            raise
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from None

    def executemany(self, statement: str, rows: Iterable[Params]) -> int:
        """Returns how many rows the statement changed in all."""
        try:
            return self.db.executemany(self.sql(statement), rows).rowcount
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from None

    def one(self, statement: str, params: Params = ()) -> Any:
        """The first row, or None."""
        return self.execute(statement, params).fetchone()

    def value(self, statement: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(statement, params)
        return row[0] if row else None

    def all(self, statement: str, params: Params = ()) -> list[Any]:
        return self.execute(statement, params).fetchall()

    def changed(self, statement: str, params: Params = ()) -> int:
        """How many rows an UPDATE, INSERT or DELETE changed."""
        return self.execute(statement, params).rowcount

    # --- transactions ---

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error. A database another
        program holds locked past the busy timeout is a StateError, not a crash."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from None
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back by itself already
                self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise self._error(exc) from None

    # --- what the file is ---

    def tables(self) -> set[str]:
        return {row[0] for row in self.all("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _error(self, exc: sqlite3.Error) -> Exception:
        """What a failed statement means to the user: a locked or broken file is a
        StateError; anything else (a statement of ours SQLite refuses) is a bug."""
        if _locked(exc):
            return StateError(
                "the state database is locked by another program (an open sqlite3 shell or "
                "a backup?) and stayed locked; nothing was changed, try again when it is "
                "closed",
                file=self.where,
            )
        if isinstance(exc, sqlite3.OperationalError) and not _broken(exc):
            return RuntimeError(f"the state database refused a statement: {exc}")
        return StateError(f"the state database is unusable: {exc}", file=self.where)


def _broken(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return any(
        words in text
        for words in ("disk I/O", "disk is full", "unable to open", "readonly", "malformed")
    )


def _locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)
