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
from newsletter.state import engine
from newsletter.transports import sendgrid

state = {"accepted": 0, "frozen": False, "armed": False}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str, n: int) -> None:
    opened = engine.Engine.__init__
    send = sendgrid.SendgridTransport.send

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

    def init(self, *args, **kwargs):
        opened(self, *args, **kwargs)  # the state was migrated before the killed run
        self.db.set_trace_callback(trace)

    def counted(self, batch):
        accepted = send(self, batch)
        state["accepted"] += 1
        if point == "accepted" and state["accepted"] == n:
            die()
        return accepted

    engine.Engine.__init__ = init
    sendgrid.SendgridTransport.send = counted


if __name__ == "__main__":
    point, n, dashes, *args = sys.argv[1:]
    assert dashes == "--"
    install(point, int(n))
    sys.argv = ["newsletter", *args]
    main()
