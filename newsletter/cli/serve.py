"""`newsletter serve`: run the audience's endpoint (newsletter.web) locally: the
unsubscribe links, the preferences page, the signup forms."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urljoin

import typer

from newsletter.cli.common import ProjectOption, open_project
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.project import Project


def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="The port.", min=0, max=65535)
    ] = 8025,
    threads: Annotated[
        int,
        typer.Option("--threads", metavar="N", help="Requests answered at once.", min=1, max=64),
    ] = 4,
    snippet: Annotated[
        str | None,
        typer.Option(
            "--snippet",
            metavar="LIST",
            help="Print the HTML of a signup form for your own site, and exit.",
            show_default=False,
        ),
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Serve the audience's endpoint: every email's links land here (the unsubscribe
    page and RFC 8058 one-click POST, the reader's preferences page), and so do the
    signup forms of the lists with signup = true, with their double opt-in (a thread
    sends the confirmation mails). Any WSGI server can run it instead:
    newsletter.web:application, with NEWSLETTER_PROJECT set."""
    from newsletter.web import make_app
    from newsletter.web.mailer import Mailer
    from newsletter.web.production import Endpoint, Limits, line_log

    if snippet is not None:
        _snippet(project, snippet)
        return
    with open_project(project) as proj:
        root, url = proj.root, proj.settings.unsubscribe.url
        signups = sorted(name for name, wanted in proj.settings.lists.items() if wanted.signup)
        _ready(proj)
    mailer = Mailer(root)
    try:
        server = Endpoint(
            make_app(root, mailer), host, port, log=line_log(), limits=Limits(threads=threads)
        )
    except OSError as exc:
        raise UsageError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from None
    typer.echo(
        f"Unsubscribe endpoint at http://{host}:{server.port}/ (emails link to {url}); "
        "Ctrl-C stops it."
    )
    for name in signups:  # where readers sign up (their links are beside the one above)
        typer.echo(f"Signup form of list {name}: {urljoin(url, f'subscribe/{name}')}")

    def stop(*_: object) -> None:  # systemd's stop, or Ctrl-C: answer what is in progress
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    mailer.wake()  # mails left from before are sent now
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    mailer.stop()


def _snippet(project: Path, list_name: str) -> None:
    """The signup form to paste, posting to this endpoint's subscribe/LIST."""
    from newsletter.audience.signup import pages_url
    from newsletter.errors import SettingsError
    from newsletter.web.signup import snippet

    with open_project(project) as proj:
        proj.resolve_list(list_name)
        shown = proj.shown(proj.settings.path)
        if not proj.settings.list_settings(list_name).signup:
            raise SettingsError("is not true, so the endpoint takes no signups for it",
                                file=shown, setting=f"[lists.{list_name}] signup")  # fmt: skip
        action = urljoin(pages_url(proj), f"subscribe/{list_name}")
        typer.echo(snippet(proj, list_name, action))
        if not proj.settings.serve.allowed_origins:
            typer.echo(f"warning: add your site's origin (e.g. \"https://example.com\") to "
                       f"[serve] allowed_origins in {shown}, or the endpoint refuses posts "
                       "from it", err=True)  # fmt: skip


def _ready(proj: Project) -> None:
    """What would refuse every request is an error now, not on each one: a bad secret,
    or a state other than the project's (its key would refuse every link sent so
    far). A shared database that cannot be reached yet is only a warning: serve
    starts, answers 503 (and /healthz says so) until it can."""
    from newsletter.errors import StateError
    from newsletter.state import is_postgres_url

    proj.quiet_state_warning()  # judged here: an error, not a warning
    try:
        _ = proj.state, proj.signer
        other = proj.other_state()
    except StateError as exc:
        if not is_postgres_url(proj.state_url[0]):
            raise
        typer.echo(f"warning: {exc}; answering 503 until it can be reached", err=True)
        return
    if other is not None:
        raise StateError(other, file=proj.shown(proj.settings.path), setting="[state] id")
