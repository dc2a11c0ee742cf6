"""The one WSGI server of `serve` and `preview --serve`: the standard library's, one
thread per request, on the address given.

It stops cleanly and at once: the accept loop looks for a stop every 50 ms; streams
are told to end (`on_stop`); requests in progress get a moment to finish (their log
lines are never lost), a client that connected and sent nothing gets none; a
connection still open after that is cut, and every request thread is joined before
`stop()` returns. A request's log line never holds its query
string (an unsubscribe link names the subscriber).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

POLL = 0.05  # seconds between looks for a stop
GRACE = 0.05  # seconds a request in progress gets to finish when the server stops
SETTLE = 0.04  # seconds a connection just accepted gets to send its request at stop


class _Handler(WSGIRequestHandler):
    server: _ThreadingServer

    def parse_request(self) -> bool:
        understood = super().parse_request()
        if understood:  # a request in progress: worth its grace when the server stops
            self.server.started(self.connection)
        return understood

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.log is not None:
            self.server.log(f"{self.command} {self.path.split('?', 1)[0]} {code}")

    def log_message(self, format: str, *args: Any) -> None:  # errors: not the query either
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = False  # joined on stop, so no request is cut off mid-answer
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], log: Callable[[str], None] | None) -> None:
        self.log = log
        self.open: set[socket.socket] = set()  # connections being handled
        self.busy: set[socket.socket] = set()  # of those, the ones with a request read
        self._guard = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._guard:
            self.open.add(request)
        super().process_request(request, client_address)

    def started(self, connection: socket.socket) -> None:
        with self._guard:
            self.busy.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._guard:
            self.open.discard(request)
            self.busy.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or was cut at stop) is no error worth a traceback."""

    def cut(self) -> None:
        with self._guard:
            still = list(self.open)
        for connection in still:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Server:
    """`app` served on `host`:`port` (0: any free port). Use `start()` to serve in the
    background, or `serve_forever()` in the foreground; `stop()` ends both."""

    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """`log` gets a line per request; `on_stop` tells long answers (event streams)
        to end. An address that cannot be listened on is an OSError, for the caller."""
        self._server = _ThreadingServer((host, port), log)
        self._server.set_app(app)
        self._on_stop = on_stop
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Server:
        self._thread = threading.Thread(target=self.serve_forever, name="wsgi", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self._server.serve_forever(poll_interval=POLL)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._serving or self._thread is not None:
            self._server.shutdown()  # the accept loop ends (at once if it ended already)
        if self._thread is not None:
            self._thread.join()
        if self._on_stop is not None:
            self._on_stop()
        now = time.monotonic()
        deadline, settle = now + GRACE, now + SETTLE
        while time.monotonic() < deadline and (  # not for idle clients, past a moment for
            self._server.busy or (self._server.open and time.monotonic() < settle)
        ):  # a request just accepted to be read
            time.sleep(0.005)
        self._server.cut()
        self._server.server_close()  # joins the request threads

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
