"""A local SendGrid-like server for tests: POST /v3/mail/send on 127.0.0.1.

It answers like SendGrid (202 with X-Message-Id; its 400 error body; 401 without
the bearer key; 413; 429 with X-RateLimit-* headers), enforces the API's documented
limits that a schema cannot express (shared/sendgrid-openapi/README.md), records
what it accepted, and injects faults on request: "429", "500", "400", "200" (an
unexpected status for an accepted request), "drop" (the
request is accepted, then the connection is closed without an answer) and "slow"
(accepted, answered after the client's timeout), "trickle" (accepted, answered a
byte at a time, for ever); `refuse_for(seconds)` stops
listening for a while so connections are refused.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_REQUEST = 30 * 1024 * 1024
UNAUTHORIZED = "The provided authorization grant is invalid, expired, or revoked"
STATUS_MESSAGES = {
    "403": "access forbidden",
    "413": "The JSON payload you have included in your request is too large.",
    "500": "Internal server error",
    "502": "Bad gateway",
    "503": "Service unavailable",
}
RESERVED = {
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
    "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc",
}  # fmt: skip


class Rejected(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check(body: Any) -> None:
    """The API's rules for a mail send request; raises Rejected like a 400."""
    if not isinstance(body, dict):
        raise Rejected("The request body must be a JSON object")
    people = body.get("personalizations")
    if not isinstance(people, list) or not 1 <= len(people) <= 1000:
        raise Rejected("The personalizations field must hold 1 to 1000 items", "personalizations")
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        raise Rejected("The from object must be provided for every email send.", "from.email")
    seen: set[str] = set()
    total = sum(_check_person(f"personalizations.{n}", p, body, seen) for n, p in enumerate(people))
    if total > 1000:
        raise Rejected("A request may hold at most 1000 recipients", "personalizations")
    _check_headers(body.get("headers", {}), "headers")
    categories = body.get("categories", [])
    if len(categories) > 10 or any(len(c) > 255 for c in categories):
        raise Rejected("At most 10 categories of at most 255 characters", "categories")
    args = body.get("custom_args", {})
    if not isinstance(args, dict) or len(json.dumps(args)) >= 10_000:
        raise Rejected("custom_args must be an object under 10,000 bytes", "custom_args")
    if "send_at" in body and body["send_at"] > time.time() + 72 * 3600:
        raise Rejected("send_at may be at most 72 hours ahead", "send_at")
    content = body.get("content", [])
    if not content or any(not c.get("value") for c in content):
        raise Rejected(
            "The content value must be a string at least one character in length.",
            "content.0.value",
        )


def _check_person(where: str, person: dict, body: dict, seen: set[str]) -> int:
    """One personalization's rules; returns how many recipients it has."""
    boxes = [*person.get("to", []), *person.get("cc", []), *person.get("bcc", [])]
    if not person.get("to"):
        raise Rejected("The to array is required for all personalization objects", where)
    for box in boxes:
        _check_box(box, f"{where}.to", seen)
    subs = person.get("substitutions", {})
    if any(not isinstance(v, str) for v in subs.values()):
        raise Rejected("Substitution values must be strings", f"{where}.substitutions")
    if sum(len(k.encode()) + len(v.encode()) for k, v in subs.items()) > 10_000:
        raise Rejected(
            "Substitutions may not exceed 10,000 bytes per personalization",
            f"{where}.substitutions",
        )
    _check_headers(person.get("headers", {}), f"{where}.headers")
    if not (person.get("subject") or body.get("subject")):
        raise Rejected("The subject is required", f"{where}.subject")
    return len(boxes)


def _check_box(box: dict, where: str, seen: set[str]) -> None:
    email = str(box.get("email", "")).lower()
    if email in seen:
        raise Rejected(
            "Each email address in the personalization block should be unique between to, "
            "cc, and bcc.",
            where,
        )
    seen.add(email)
    name = box.get("name")
    quoted = re.fullmatch(r'"(?:[^"\\]|\\.)*"', name or "")
    if name and ("," in name or ";" in name) and not quoted:
        raise Rejected("Recipient names containing , or ; must be quoted", where)


def _check_headers(headers: dict, where: str) -> None:
    for header in headers:
        if header.lower() in RESERVED:
            raise Rejected(f"The header {header} is reserved", where)


class FakeSendGrid:
    def __init__(self, api_key: str = "SG.test-key-0123456789") -> None:
        self.api_key = api_key
        self.faults: list[str] = []
        self.slow_seconds = 2.0
        self.reset_in = 1  # seconds from now in a 429's X-RateLimit-Reset
        self.redirect_to = ""  # where a "303" fault sends the client
        self.accepted: list[dict[str, Any]] = []  # request bodies SendGrid would send
        self.requests = 0
        # Suppression lists, as SendGrid keeps them: kind -> [{"email", "created", ...}]
        self.suppressions: dict[str, list[dict[str, Any]]] = {
            kind: [] for kind in ("unsubscribes", "bounces", "spam_reports", "blocks",
                                  "invalid_emails")
        }  # fmt: skip
        self.groups: dict[int, list[str]] = {}  # unsubscribe group id -> addresses
        self.gets: list[str] = []  # the GET requests' paths with their queries
        self.get_faults: list[str] = []  # "429" or "500" for the next GETs
        self.lock = threading.Lock()
        self.port = _free_port()
        self._server: ThreadingHTTPServer | None = None
        self._back: threading.Timer | None = None  # refuse_for: when it listens again
        self._start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, *faults: str) -> None:
        with self.lock:
            self.faults.extend(faults)

    def accepted_emails(self) -> list[str]:
        return [
            box["email"]
            for body in self.accepted
            for p in body["personalizations"]
            for box in p["to"]
        ]

    def refuse_for(self, seconds: float) -> None:
        """Stop listening now; listen again on the same port after `seconds`."""
        self._stop()
        self._back = threading.Timer(seconds, self._start)
        self._back.start()

    def close(self) -> None:
        if self._back is not None:
            self._back.cancel()  # not listening again after its test
        self._stop()

    def __enter__(self) -> FakeSendGrid:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        server = _Server(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def _fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            return self.faults.pop(0) if self.faults else None


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up on a slow answer (as the tests make it) leaves the
        handler writing to a closed socket, maybe after its test ended: not worth a
        traceback in whatever test's output is being captured then."""


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeSendGrid
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        fake = self.server_fake
        if self.path != "/v3/mail/send":
            return self._answer(404, {"errors": [{"message": "not found", "field": None}]})
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._answer(
                401,
                {
                    "errors": [
                        {
                            "message": UNAUTHORIZED,
                            "field": None,
                            "help": None,
                        }
                    ]
                },
            )
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if length > MAX_REQUEST:
            return self._answer(413, {"errors": [{"message": "Payload too large", "field": None}]})
        fault = fake._fault()
        if self._answered_by(fault):
            return None
        try:
            body = json.loads(raw)
            check(body)
        except ValueError:
            return self._answer(400, {"errors": [{"message": "Bad Request", "field": None}]})
        except Rejected as exc:
            return self._answer(
                400, {"errors": [{"message": str(exc), "field": exc.field, "help": None}]}
            )
        with fake.lock:
            fake.accepted.append(body)
        if self._lost_answer(fault):
            return None
        sandbox = body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable")
        sandbox = sandbox or fault == "200"
        return self._answer(200 if sandbox else 202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

    def _lost_answer(self, fault: str | None) -> bool:
        """The body was taken: lose the answer as injected (dropped, slow, trickled)."""
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault == "slow":
            time.sleep(self.server_fake.slow_seconds)
        if fault == "trickle-body":  # the answer's head at once, then its body byte by byte
            head = b"HTTP/1.1 202 Accepted\r\nX-Message-Id: abc\r\nContent-Length: 100\r\n\r\n"
            self._trickle(head, b"x" * 100)
            return True
        if fault == "trickle":  # a byte every 0.3 s: never a read timeout, never done
            self._trickle(b"", b"HTTP/1.1 202 Accepted\r\nX-Message-Id: abc\r\n" * 3)
            return True
        return False

    def _trickle(self, head: bytes, tail: bytes) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(head)
            for byte in tail:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.3)

    def _answered_by(self, fault: str | None) -> bool:
        """Answer with the injected error, if it is one that comes before the body."""
        fake = self.server_fake
        if fault == "429":
            reset = str(int(time.time()) + fake.reset_in)
            headers = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": reset}  # fmt: skip
            self._answer(429, {"errors": [{"field": None, "message": "too many requests"}]},
                         headers)  # fmt: skip
        elif fault == "303":
            self._answer(303, None, {"Location": fake.redirect_to})
        elif fault in STATUS_MESSAGES:
            message = STATUS_MESSAGES[fault]
            self._answer(int(fault), {"errors": [{"message": message, "field": None}]})
        elif fault == "400":
            message = "The from address does not match a verified Sender Identity."
            self._answer(400, {"errors": [{"message": message, "field": "from", "help": None}]})
        else:
            return False
        return True

    def do_GET(self) -> None:
        """The suppression lists: paged with limit (at most 500) and offset, filtered
        by start_time and end_time (Unix seconds, inclusive); group unsubscribes."""
        fake = self.server_fake
        with fake.lock:
            fake.gets.append(self.path)
            fault = fake.get_faults.pop(0) if fake.get_faults else None
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._answer(401, {"errors": [{"message": UNAUTHORIZED, "field": None}]})
        if fault == "429":
            reset = str(int(time.time()) + fake.reset_in)
            return self._answer(429, {"errors": [{"field": None, "message": "too many requests"}]},
                                {"X-RateLimit-Reset": reset})  # fmt: skip
        if fault == "500":
            return self._answer(500, {"errors": [{"message": "internal error", "field": None}]})
        parts = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        group = re.fullmatch(r"/v3/asm/groups/(\d+)/suppressions", parts.path)
        if group:
            return self._answer(200, fake.groups.get(int(group.group(1)), []))
        kind = re.fullmatch(r"/v3/suppression/(\w+)", parts.path)
        if not kind or kind.group(1) not in fake.suppressions:
            return self._answer(404, {"errors": [{"message": "not found", "field": None}]})
        try:
            limit = int(query.get("limit", 500))
            offset = int(query.get("offset", 0))
            start = int(query.get("start_time", 0))
            end = int(query.get("end_time", 2**62))
        except ValueError:
            return self._answer(400, {"errors": [{"message": "invalid query", "field": None}]})
        if not 1 <= limit <= 500:
            return self._answer(400, {"errors": [{"field": "limit", "message":
                                "limit should be an integer between 1 and 500"}]})  # fmt: skip
        rows = [r for r in fake.suppressions[kind.group(1)] if start <= r["created"] <= end]
        rows.sort(key=lambda r: -r["created"])  # newest first, as SendGrid lists them
        return self._answer(200, rows[offset : offset + limit])

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
