"""RECORD: the project's state, the one place with SQL.

    engine.py        the seam: what the tables ask of a database (Engine)
    sqlite.py        the embedded engine: a file, WAL, its own words
    postgres.py      the shared engine: psycopg 3, an advisory lock for writers
    migrations.py    the schema, as named steps
    issues.py        issues and their frozen content (the JSON codec)
    recipients.py    one issue's recipients: freeze, claim, states
    outcomes.py      answers recorded: settle, release, recover, reopen, cancel
    ledger.py        all of that per issue id, each move in its own transaction
    schedule.py      the queue of issues to send at a time
    backoff.py       cron's back-off for what keeps failing
    suppressions.py  addresses never to be sent to again, and the record of lifts
    person.py        everything the state holds of one address: export, forget
    cursors.py       how far each provider list was synced
    secrets.py       the key of the signed links, the same on every host
    signups.py       the web's signups (double opt-in, consent) and rate limits
    leaves.py        the lists readers left on the preferences page
    events.py        after the send: providers' events once each, recipients' fates, engagement
    identity.py      what the state is: its id, recorded by the project
    transfer.py      all of it as rows, out (export) and in (import, merging)

`Database` opens it (migrating an older schema) and is a context manager; every
table family is an attribute, and each returns its own row types.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from newsletter.errors import StateError
from newsletter.state.backoff import Backoff
from newsletter.state.cursors import Cursors
from newsletter.state.engine import Engine
from newsletter.state.events import DeliveryEvents
from newsletter.state.identity import Identity
from newsletter.state.issues import Issues
from newsletter.state.leaves import Leaves
from newsletter.state.ledger import Ledger
from newsletter.state.migrations import migrate
from newsletter.state.schedule import Queue
from newsletter.state.secrets import Secrets
from newsletter.state.signups import Signups
from newsletter.state.sqlite import SqliteEngine
from newsletter.state.suppressions import Suppressions


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Database:
    """The state database of a project, opened and migrated."""

    def __init__(
        self,
        at: Path | str,
        busy_timeout: float = 30.0,
        where: str | None = None,
        setting: str = "[state] url",
    ) -> None:
        """The state at `at`: a SQLite file's path, or a postgresql:// URL. `where`: how
        errors name a file (the project's relative path); `setting`, what named a URL."""
        self.engine: Engine
        if isinstance(at, str) and is_postgres_url(at):
            from newsletter.state.postgres import PgEngine

            self.engine = PgEngine.open(at, setting)
        else:
            self.engine = SqliteEngine.open(Path(at), migrate, busy_timeout, where)
        try:
            migrate(self.engine)  # the steps of a release newer than the state's
        except BaseException:
            self.engine.close()
            raise
        self.issues = Issues(self.engine)
        self.ledger = Ledger(self.engine, self.issues)
        self.queue = Queue(self.engine)
        self.backoff = Backoff(self.engine)
        self.suppressions = Suppressions(self.engine)
        self.cursors = Cursors(self.engine)
        self.secrets = Secrets(self.engine)
        self.identity = Identity(self.engine)
        self.signups = Signups(self.engine)
        self.leaves = Leaves(self.engine)
        self.events = DeliveryEvents(self.engine)

    def usable(self) -> bool:
        """Whether its connection still answers (one kept open across requests may
        have lost its server since)."""
        try:
            self.engine.value("SELECT 1")
        except StateError:
            return False
        return True

    def transaction(self) -> Any:
        """One transaction over any of the tables (e.g. suppressions and a cursor)."""
        return self.engine.transaction()

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
