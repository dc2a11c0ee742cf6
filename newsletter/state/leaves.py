"""Lists a reader left on the preferences page: one list, not all of them (that is a
suppression, state/suppressions.py). A left address is no part of that list for any
send, count, preview or check, whatever its file says, until the reader joins again
on the same page."""

from __future__ import annotations

from datetime import datetime

from newsletter.state.engine import Engine


class Leaves:
    """The list_leaves table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, list_name: str, email: str, source: str, now: datetime) -> bool:
        """Record it (a second time changes nothing); True when it is new."""
        return (
            self.engine.changed(
                "INSERT INTO list_leaves (list, email_key, email, source, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (list, email_key) DO NOTHING",
                (list_name, email.lower(), email, source, now.isoformat()),
            )
            == 1
        )

    def remove(self, list_name: str, email: str) -> bool:
        return (
            self.engine.changed(
                "DELETE FROM list_leaves WHERE list = ? AND email_key = ?",
                (list_name, email.lower()),
            )
            == 1
        )

    def keys(self, list_name: str) -> set[str]:
        """The addresses (lower-cased) that left `list_name`."""
        rows = self.engine.all("SELECT email_key FROM list_leaves WHERE list = ?", (list_name,))
        return {str(row[0]) for row in rows}

    def of_address(self, email: str) -> dict[str, str]:
        """The lists this address left: list -> when."""
        rows = self.engine.all(
            "SELECT list, created_at FROM list_leaves WHERE email_key = ?", (email.lower(),)
        )
        return {str(list_name): str(when) for list_name, when in rows}
