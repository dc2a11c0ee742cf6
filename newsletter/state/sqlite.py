"""The SQLite engine, the embedded default: everything SQLite-specific is here: the
connection and its pragmas (WAL, a busy timeout, foreign keys, full sync), how a
transaction begins, what a locked or broken file means, and the few words of DDL and
planner hints the portable SQL of the table modules leaves to the engine
(`SqliteEngine.sql`). The seam it fills is engine.py; postgres.py is the other one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from newsletter.errors import StateError
from newsletter.state.engine import Conflict

Params = Sequence[Any]

# What the portable SQL leaves to the engine: `{name}` in a statement becomes this.
DIALECT = {
    "without_rowid": " WITHOUT ROWID",  # a table clustered on its primary key
    "auto_key": "INTEGER PRIMARY KEY",  # a key the database numbers (the rowid)
    # SQLite's planner is told which index to use where a whole scan would be chosen
    "deliveries_alone": " INDEXED BY deliveries_alone",
    "schedule_due": " INDEXED BY schedule_due",
}


SQLITE_HEADER = b"SQLite format 3\x00"
RESTORE = (
    "it is not taken for a new state (a send could go again to everyone, and every "
    "suppression would be gone): restore it from a backup, or move it away to start a new "
    "state"
)


class SqliteEngine:
    """One connection to the state file, in autocommit mode: every statement outside
    `transaction()` commits by itself; short transactions inside it."""

    name = "sqlite"

    @classmethod
    def open(
        cls,
        path: Path,
        initialise: Callable[[SqliteEngine], object],
        busy_timeout: float = 30.0,
        where: str | None = None,
    ) -> SqliteEngine:
        """The state at `path`. Only a missing file is a new state: it is made whole
        (`initialise`d) in a file of its own and linked into place, so a state file
        that exists is always one that was made, and one that is empty, not SQLite, or
        not ours is refused, unchanged. `where`: the file as shown in errors."""
        where = where or str(path)
        if not path.exists():
            cls._create(path, initialise, busy_timeout, where)
        _check_file(path, where)
        engine = cls(path, busy_timeout, wal=False, where=where)  # not a byte written before
        try:
            if "migrations" not in engine.tables():
                raise StateError(f"a SQLite database, but not a newsletter state; {RESTORE}",
                                 file=where)  # fmt: skip
            engine.wal(busy_timeout)
        except BaseException:
            engine.close()
            raise
        return engine

    @classmethod
    def _create(
        cls, path: Path, initialise: Callable[[SqliteEngine], object], patience: float, where: str
    ) -> None:
        made = path.with_name(
            f".{path.name}.{os.getpid()}.{threading.get_ident()}.new"
        )  # per thread
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            made.unlink(missing_ok=True)
            os.close(os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # it holds
            engine = cls(made, patience, wal=False, where=where)  # the signing key: only ours
            try:
                initialise(engine)
            finally:
                engine.close()
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(made, path)
        except OSError as exc:
            raise StateError(f"cannot make the state database: {exc.strerror or exc}",
                             file=where) from None  # fmt: skip
        finally:
            made.unlink(missing_ok=True)

    def __init__(
        self, path: Path, busy_timeout: float = 30.0, wal: bool = True, where: str | None = None
    ) -> None:
        self.path = path
        self.where = where or str(path)
        try:
            self.db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database: {exc}", file=self.where) from None
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if wal:
                self.wal(busy_timeout)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise self._error(exc) from None

    def wal(self, patience: float) -> None:
        """Switch the file to WAL (once; later opens find it so). Processes doing it at
        once may be told "locked" without SQLite waiting for the other (the switch needs
        the file to itself), so wait here, as the busy timeout would."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise self._error(exc) from None
                time.sleep(0.02)
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def sql(statement: str) -> str:
        """A portable statement with this engine's words filled in."""
        return statement.format_map(DIALECT) if "{" in statement else statement

    # --- statements ---

    @contextlib.contextmanager
    def _mapped(self) -> Iterator[None]:
        """SQLite's errors as ours: a unique key taken is a Conflict, a file that cannot
        be read or written a StateError (SqliteEngine._error)."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise Conflict(str(exc), file=self.where) from None
            raise
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.DataError):
            raise  # a statement of ours that is wrong: a bug, not the file
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def execute(self, statement: str, params: Params = ()) -> sqlite3.Cursor:
        with self._mapped():
            return self.db.execute(self.sql(statement), params)

    def executemany(self, statement: str, rows: Iterable[Params]) -> int:
        """Returns how many rows the statement changed in all."""
        with self._mapped():
            return self.db.executemany(self.sql(statement), rows).rowcount

    def analyse(self, table: str) -> None:
        """Nothing: the claims' plans do not depend on figures here (DIALECT's hints)."""

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Params]) -> int:
        marks = ", ".join("?" * len(columns))
        return self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def one(self, statement: str, params: Params = ()) -> Any:
        """The first row, or None (an INSERT ... RETURNING runs as it is fetched)."""
        with self._mapped():
            return self.db.execute(self.sql(statement), params).fetchone()

    def value(self, statement: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(statement, params)
        return row[0] if row else None

    def all(self, statement: str, params: Params = ()) -> list[Any]:
        with self._mapped():
            return self.db.execute(self.sql(statement), params).fetchall()

    def stream(self, statement: str, params: Params = ()) -> Iterator[Any]:
        """The rows one by one, as they are read (a read that fails midway is mapped
        like any other)."""
        with self._mapped():
            yield from self.db.execute(self.sql(statement), params)

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

    @contextlib.contextmanager
    def erasing(self) -> Iterator[None]:
        """The space freed zeroed (secure_delete) while inside; then the write-ahead
        log folded into the file and emptied, so no frame of it holds the rows before."""
        before = int(self.value("PRAGMA secure_delete"))
        self.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            self.execute(f"PRAGMA secure_delete = {before}")
        self.one("PRAGMA wal_checkpoint(TRUNCATE)")

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
        name = getattr(exc, "sqlite_errorname", "")
        for prefix, what in _CANNOT_WRITE.items():
            if name.startswith(prefix):
                return StateError(f"{what}; {UNCHANGED}", file=self.where)
        if isinstance(exc, sqlite3.OperationalError) and not _broken(exc):
            return RuntimeError(f"the state database refused a statement: {exc}")
        return StateError(f"the state database is unusable: {exc}", file=self.where)


def _check_file(path: Path, where: str) -> None:
    """An existing state file must be a SQLite database (its header says so)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StateError(f"cannot read the state database: {exc.strerror}", file=where) from None
    if not head:
        raise StateError(f"the state database is empty (0 bytes); {RESTORE}", file=where)
    if head != SQLITE_HEADER:
        raise StateError(f"not a state database (not SQLite); {RESTORE}", file=where)


UNCHANGED = "what needed it was not done, nor half done: run again when that is fixed"
_CANNOT_WRITE = {  # SQLite's error names (the extended codes start with them)
    "SQLITE_READONLY": "cannot write the state database: it (or its folder) is read-only",
    "SQLITE_FULL": "cannot write the state database: the disk is full",
    "SQLITE_IOERR": "cannot read or write the state database (a disk I/O error: a full "
    "disk, a file size limit or a failing disk?)",
    "SQLITE_CANTOPEN": "cannot open the state database (or the files SQLite keeps beside "
    "it): is its folder readable and writable?",
    "SQLITE_PERM": "cannot write the state database: permission denied",
}


def _broken(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return any(
        words in text
        for words in ("disk I/O", "disk is full", "unable to open", "readonly", "malformed")
    )


def _locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)
