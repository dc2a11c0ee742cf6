"""Runs `newsletter ARGS...` and SIGKILLs itself at a chosen point of a send, to test
that the send resumes correctly after a crash there. Test-only: the package knows
nothing of it. Points (N counts the batches the transport accepted):

    after-freeze 0     the issue is frozen (committed), no batch claimed yet
    accepted N         batch N was accepted by the API, its answer not yet recorded
    between N          batch N is recorded (and, in the same commit, N+1 claimed)
    commit N           as the commit recording batch N starts (so it is lost)

    python tests/killer.py POINT N -- send ARTICLE --list LIST ...
"""

import os
import signal
import sys

from newsletter.cli import main
from newsletter.state import postgres, sqlite
from newsletter.transports import sendgrid

state = {"accepted": 0, "frozen": False, "armed": False}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Traced:
    """PostgreSQL's connection, each statement seen by `trace` before it runs."""

    def __init__(self, db, trace):
        self._db, self._trace = db, trace

    def execute(self, statement, *args, **kwargs):
        self._trace(statement)
        return self._db.execute(statement, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._db, name)


def tracer(point: str, n: int):
    """What to do at each statement: die at the point asked for."""

    def trace(statement: str) -> None:
        statement = statement.strip().upper()
        if state["armed"]:  # the first statement after the commit we waited for
            die()
        if statement.startswith("INSERT INTO ISSUES"):
            state["frozen"] = True
        if statement != "COMMIT":
            return
        recorded = point == "between" and state["accepted"] == n
        if recorded or (point == "after-freeze" and state["frozen"]):
            state["armed"] = True
        elif point == "commit" and state["accepted"] == n:
            die()

    return trace


def install(point: str, n: int) -> None:
    trace = tracer(point, n)
    opened, pg_opened = sqlite.SqliteEngine.__init__, postgres.PgEngine.__init__
    send = sendgrid.SendgridTransport.send

    def init(self, *args, **kwargs):
        opened(self, *args, **kwargs)  # the state was migrated before the killed run
        self.db.set_trace_callback(trace)

    def pg_init(self, *args, **kwargs):
        pg_opened(self, *args, **kwargs)
        self.db = Traced(self.db, trace)

    def counted(self, batch):
        accepted = send(self, batch)
        state["accepted"] += 1
        if point == "accepted" and state["accepted"] == n:
            die()
        return accepted

    sqlite.SqliteEngine.__init__ = init
    postgres.PgEngine.__init__ = pg_init
    sendgrid.SendgridTransport.send = counted


if __name__ == "__main__":
    point, n, dashes, *args = sys.argv[1:]
    assert dashes == "--"
    install(point, int(n))
    sys.argv = ["newsletter", *args]
    main()
