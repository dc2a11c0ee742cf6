"""The state's one seam: what the table modules ask of a database, and the two
engines that answer it (sqlite.py, the embedded default; postgres.py). The table
modules write portable SQL with `?` parameters and `{word}`s an engine fills in
(`Engine.sql`), and see nothing else of the engine.

Every engine runs statements in autocommit, and `transaction()` in turns: one writer
at a time (SQLite's BEGIN IMMEDIATE; on PostgreSQL an advisory lock), so the ledger's
compare-and-set moves mean the same on both, for any number of processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from newsletter.errors import StateError

Params = Sequence[Any]


class Conflict(StateError):
    """A row broke a unique constraint (e.g. an issue queued twice)."""


class Engine(Protocol):
    name: str
    where: str  # the state as errors name it (a file, or a URL without its password)

    @staticmethod
    def sql(statement: str) -> str: ...

    def execute(self, statement: str, params: Params = ()) -> Any: ...

    def executemany(self, statement: str, rows: Iterable[Params]) -> int: ...

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Params]) -> int:
        """Many new rows at once, streamed (PostgreSQL: COPY); returns how many."""
        ...

    def analyse(self, table: str) -> None:
        """After many rows went in (a freeze): the planner's figures made anew, where
        it keeps them (PostgreSQL), so the claims that follow use the index."""
        ...

    def one(self, statement: str, params: Params = ()) -> Any: ...

    def value(self, statement: str, params: Params = ()) -> Any: ...

    def all(self, statement: str, params: Params = ()) -> list[Any]: ...

    def stream(self, statement: str, params: Params = ()) -> Iterator[Any]: ...

    def changed(self, statement: str, params: Params = ()) -> int: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def erasing(self) -> AbstractContextManager[None]:
        """Around changes that must not leave what they replace readable in the
        engine's files (a forget): SQLite zeroes the space they free and folds its
        write-ahead log into the file; PostgreSQL keeps old row versions until its
        vacuum reuses their space (so this does nothing there)."""
        ...

    def tables(self) -> set[str]: ...

    def close(self) -> None: ...
