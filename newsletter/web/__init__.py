"""WEB: one WSGI application for the audience's side of the newsletter, the signed
unsubscribe links today (unsubscribe.py, with its pages in pages.py), and /healthz
for a load balancer (health.py), behind the proxies it trusts (proxies.py). Run it under
any WSGI server as `newsletter.web:application` (the project folder from
$NEWSLETTER_PROJECT, else the current one), or with `newsletter serve` (server.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError
from newsletter.project import Project
from newsletter.web.health import HEALTH, healthz, unhealthy
from newsletter.web.pages import HEADERS, Start
from newsletter.web.proxies import Proxies
from newsletter.web.unsubscribe import unsubscribe

App = Callable[[dict[str, Any], Start], Iterable[bytes]]


def make_app(project_root: Path) -> App:
    """The endpoint for one project (its settings and state are read per request, so
    an edited newsletter.toml or a new secret takes effect at once). `/healthz` says
    whether the state can be reached; every other path is the unsubscribe link's."""

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        try:
            with Project.open(project_root) as project:
                Proxies(project.settings.serve.trusted_proxies).apply(environ)
                if environ.get("PATH_INFO") == HEALTH:
                    return healthz(project, environ, start)
                return unsubscribe(project, environ, start)
        except NewsletterError as exc:  # the project's settings or state, not the request
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            if environ.get("PATH_INFO") == HEALTH:
                return unhealthy(start)
            start("503 Service Unavailable", [("Retry-After", "30"), *HEADERS])
            return [b"<!DOCTYPE html><title>Error</title><p>Please try again later.</p>"]

    return app


def application(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    """For WSGI servers: the project in $NEWSLETTER_PROJECT, else the current folder."""
    root = Path(os.environ.get("NEWSLETTER_PROJECT", ".")).resolve()
    return make_app(root)(environ, start)
