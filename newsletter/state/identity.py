"""What a state is: its id, made once when the state is made (or first opened by a
release that knows ids), and kept by an export (an import into an empty state takes
the exported id: it is the same state, moved). The project records the id it sends
from in newsletter.toml ([state] id), so a checkout that reaches another state, or a
new one, can tell before it sends (project.py)."""

from __future__ import annotations

import secrets
from datetime import datetime

from newsletter.state.engine import Engine

ID = "id"


def new_id() -> str:
    return secrets.token_hex(8)


class Identity:
    """The state_meta table: a name -> its value."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self) -> str | None:
        value = self.engine.value("SELECT value FROM state_meta WHERE name = ?", (ID,))
        return None if value is None else str(value)

    def ensure(self, now: datetime) -> str:
        """The state's id, made now if it has none (the first process to make it wins)."""
        found = self.get()
        if found is not None:
            return found
        with self.engine.transaction():
            self.engine.execute(
                "INSERT INTO state_meta (name, value, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (ID, new_id(), now.isoformat()),
            )
        return str(self.get())

    def replace(self, value: str, now: datetime) -> None:
        """In the caller's transaction: the state takes `value` as its id (an import
        into an empty state)."""
        self.engine.execute(
            "INSERT INTO state_meta (name, value, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (ID, value, now.isoformat()),
        )

    def holds_anything(self) -> bool:
        """Whether the state holds what a send or an unsubscribe left (an issue, a
        suppression, a schedule entry): if not, it is as good as new."""
        return bool(
            self.engine.value(
                "SELECT EXISTS (SELECT 1 FROM issues) OR EXISTS (SELECT 1 FROM suppressions) "
                "OR EXISTS (SELECT 1 FROM schedule)"
            )
        )
