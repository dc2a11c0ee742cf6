"""The official `sendgrid` client, made safe to hand our API key to: it follows no
redirect (urllib would follow one with the Authorization header, the key, to wherever
it points, and count what that answered), every request has a deadline in all (a
server trickling its answer would otherwise hold a send for ever), and the client's
logger stays above DEBUG (it logs "Authorization: Bearer <key>" there). SendGrid's
error answers are mapped to ours here, for sending and for reading alike.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import logging
import socket
import threading
import time
import urllib.request
from typing import Any

from newsletter.clock import Clock
from newsletter.errors import PermanentError, TransientError, TransportError

TRANSIENT = frozenset({429, 500, 502, 503, 504})


def endpoint(api_key: str, host: str, timeout: float, *path: str) -> Any:
    """The client's endpoint for `path` (e.g. "mail", "send"), through our opener."""
    from sendgrid import SendGridAPIClient

    logging.getLogger("python_http_client").setLevel(logging.WARNING)
    found = SendGridAPIClient(api_key=api_key, host=host).client
    for part in path:
        found = found._(part)
    opener = _opener(timeout)
    found._make_request = functools.partial(_with_opener, found, opener)
    return found


def post_json(endpoint: Any, body: bytes, timeout: float) -> Any:
    """POST a JSON body already encoded, through the client's own request machinery
    (its URL, headers with the key, error answers and Response), without its
    `http_request` wrapper: that one encodes the body itself and formats all of it
    into a debug message, logged or not, on every request (a tenth of a send's time).
    Raises what the client raises: its HTTPError for an error answer, urllib's
    URLError when the request cannot be sent, and any error of the connection."""
    from python_http_client.client import Response

    headers = {**endpoint.request_headers, "Content-Type": "application/json"}
    request = urllib.request.Request(endpoint._build_url(None), body, headers, method="POST")
    return Response(endpoint._make_request(None, request, timeout=timeout))


def answer_error(exc: Any, clock: Clock, path: str = "") -> TransportError:
    """SendGrid's error answer (the client's HTTPError) as ours, with its message: a 429
    is transient, after its X-RateLimit-Reset; a 5xx transient; the rest permanent."""
    status = int(exc.status_code)
    detail = _api_message(getattr(exc, "body", b""))
    message = f"SendGrid answered {status}" + (f" to {path}" if path else "")
    message += f": {detail}" if detail else ""
    if status == 429:
        reset = header(getattr(exc, "headers", None), "X-RateLimit-Reset")
        try:  # a Unix time; never trust it to be in the future or near
            wait: float | None = max(1.0, float(reset) - clock.now().timestamp())
        except ValueError:
            wait = None
        return TransientError(message, status=status, retry_after=wait)
    if status in TRANSIENT or status >= 500:
        return TransientError(message, status=status)
    return PermanentError(message, status=status)


def _api_message(body: bytes | str | None) -> str:
    """`errors[].message` (and `field`) from SendGrid's error body, as one line."""
    if not body:
        return ""
    try:
        data = json.loads(body)
        parts = []
        for error in data.get("errors", []):
            text = str(error.get("message") or "").strip()
            if error.get("field"):
                text += f" (field {error['field']})"
            parts.append(text)
        return "; ".join(p for p in parts if p)[:1000]
    except (ValueError, AttributeError, TypeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return " ".join(text.split())[:300]


def header(headers: Any, name: str) -> str:
    if headers is None:
        return ""
    value = headers.get(name) if hasattr(headers, "get") else None
    return str(value or "").strip()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Watchdog:
    """Cuts the connections whose time is up: one thread for all of them, started when
    first needed, instead of a timer thread for every request."""

    def __init__(self) -> None:
        self._due: dict[Any, float] = {}  # connection -> when it is cut (monotonic)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, connection: Any, seconds: float) -> None:
        with self._changed:
            self._due[connection] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadline", daemon=True)
                self._thread.start()
            self._changed.notify()

    def forget(self, connection: Any) -> None:
        with self._changed:
            self._due.pop(connection, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [c for c, due in self._due.items() if due <= now]
                for connection in late:
                    del self._due[connection]
                wait = min(self._due.values(), default=now + 3600) - now
                if not late:
                    self._changed.wait(wait)
                    continue
            for connection in late:
                connection.cut()


_WATCHDOG = _Watchdog()


class _Deadline:
    """A connection that is cut once `total` seconds have passed since it was made: the
    socket timeout bounds each wait, this bounds the whole request."""

    total = 30.0
    sock: socket.socket | None
    _socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # a mixin: super() is HTTP(S)Connection
        self._socket = self.sock  # urllib lets go of .sock before the body is read
        _WATCHDOG.watch(self, self.total)

    def cut(self) -> None:
        with contextlib.suppress(OSError):  # closed already: nothing to cut
            if self._socket is not None:
                self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        _WATCHDOG.forget(self)
        super().close()  # type: ignore[misc]  # a mixin: super() is HTTP(S)Connection


def _opener(total: float) -> urllib.request.OpenerDirector:
    """urllib's opener with no redirects and a deadline on every request."""
    http_class: Any = type("HTTP", (_Deadline, http.client.HTTPConnection), {"total": total})
    https_class: Any = type("HTTPS", (_Deadline, http.client.HTTPSConnection), {"total": total})

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_class, req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            context = self._context  # type: ignore[attr-defined]  # not in typeshed's stub
            return self.do_open(https_class, req, context=context)

    return urllib.request.build_opener(_NoRedirect, HTTP, HTTPS)


def _with_opener(
    endpoint: Any, opener: urllib.request.OpenerDirector, _: Any, request: Any, timeout: Any = None
) -> Any:
    """python_http_client's request, through our opener instead of urllib's default."""
    return type(endpoint)._make_request(endpoint, opener, request, timeout=timeout)
