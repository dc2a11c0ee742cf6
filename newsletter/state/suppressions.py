"""Suppressions: addresses never to be sent to again, with the reason and where it
came from. They win over every list: the ledger joins this table when it freezes an
issue and again when it claims each batch. (Which reasons there are, and which a
subscriber may take back, is audience/suppressions.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from newsletter.state.engine import Engine

FORGOTTEN = "forgotten"  # the reason of a forgotten address's suppression (its hash)

_INSERT = (
    "INSERT INTO suppressions (email_key, email, reason, source, created_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (email_key) DO NOTHING"
)


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str
    source: str
    created_at: str

    def data(self) -> dict[str, str]:
        return {"email": self.email, "reason": self.reason, "source": self.source,
                "created_at": self.created_at}  # fmt: skip


@dataclass(frozen=True)
class Lift:
    """A suppression lifted: what it was, when and by what it was lifted, and why."""

    email: str
    reason: str
    source: str
    suppressed_at: str
    lifted_at: str
    lifted_by: str  # the command: "lift", "lift --force", "add --resubscribe"
    lift_reason: str

    def data(self) -> dict[str, str]:
        return {"email": self.email, "reason": self.reason, "source": self.source,
                "suppressed_at": self.suppressed_at, "lifted_at": self.lifted_at,
                "lifted_by": self.lifted_by, "lift_reason": self.lift_reason}  # fmt: skip


_LIFTS = (
    "SELECT email, reason, source, suppressed_at, lifted_at, lifted_by, lift_reason "
    "FROM suppression_lifts"
)


class Suppressions:
    """The suppressions table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, email: str, reason: str, source: str, now: datetime) -> bool:
        """Record it; an address already suppressed keeps its first record (so a
        repeated unsubscribe changes nothing). True when it is new."""
        row = (email.lower(), email, reason, source, now.isoformat())
        return self.engine.changed(_INSERT, row) == 1

    def add_many(self, rows: Iterable[tuple[str, str, str]], now: datetime) -> int:
        """(email, reason, source) rows in one transaction; returns how many were new."""
        with self.engine.transaction():
            return self.insert(rows, now)

    def insert(self, rows: Iterable[tuple[str, str, str]], now: datetime) -> int:
        """(email, reason, source) rows, in the caller's transaction; how many were new.
        An address is kept as given, trimmed; blank ones are left out."""
        stamp = now.isoformat()
        before = self.count()
        self.engine.executemany(
            _INSERT,
            ((e.strip().lower(), e.strip(), reason, source, stamp)
             for e, reason, source in rows if e.strip()),
        )  # fmt: skip
        return self.count() - before

    def get(self, email: str) -> Suppression | None:
        row = self.engine.one(
            "SELECT email, reason, source, created_at FROM suppressions WHERE email_key = ?",
            (email.lower(),),
        )
        return Suppression(*row) if row else None

    def remove(self, email: str, sources: tuple[str, ...] | None = None) -> bool:
        """Lift a suppression (of one of `sources` only, when given)."""
        found = self.get(email)
        if found is None or (sources is not None and found.source not in sources):
            return False
        self.engine.execute("DELETE FROM suppressions WHERE email_key = ?", (email.lower(),))
        return True

    def lift(self, email: str, lifted_by: str, why: str, now: datetime) -> Suppression | None:
        """Lift the suppression of `email` (an address, or a forgotten one's hash) and
        keep a record of it, in one transaction; the suppression lifted, or None when
        there was none."""
        key = email.lower()
        with self.engine.transaction():
            found = self.get(key)
            if found is None:
                return None
            self.engine.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
            self.engine.execute(
                "INSERT INTO suppression_lifts (email_key, email, reason, source, "
                "suppressed_at, lifted_at, lifted_by, lift_reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, found.email, found.reason, found.source, found.created_at,
                 now.isoformat(), lifted_by, why),
            )  # fmt: skip
        return found

    def lifts(self, email: str | None = None) -> list[Lift]:
        """The lifts of one address (or of all), oldest first."""
        if email is None:
            return [Lift(*row) for row in self.engine.all(f"{_LIFTS} ORDER BY lifted_at")]
        rows = self.engine.all(f"{_LIFTS} WHERE email_key = ? ORDER BY lifted_at", (email.lower(),))
        return [Lift(*row) for row in rows]

    def forgotten(self) -> frozenset[str]:
        """The hashes of the addresses asked to be forgotten (by the partial index:
        nothing to read when there are none)."""
        # the reason written out, as in the index: PostgreSQL's generic plan of a
        # parameter could not use it
        rows = self.engine.all(f"SELECT email_key FROM suppressions WHERE reason = '{FORGOTTEN}'")
        return frozenset(row[0] for row in rows)

    def keys(self) -> set[str]:
        """Every suppressed address, lower-cased (to mark a list's rows)."""
        return {row[0] for row in self.engine.all("SELECT email_key FROM suppressions")}

    def all(self) -> Iterator[Suppression]:
        for row in self.engine.stream(
            "SELECT email, reason, source, created_at FROM suppressions ORDER BY created_at"
        ):
            yield Suppression(*row)

    def count(self) -> int:
        return int(self.engine.value("SELECT count(*) FROM suppressions"))
