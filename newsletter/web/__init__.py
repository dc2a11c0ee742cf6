"""WEB: one WSGI application for the audience's side of the newsletter, the signed
unsubscribe links (unsubscribe.py, with its pages in pages.py), the preferences and
signup pages, SendGrid's Event Webhook (events.py), and /healthz for a load balancer
(health.py), behind the proxies it trusts (proxies.py). Run it under
any WSGI server as `newsletter.web:application` (the project folder from
$NEWSLETTER_PROJECT, else the current one), or with `newsletter serve` (server.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsletter.errors import NewsletterError, StateError
from newsletter.project import Project
from newsletter.settings import LIST_NAME
from newsletter.signing import PREFERENCES
from newsletter.state import Database
from newsletter.web.events import sendgrid_events
from newsletter.web.health import HEALTH, healthz, unhealthy
from newsletter.web.mailer import Mailer
from newsletter.web.pages import HEADERS, Page, Start
from newsletter.web.preferences import preferences
from newsletter.web.proxies import Proxies
from newsletter.web.signup import signup
from newsletter.web.unsubscribe import unsubscribe

EVENTS = "events/sendgrid"  # SendGrid's Event Webhook, beside the unsubscribe link's path
App = Callable[[dict[str, Any], Start], Iterable[bytes]]


def make_app(project_root: Path, mailer: Mailer | None = None) -> App:
    """The endpoint for one project (its settings and state are read per request, so
    an edited newsletter.toml or a new secret takes effect at once). `/healthz` says
    whether the state can be reached; [unsubscribe] url's path is the links', and
    subscribe/LIST beside it the signup pages'; any other path is 404. `mailer`
    sends the signups' confirmation mails (without one, `cron` does)."""

    opened = _Opened()

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        if mailer is not None:
            environ["newsletter.mailer"] = mailer.wake
        try:
            project = Project.open(project_root)
        except NewsletterError as exc:  # newsletter.toml broken: no words to answer in
            return _unavailable(environ, start, exc, None)
        with project:
            try:
                project.share_states(opened.states)
                Proxies(project.settings.serve.trusted_proxies).apply(environ)
                return _route(project, environ, start)
            except NewsletterError as exc:  # the project's state, not the request
                opened.forget()  # a connection lost: the next request opens a new one
                return _unavailable(environ, start, exc, Page(project.settings.newsletter))

    return app


def _route(project: Project, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    """/healthz, the unsubscribe link's path, or 404; from the project's own state
    only (another one's key would refuse every link sent so far: 503)."""
    health = environ.get("PATH_INFO") == HEALTH
    signup_page = _signup_path(project, environ)
    prefs = _pages_path(project, environ, PREFERENCES)
    events = _pages_path(project, environ, EVENTS)
    known = health or prefs or events or signup_page is not None
    if not known and not _unsubscribe_path(project, environ):
        page = Page(project.settings.newsletter)
        return page.answer(start, "404 Not Found", "missing_title", page.text("missing"))
    other = project.other_state()
    if other is not None:
        raise StateError(other)
    if health:
        return healthz(project, environ, start)
    if signup_page is not None:
        return signup(project, environ, start, *signup_page)
    if prefs:
        return preferences(project, environ, start)
    if events:
        return sendgrid_events(project, environ, start)
    return unsubscribe(project, environ, start)


def _pages_path(project: Project, environ: dict[str, Any], name: str) -> bool:
    """Whether the request is for the page `name` beside the unsubscribe link's path."""
    wanted = urlsplit(project.settings.unsubscribe.url).path.rsplit("/", 1)[0] + "/" + name
    path = environ.get("PATH_INFO", "") or "/"
    return path == wanted or environ.get("SCRIPT_NAME", "") + path == wanted


def _signup_path(project: Project, environ: dict[str, Any]) -> tuple[str, str] | None:
    """(list, "" or "confirm") of a request for subscribe/LIST[/confirm] beside the
    unsubscribe link's path, else None."""
    base = urlsplit(project.settings.unsubscribe.url).path.rsplit("/", 1)[0] + "/subscribe/"
    path = environ.get("PATH_INFO", "") or "/"
    for full in (path, environ.get("SCRIPT_NAME", "") + path):
        if full.startswith(base):
            name, _, rest = full[len(base) :].partition("/")
            if LIST_NAME.fullmatch(name):
                return name, rest
    return None


def _unsubscribe_path(project: Project, environ: dict[str, Any]) -> bool:
    """Whether the request is for [unsubscribe] url's path (mounted at it, or below
    a prefix the server strips)."""
    wanted = urlsplit(project.settings.unsubscribe.url).path or "/"
    path = environ.get("PATH_INFO", "") or "/"
    return path == wanted or environ.get("SCRIPT_NAME", "") + path == wanted


def _unavailable(
    environ: dict[str, Any], start: Start, error: NewsletterError, page: Page | None
) -> Iterable[bytes]:
    """503, try again later: logged (one line, which names no reader), and nothing
    changed; in the newsletter's words when its settings could be read."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    if environ.get("PATH_INFO") == HEALTH:
        return unhealthy(start)
    status, later = "503 Service Unavailable", (("Retry-After", "30"),)
    if page is None:
        start(status, [*later, *HEADERS])
        return [b"<!DOCTYPE html><title>Error</title><p>Please try again later.</p>"]
    return page.answer(start, status, "down_title", page.text("down"), later)


class _Opened(threading.local):
    """Each thread's open states (by URL): a connection a thread, kept from request
    to request, instead of a connection (and a migration check) a request."""

    def __init__(self) -> None:
        self.states: dict[str, Database] = {}

    def forget(self) -> None:
        for state in self.states.values():
            with contextlib.suppress(Exception):
                state.close()
        self.states.clear()


_APPS: dict[Path, App] = {}


def application(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    """For WSGI servers: the project in $NEWSLETTER_PROJECT, else the current folder."""
    root = Path(os.environ.get("NEWSLETTER_PROJECT", ".")).resolve()
    if root not in _APPS:
        _APPS[root] = make_app(root, Mailer(root))
    return _APPS[root](environ, start)
