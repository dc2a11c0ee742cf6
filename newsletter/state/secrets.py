"""The project's secrets that must be the same on every host sharing the state: the
key that signs the unsubscribe links. Kept with the state (so a clone pointed at a
shared database verifies the links of every earlier issue, and an export carries
it); never printed or logged. An environment variable still overrides (project.py)."""

from __future__ import annotations

from datetime import datetime

from newsletter.state.engine import Engine

UNSUBSCRIBE = "unsubscribe"  # the key of the signed unsubscribe links
# the key of forgotten addresses' hashes: the state's alone (no environment variable
# replaces it), so every host and every later import hashes an address alike
FORGET = "forget"


class Secrets:
    """The secrets table: a name -> its value."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> str | None:
        value = self.engine.value("SELECT value FROM secrets WHERE name = ?", (name,))
        return None if value is None else str(value)

    def keep(self, name: str, value: str, now: datetime) -> str:
        """`value` kept as the secret `name`, unless another process kept one first:
        the one kept is returned, so every process signs with the same."""
        with self.engine.transaction():
            self.engine.execute(
                "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, value, now.isoformat()),
            )
            kept = self.engine.value("SELECT value FROM secrets WHERE name = ?", (name,))
        return str(kept)
