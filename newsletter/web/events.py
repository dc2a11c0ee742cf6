"""POST events/sendgrid: SendGrid's Event Webhook, beside [unsubscribe] url's path.

The request is checked whole before anything is recorded (events/webhook.py): signed
by the key in the environment variable `[sendgrid] webhook_public_key_env` names, and
signed within five minutes of now; otherwise 403 (400 for a body that is not a JSON
array), nothing recorded. Its events are recorded in one transaction (events/record.py)
and only then answered 204: a server that dies before the commit has answered nothing,
SendGrid posts again, and the events it had are recorded then, once. When the state
cannot be reached the answer is 503 (the app's), and SendGrid posts again later.

One log line a post, with counts and the ids of unknown events (never an address).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from newsletter.events.record import Recorded, record_events
from newsletter.events.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Refused,
    check,
    read_events,
    verifier,
)
from newsletter.project import Project
from newsletter.web.pages import Start

MAX_BODY = 2 * 1024 * 1024  # SendGrid posts batches of up to 768 KB
SHOWN_UNKNOWN = 5  # unknown events' ids a log line names
_PLAIN = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]


def sendgrid_events(project: Project, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] != "POST":
        start("405 Method Not Allowed", [("Allow", "POST"), *_PLAIN])
        return [b"POST only\n"]
    name = project.settings.sendgrid.webhook_public_key_env
    key_text = os.environ.get(name, "")
    if not key_text.strip():
        _log(f"refused: {name} is not set, so no event can be verified ([sendgrid] "
             "webhook_public_key_env)")  # fmt: skip
        return _answer(start, "404 Not Found", "the Event Webhook is not set up here")
    try:
        key = verifier(key_text)
    except ValueError as exc:
        _log(f"refused: {name}: {exc}")
        return _answer(start, "404 Not Found", "the Event Webhook is not set up here")
    try:
        body = _body(environ)
        text = check(body, environ.get(_wsgi(SIGNATURE_HEADER), ""),
                     environ.get(_wsgi(TIMESTAMP_HEADER), ""), key,
                     project.clock.now().timestamp())  # fmt: skip
        read = read_events(text)
    except Refused as exc:
        _log(f"refused ({exc.status[:3]}): {exc}")
        return _answer(start, exc.status, str(exc))
    recorded = record_events(project, read.events)
    _log(_summary(len(read.events) + read.malformed, recorded, read.malformed))
    start("204 No Content", [("Cache-Control", "no-store")])
    return [b""]


def _summary(count: int, recorded: Recorded, malformed: int) -> str:
    unknown = f"{recorded.unknown} unknown"
    if recorded.unknown_ids:
        more = len(recorded.unknown_ids) - SHOWN_UNKNOWN
        unknown += f" ({', '.join(recorded.unknown_ids[:SHOWN_UNKNOWN])}"
        unknown += f" and {more} more)" if more > 0 else ")"
    return (
        f"{count} events: {recorded.kept} recorded, {recorded.repeated} repeated, "
        f"{recorded.ignored} ignored, {unknown}, {malformed} unreadable; "
        f"{recorded.suppressed} suppressed, {recorded.settled} settled"
    )


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("400 Bad Request", "Content-Length is not a number") from None
    if length > MAX_BODY:
        raise Refused("413 Content Too Large", f"a post of {length:,} bytes, over {MAX_BODY:,}")
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _wsgi(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _answer(start: Start, status: str, text: str) -> list[bytes]:
    start(status, _PLAIN)
    return [text.encode() + b"\n"]


def _log(line: str) -> None:
    print(f"events/sendgrid: {line}", file=sys.stderr, flush=True)
