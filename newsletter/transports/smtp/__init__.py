"""The SMTP transport: each recipient's message (the very bytes the outbox writes,
made by MessageMaker) in its own SMTP transaction, over one connection kept open for
the whole send, or over `[smtp] connections` of them in parallel.

Where a failure happens decides what it means:
- connecting, TLS and login: a refused, dropped or timed-out connection or a 4xx
  answer is transient; a certificate that cannot be verified, a server that does not
  offer STARTTLS when it is required (never a fall-back to plain text), a refused
  login (535) or another 5xx is permanent, with the server's own words;
- MAIL FROM, RCPT TO, DATA, up to the last byte of the message: a 4xx or a lost
  connection is transient (the message did not go): the send loop retries the rest of
  the batch on a new connection, with back-off. A kept connection the server closed
  meanwhile is replaced at once. A 5xx to RCPT TO refuses that recipient and the send
  goes on (except one that says the server will not relay for us, or wants a login:
  that holds for everyone, so it stops the send); a 5xx to MAIL FROM or to DATA stops
  the send;
- the answer to the message: 250 is accepted; a 5xx about the address or its mailbox
  (enhanced status 5.1.x or 5.2.x) refuses that recipient, any other 5xx stops the
  send; a 4xx is transient; no answer at all (the connection lost, a timeout) is
  ambiguous: the server may have taken it, so it is held and never sent again by
  itself, and the send goes on.
The password comes from make_transport and goes to smtplib's login only: never into
a message, a log line or a file.
"""

from __future__ import annotations

import ssl
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait

from newsletter.clock import Clock
from newsletter.message import MessageMaker
from newsletter.settings import SmtpSettings
from newsletter.transports.base import Batch, BatchResult, most_serious
from newsletter.transports.smtp.connection import Connection, Outcome

PER_CONNECTION = 100  # recipients a batch per connection: a ledger commit per 100 messages


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        clock: Clock,
        context: ssl.SSLContext | None = None,
    ) -> None:
        """`password`: for `settings.username` (None: no login). `context`: how TLS
        certificates are verified (default: the system's trusted CAs)."""
        self.settings = settings
        self.clock = clock
        self.batch_size = PER_CONNECTION * settings.connections
        if context is None and settings.security != "none":
            context = ssl.create_default_context()
        self._connections = [
            Connection(settings, password, context) for _ in range(settings.connections)
        ]
        self._pool: ThreadPoolExecutor | None = None

    def destination(self, issue_id: str, test: bool = False) -> str:
        return destination(self.settings)

    def send(self, batch: Batch) -> BatchResult:
        """One transaction per recipient; with several connections, each takes the next
        recipient of the batch when it is free, so each recipient goes over one only.
        On the first failure no connection starts another message."""
        maker = MessageMaker(batch.issue, batch.envelope, self.clock.now(), batch.test)
        sender = batch.envelope.newsletter.from_.addr_spec
        todo = deque(batch.recipients)
        stop = threading.Event()
        busy = self._connections[: max(1, min(len(self._connections), len(todo)))]
        outcomes = [Outcome() for _ in busy]
        if len(busy) == 1:
            busy[0].work(todo, stop, maker, sender, outcomes[0])
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(len(self._connections), "smtp")
            futures = [
                self._pool.submit(connection.work, todo, stop, maker, sender, outcome)
                for connection, outcome in zip(busy, outcomes, strict=True)
            ]
            try:
                wait(futures)
            finally:
                stop.set()  # an interrupt: the others finish the message they are on
            for future in futures:
                future.result()  # a bug in a worker is raised here, not lost
        return _answer(outcomes)

    def close(self) -> None:
        """Say QUIT on every open connection."""
        for connection in self._connections:
            connection.close()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _answer(outcomes: list[Outcome]) -> BatchResult:
    """The batch's answer from every connection's: what each answered, every
    recipient left without an answer, and the most serious error (permanent, then
    ambiguous, then transient)."""
    result = BatchResult()
    for outcome in outcomes:
        result = result.then(
            BatchResult(outcome.accepted, outcome.refused, tuple(outcome.ambiguous))
        )
    return result.stopped(most_serious([o.error for o in outcomes if o.error is not None]))


def destination(s: SmtpSettings) -> str:
    scheme = "smtps" if s.security == "ssl" else "smtp"
    how = {"starttls": ", STARTTLS", "ssl": "", "none": ", no TLS"}[s.security]
    more = f", {s.connections} connections" if s.connections > 1 else ""
    return f"{scheme}://{s.host}:{s.port}{how}{more}"
