"""`newsletter serve`: run the unsubscribe endpoint (newsletter.web) locally."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import ProjectOption, open_project
from newsletter.errors import UsageError


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
    project: ProjectOption = Path("."),
) -> None:
    """Serve the unsubscribe endpoint: the signed links in every email land here (a
    confirmation page; RFC 8058 one-click POST). Any WSGI server can run it instead:
    newsletter.web:application, with NEWSLETTER_PROJECT set."""
    from newsletter.web import make_app
    from newsletter.web.production import Endpoint, Limits, line_log

    with open_project(project) as proj:
        _ = proj.signer  # a missing or bad secret is an error now, not on a request
        root, url = proj.root, proj.settings.unsubscribe.url
    try:
        server = Endpoint(
            make_app(root), host, port, log=line_log(), limits=Limits(threads=threads)
        )
    except OSError as exc:
        raise UsageError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from None
    typer.echo(
        f"Unsubscribe endpoint at http://{host}:{server.port}/ (emails link to {url}); "
        "Ctrl-C stops it."
    )

    def stop(*_: object) -> None:  # systemd's stop, or Ctrl-C: answer what is in progress
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
