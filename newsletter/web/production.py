"""The production server of `newsletter serve`: waitress, with every request bounded.

waitress reads each request whole in one event loop before a worker thread sees it,
so a slow or partial request holds a socket, never a thread; on top of its own
limits (header and body size, idle connections, open connections) a request must
arrive whole within `Limits.request_time` of its first byte, or its connection is
cut: a client trickling a byte every few seconds, or announcing a Content-Length it
never sends, no longer holds a place for long. Beyond `Limits.connections` open
connections new ones wait in the kernel's backlog until a place is free.

One log line a request (`POST /unsubscribe 200`), never its query string: an
unsubscribe link names the subscriber. It stops at once on `stop()` (or SIGTERM, from
the command), after the requests in progress have been answered.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer

GRACE = 5.0  # seconds the requests in progress get to be answered when it stops
LOOP = 0.05  # seconds between looks for a stop


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server. The audience's requests are small (a
    link with its token, a one-line form: each page reads a few KB of a body at most);
    SendGrid's events come in posts of up to 768 KB."""

    request_time: float = 10.0  # seconds from a request's first byte to its last
    idle_time: float = 30.0  # seconds a kept-alive connection may wait for its next one
    connections: int = 500  # open at once; more wait in the backlog
    header_bytes: int = 16 * 1024
    body_bytes: int = 2 * 1024 * 1024
    threads: int = 4

    def adjustments(self) -> dict[str, Any]:
        return {
            "connection_limit": self.connections,
            "channel_timeout": self.idle_time,
            "cleanup_interval": min(1.0, self.request_time / 2),
            "max_request_header_size": self.header_bytes,
            "max_request_body_size": self.body_bytes,
            "threads": self.threads,
            "asyncore_loop_timeout": LOOP,
            "ident": "newsletter",
        }


class _TimedParser(HTTPRequestParser):
    """A request being read, with the moment its first byte came."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.began = time.monotonic()


class _Channel(HTTPChannel):
    parser_class = _TimedParser


class _Server(TcpWSGIServer):
    channel_class = _Channel
    request_time = Limits.request_time

    def maintenance(self, now: float) -> None:
        """waitress closes idle connections; this also cuts those whose request has
        taken too long to arrive."""
        super().maintenance(now)
        late = time.monotonic() - self.request_time
        for channel in list(self.active_channels.values()):
            reading = channel.request
            if reading is not None and not channel.requests and reading.began < late:
                channel.will_close = True


def _logged(app: Callable[..., Any], log: Callable[[str], None]) -> Callable[..., Any]:
    """The app, with a line logged for each request: method, path, status and time;
    never the query (it names the subscriber), the address or a token."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        began = time.monotonic()

        def start(status: str, headers: list[tuple[str, str]], *info: Any) -> Any:
            took = (time.monotonic() - began) * 1000
            path = "".join(c if c.isprintable() else "?" for c in environ.get("PATH_INFO", ""))
            log(f"{environ.get('REQUEST_METHOD')} {path[:200]} {status[:3]} {took:.0f} ms")
            return start_response(status, headers, *info)

        return app(environ, start)

    return logged


def line_log(stream: TextIO | None = None) -> Callable[[str], None]:
    """Whole lines to `stream` (stderr), one thread at a time: lines never mix."""
    lock = threading.Lock()

    def log(line: str) -> None:
        out = stream or sys.stderr
        with lock:
            out.write(line + "\n")
            out.flush()

    return log


class Endpoint:
    """`app` served by waitress on `host`:`port` (0: any free port), within `limits`.
    `start()` serves in the background, `serve_forever()` in the foreground; `stop()`
    ends both. An address that cannot be listened on is an OSError, for the caller."""

    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] | None = None,
        limits: Limits = Limits(),
    ) -> None:
        wrapped = _logged(app, log) if log is not None else app
        # "Task queue depth is N": requests waiting for a thread, as they should under
        # load; not a line per request in the log
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._server = _Server(wrapped, host=host, port=port, **limits.adjustments())
        self._server.request_time = limits.request_time
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> Endpoint:
        self._thread = threading.Thread(target=self.serve_forever, name="waitress", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        loop, server = self._server.asyncore, self._server
        try:
            while not self._stopping.is_set():
                loop.loop(timeout=LOOP, map=server._map, count=1)
            server.accepting = False  # no new connection; answer those in progress
            deadline = time.monotonic() + GRACE
            while _answering(server) and time.monotonic() < deadline:
                loop.loop(timeout=LOOP, map=server._map, count=1)
        finally:
            for channel in list(server._map.values()):
                channel.close()
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=GRACE)
            self._done.set()

    def stop(self) -> None:
        """Stop (from any thread, or a signal handler) and wait until it has."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _answering(server: _Server) -> bool:
    """A request is being answered, or its answer is still being written."""
    return any(c.requests or c.total_outbufs_len for c in server.active_channels.values())
