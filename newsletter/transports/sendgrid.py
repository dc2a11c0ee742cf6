"""The SendGrid transport: one v3 Mail Send request per batch of up to 1000, through
the official `sendgrid` client, with SendGrid doing the per-recipient substitution.

Where a failure happens decides what it means (see the client's notes):
- an HTTP error answer: 429 and 5xx are transient (retried by the send loop, a 429
  after its X-RateLimit-Reset), 400/401/403/413 and the rest permanent, with the
  API's own message;
- failing to connect or to send the request (urllib wraps it in URLError): nothing
  can have been accepted, transient;
- the answer never coming (a read timeout, the connection dropped after the request
  went out): SendGrid may have accepted the batch, so it is ambiguous and never
  resent by itself.
The API key is used for the Authorization header and nowhere else: it is never in
a message, a log line or a file. The client logs request headers at DEBUG, so its
logger is kept above that.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

from newsletter.clock import Clock
from newsletter.errors import AmbiguousError, PermanentError, TransientError, TransportError
from newsletter.settings import SendgridSettings
from newsletter.transports.base import Accepted, Batch
from newsletter.transports.sendgrid_payload import build_payload

TRANSIENT = frozenset({429, 500, 502, 503, 504})


class SendgridTransport:
    name = "sendgrid"
    batch_size = 1000

    def __init__(
        self, settings: SendgridSettings, api_key: str, clock: Clock, timeout: float = 30.0
    ) -> None:
        """`timeout`: seconds one request may take (the client has no limit of its own)."""
        from sendgrid import SendGridAPIClient

        # python_http_client logs "Authorization: Bearer <key>" at DEBUG: never let it.
        logging.getLogger("python_http_client").setLevel(logging.WARNING)
        self.settings = settings
        self.clock = clock
        self.timeout = timeout
        # The Mail Send endpoint's client, made to refuse redirects (urllib would follow
        # one with the Authorization header, the key, to wherever it points, and count
        # what that answered; a 3xx is an error answer instead) and to give up on a
        # request that takes longer than `timeout` in all.
        self._endpoint = SendGridAPIClient(api_key=api_key, host=settings.host).client.mail.send
        opener = _opener(timeout)
        self._endpoint._make_request = functools.partial(_with_opener, self._endpoint, opener)

    def destination(self, issue_id: str, test: bool = False) -> str:
        sandbox = ", sandbox mode" if self.settings.sandbox else ""
        return f"SendGrid at {self.settings.host}{sandbox}"

    def send(self, batch: Batch) -> Accepted:
        payload = build_payload(batch, self.settings)
        if not payload.recipients:
            return Accepted({}, payload.refused)
        from python_http_client.exceptions import HTTPError as Answer

        count = len(payload.recipients)
        try:
            response = self._endpoint.post(request_body=payload.body, timeout=self.timeout)
        except Answer as exc:  # SendGrid answered with an error status
            raise self._answer_error(exc, count) from None
        except urllib.error.URLError as exc:  # connecting or sending: nothing accepted
            reason = getattr(exc, "reason", exc)
            raise TransientError(
                f"cannot reach SendGrid at {self.settings.host}: {reason}"
            ) from None
        except Exception as exc:  # after the request went out: it may have been accepted
            raise AmbiguousError(
                f"no answer from SendGrid for a batch of {count} recipients "
                f"({type(exc).__name__}: {exc or 'connection closed'}); SendGrid may have "
                "accepted it, so it is not sent again"
            ) from None
        expected = 200 if self.settings.sandbox else 202
        if response.status_code != expected:
            raise AmbiguousError(
                f"SendGrid answered {response.status_code}, not the {expected} that means "
                f"accepted, for a batch of {count} recipients; it is not sent again"
            )
        message_id = _header(response.headers, "X-Message-Id") or "(no X-Message-Id)"
        ids = dict.fromkeys(payload.recipients, message_id)
        return Accepted(ids, payload.refused, batch_id=message_id)

    def close(self) -> None:
        pass

    def _answer_error(self, exc: Any, count: int) -> Exception:
        error = answer_error(exc, self.clock)
        if isinstance(error, PermanentError):
            return PermanentError(f"{error.message} (a batch of {count} recipients)",
                                  status=error.status)  # fmt: skip
        return error


def answer_error(exc: Any, clock: Clock, path: str = "") -> TransportError:
    """SendGrid's error answer (the client's HTTPError) as ours, with its message: a 429
    is transient, after its X-RateLimit-Reset; a 5xx transient; the rest permanent."""
    status = int(exc.status_code)
    detail = _api_message(getattr(exc, "body", b""))
    message = f"SendGrid answered {status}" + (f" to {path}" if path else "")
    message += f": {detail}" if detail else ""
    if status == 429:
        reset = _header(getattr(exc, "headers", None), "X-RateLimit-Reset")
        try:  # a Unix time; never trust it to be in the future or near
            wait = max(1.0, float(reset) - clock.now().timestamp())
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


def _header(headers: Any, name: str) -> str:
    if headers is None:
        return ""
    value = headers.get(name) if hasattr(headers, "get") else None
    return str(value or "").strip()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Deadline:
    """A connection that is cut once `total` seconds have passed since it was made: the
    socket timeout bounds each wait, this bounds the whole request (a server trickling
    its answer byte by byte would otherwise hold a send for ever)."""

    total = 30.0

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._timer = threading.Timer(self.total, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]

    def close(self) -> None:
        if timer := getattr(self, "_timer", None):
            timer.cancel()
        super().close()  # type: ignore[misc]


def _opener(total: float) -> urllib.request.OpenerDirector:
    """urllib's opener with no redirects and a deadline on every request."""
    http_class = type("HTTP", (_Deadline, http.client.HTTPConnection), {"total": total})
    https_class = type("HTTPS", (_Deadline, http.client.HTTPSConnection), {"total": total})

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_class, req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(https_class, req, context=self._context)

    return urllib.request.build_opener(_NoRedirect, HTTP, HTTPS)


def _with_opener(
    endpoint: Any, opener: urllib.request.OpenerDirector, _: Any, request: Any, timeout: Any = None
) -> Any:
    """python_http_client's request, through our opener instead of urllib's default."""
    return type(endpoint)._make_request(endpoint, opener, request, timeout=timeout)
