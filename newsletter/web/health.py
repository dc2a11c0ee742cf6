"""`GET /healthz`, for a load balancer or a monitor: 200 when this process can reach
the project's state (it reads it), 503 otherwise; says nothing else of the state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from newsletter.project import Project
from newsletter.web.pages import Start

HEALTH = "/healthz"
_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]


def healthz(project: Project, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        start("405 Method Not Allowed", [("Allow", "GET, HEAD"), *_HEADERS])
        return [b""]
    project.state.engine.value("SELECT count(*) FROM migrations")  # a StateError: 503
    start("200 OK", _HEADERS)
    return [b"ok\n"]


def unhealthy(start: Start) -> Iterable[bytes]:
    start("503 Service Unavailable", [("Retry-After", "10"), *_HEADERS])
    return [b"unavailable: the state cannot be reached\n"]
