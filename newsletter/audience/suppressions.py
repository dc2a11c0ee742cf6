"""Suppressions: addresses never to be sent to again, with the reason and where it
came from, in the project state (the ledger's database). They win over every list:
a send skips them (the ledger joins this table when it freezes and claims)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from newsletter.ledger import Ledger

# Reasons, and the sources that record them.
UNSUBSCRIBED = (
    "unsubscribed"  # source: link (the confirmation page), one-click (RFC 8058), sendgrid
)
BOUNCED = "bounced"
SPAM_REPORT = "spam report"
REMOVED = "removed"  # source: manual (`subscribers remove`), or an import's own mark
# An unsubscribe through our own link may be undone through the same link; nothing
# else is (a bounce or a spam report is not the subscriber's to take back).
UNDOABLE_SOURCES = ("link", "one-click")


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str
    source: str
    created_at: str

    def data(self) -> dict[str, str]:
        return {"email": self.email, "reason": self.reason, "source": self.source,
                "created_at": self.created_at}  # fmt: skip


class Suppressions:
    """The suppressions table, through the ledger's connection."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def add(self, email: str, reason: str, source: str, now: datetime) -> bool:
        """Record it; an address already suppressed keeps its first record (so a
        repeated unsubscribe changes nothing). True when it is new."""
        return (
            self.db.execute(
                "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?, ?)",
                (email.lower(), email, reason, source, now.isoformat()),
            ).rowcount
            == 1
        )

    def add_many(self, rows: Iterable[tuple[str, str, str]], now: datetime) -> int:
        """(email, reason, source) rows in one transaction; returns how many were new."""
        with self.ledger.transaction():
            return self.insert(rows, now)

    def insert(self, rows: Iterable[tuple[str, str, str]], now: datetime) -> int:
        """(email, reason, source) rows, in the caller's transaction; how many were new.
        An address is kept as given, trimmed; blank ones are left out."""
        stamp = now.isoformat()
        before = self.count()
        self.db.executemany(
            "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?, ?)",
            ((e.strip().lower(), e.strip(), reason, source, stamp)
             for e, reason, source in rows if e.strip()),
        )  # fmt: skip
        return self.count() - before

    def get(self, email: str) -> Suppression | None:
        row = self.db.execute(
            "SELECT email, reason, source, created_at FROM suppressions WHERE email_key = ?",
            (email.lower(),),
        ).fetchone()
        return Suppression(*row) if row else None

    def remove(self, email: str, sources: tuple[str, ...] | None = None) -> bool:
        """Lift a suppression (of one of `sources` only, when given)."""
        found = self.get(email)
        if found is None or (sources is not None and found.source not in sources):
            return False
        self.db.execute("DELETE FROM suppressions WHERE email_key = ?", (email.lower(),))
        return True

    def keys(self) -> set[str]:
        """Every suppressed address, lower-cased (to mark a list's rows)."""
        return {row[0] for row in self.db.execute("SELECT email_key FROM suppressions")}

    def all(self) -> Iterator[Suppression]:
        yield from (
            Suppression(*row)
            for row in self.db.execute(
                "SELECT email, reason, source, created_at FROM suppressions ORDER BY created_at"
            )
        )

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM suppressions").fetchone()[0]
