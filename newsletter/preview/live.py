"""`preview --serve`: a local page showing the issue as one subscriber gets it, that
reloads itself when an article, template, CSS, the list or the settings change.

A WSGI application (served by web/server.py on 127.0.0.1) over a LivePreview, which
renders on change and wakes the pages waiting on /events (server-sent events). A
render error is shown on the page; the server keeps running and shows the next good
render. Each render is also linted by the `lint` it is given (the command's wiring
passes `newsletter check`'s own, check/ being a floor above this one), and the page
shows its errors and warnings beside the email, from the same render.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.audience.targeting import Targeting
from newsletter.clock import Clock
from newsletter.errors import NewsletterError
from newsletter.message import MessageMaker, header_values
from newsletter.preview import Sample, make_sample
from newsletter.project import Project
from newsletter.render import PACKAGE_TEMPLATES
from newsletter.render.issue_view import IssueFields

if TYPE_CHECKING:
    from newsletter.check import CheckReport

PAGE = Path(__file__).with_name("page.html")
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 15.0
DARK_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)

Lint = Callable[[Project, Sample], "CheckReport"]  # check.command_check


@dataclass(frozen=True)
class Snapshot:
    """One render of the issue, or the error that stopped it."""

    version: int
    html: str = ""
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    check: dict[str, Any] | None = None  # what the lint found in this render (None: no lint)


class LivePreview:
    """Renders the issue when a file it depends on changes; pages wait on `wait`."""

    def __init__(
        self,
        root: Path,
        articles: Sequence[Path],
        list_name: Targeting | str | None = None,
        as_email: str | None = None,
        issue_id: str | None = None,
        overrides: IssueFields | None = None,
        lint: Lint | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.root = root
        self.overrides = overrides
        self.lint, self.clock = lint, clock
        self.articles = [a if a.is_absolute() else Path.cwd() / a for a in articles]
        self.list_name, self.as_email, self.issue_id = list_name, as_email, issue_id
        self._changed = threading.Condition()
        self._rendering = threading.Lock()
        self._stamp: tuple = ()
        self.closed = threading.Event()
        self.current = Snapshot(0, error="not rendered yet")
        self.refresh()

    def close(self) -> None:
        """Stop watching, and wake every page waiting for a change (its stream ends)."""
        self.closed.set()
        with self._changed:
            self._changed.notify_all()

    @contextlib.contextmanager
    def watching(self, every: float = POLL_SECONDS) -> Iterator[LivePreview]:
        """Watch the files in a thread of its own while the block runs."""
        thread = threading.Thread(target=self.watch, args=(every,), name="watch", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.close()
            thread.join()

    def watched(self) -> list[Path]:
        """Every file a render reads: articles, templates and CSS (the project's and
        the package's), the lists, the settings."""
        folders = [self.root / "templates", PACKAGE_TEMPLATES, self.root / "subscribers"]
        files = [*self.articles, self.root / "newsletter.toml"]
        for folder in folders:
            if folder.is_dir():
                files += sorted(p for p in folder.rglob("*") if p.is_file())
        return files

    def _stamp_now(self) -> tuple:
        stamp: list[tuple[str, int | None, int | None]] = []
        for path in self.watched():
            try:
                info = path.stat()
                stamp.append((str(path), info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append((str(path), None, None))
        return tuple(stamp)

    def refresh(self) -> bool:
        """Render again if anything changed; True when it did (one caller at a time:
        the watcher, or a test)."""
        with self._rendering:
            stamp = self._stamp_now()
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            render = self._render(self.current.version + 1)
            with self._changed:
                self.current = render
                self._changed.notify_all()
            return True

    def _render(self, version: int) -> Snapshot:
        try:
            with Project.open(self.root, clock=self.clock) as project:
                preview = make_sample(project, self.articles, self.list_name, self.as_email,
                                      self.issue_id, self.overrides)  # fmt: skip
                maker = MessageMaker(preview.rendered, preview.envelope, project.clock.now())
                _, message = maker.make(preview.recipient)
                check = self._check(project, preview)
        except NewsletterError as exc:
            return Snapshot(version, error=" ".join(str(exc).split()))
        headers = header_values(message)
        meta = {
            "subject": preview.copy.subject,
            "from": headers.get("from", ""),
            "to": headers.get("to", ""),
            "reply_to": headers.get("reply-to", ""),
            "preheader": preview.rendered.preheader,
            "list_unsubscribe": headers.get("list-unsubscribe", ""),
            "list_unsubscribe_post": headers.get("list-unsubscribe-post", ""),
            "html_bytes": len(preview.copy.html.encode()),
            "issue": preview.rendered.id,
        }
        return Snapshot(version, preview.copy.html, preview.copy.text, meta, check=check)

    def _check(self, project: Project, sample: Sample) -> dict[str, Any] | None:
        """What the lint finds in this copy: its errors and warnings (notes only
        counted, as `check` does without --all); a check that stops says why, and the
        email still shows."""
        if self.lint is None:
            return None
        started = time.perf_counter()
        try:
            report = self.lint(project, sample)
        except NewsletterError as exc:
            return {"error": " ".join(str(exc).split())}
        shown = [f.data() for f in report.findings if f.severity != "note"]
        return {
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "notes": len(report.findings) - len(shown),
            "findings": shown,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def wait(self, version: int, timeout: float) -> Snapshot:
        """The current render once its version differs from `version`, or after
        `timeout` seconds, or at once when the preview is closed."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.current.version != version or self.closed.is_set(), timeout
            )
            return self.current

    def watch(self, every: float = POLL_SECONDS) -> None:
        while not self.closed.wait(every):
            self.refresh()


Start = Callable[[str, list[tuple[str, str]]], Any]


def make_app(live: LivePreview) -> Callable[[dict[str, Any], Start], Iterable[bytes]]:
    """The preview's WSGI application."""

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if not _local(environ):
            return _answer(start, "403 Forbidden", "text/plain", NOT_HERE)
        if method not in ("GET", "HEAD"):
            return _answer(start, "405 Method Not Allowed", "text/plain", b"GET only\n")
        render = live.current
        if path == "/":
            return _answer(start, "200 OK", "text/html", PAGE.read_bytes())
        if path == "/email.html":
            html = render.html if render.error is None else _error_page(render.error)
            if "dark=1" in environ.get("QUERY_STRING", ""):
                html = DARK_QUERY.sub("all", html)
            return _answer(start, "200 OK", "text/html", html.encode())
        if path == "/email.txt":
            return _answer(start, "200 OK", "text/plain", render.text.encode())
        if path == "/meta.json":
            data = {"version": render.version, "error": render.error, "check": render.check,
                    **render.meta}  # fmt: skip
            return _answer(start, "200 OK", "application/json", json.dumps(data).encode())
        if path == "/events":
            start("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")])
            return _events(live)
        return _answer(start, "404 Not Found", "text/plain", b"not found\n")

    return app


LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
NOT_HERE = b"The preview answers only to 127.0.0.1, localhost or [::1], with its port.\n"


def _local(environ: dict[str, Any]) -> bool:
    """Whether the request names this machine and this port. A page of another site
    whose name was made to point at 127.0.0.1 (DNS rebinding) sends its own name, and
    must not read the subscriber's address, name and signed link."""
    host = environ.get("HTTP_HOST", "").lower()
    return host in {f"{name}:{environ.get('SERVER_PORT')}" for name in LOCAL_NAMES}


def _answer(start: Start, status: str, kind: str, body: bytes) -> list[bytes]:
    start(status, [("Content-Type", f"{kind}; charset=utf-8"), ("Cache-Control", "no-store"),
                   ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]


def _events(live: LivePreview) -> Iterator[bytes]:
    """One `data: VERSION` event now and at each new render; a comment line as a
    heartbeat, so a closed page is noticed and its thread ends; nothing more once the
    preview is closed."""
    version = live.current.version
    yield f"retry: 500\ndata: {version}\n\n".encode()
    while not live.closed.is_set():
        render = live.wait(version, HEARTBEAT_SECONDS)
        if live.closed.is_set():
            return
        if render.version != version:
            version = render.version
            yield f"data: {version}\n\n".encode()
        else:
            yield b": heartbeat\n\n"


def _error_page(error: str) -> str:
    from html import escape

    return (
        '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Render error</title>'
        '<body style="font:16px/1.5 system-ui,sans-serif;margin:24px;color:#7f1d1d">'
        f"<h1>The issue does not render</h1><p>{escape(error)}</p></body></html>"
    )
