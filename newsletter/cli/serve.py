"""`newsletter serve`: run the unsubscribe endpoint (newsletter.web) locally."""

from __future__ import annotations

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
    project: ProjectOption = Path("."),
) -> None:
    """Serve the unsubscribe endpoint: the signed links in every email land here (a
    confirmation page; RFC 8058 one-click POST). Any WSGI server can run it instead:
    newsletter.web:application, with NEWSLETTER_PROJECT set."""
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from newsletter.web import make_app

    with open_project(project) as proj:
        proj.signer  # noqa: B018  a missing or bad secret is an error now, not per request
        root, url = proj.root, proj.settings.unsubscribe.url

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # no query string: it names the subscriber
            path = self.path.split("?", 1)[0]
            typer.echo(f"{self.command} {path} {code}", err=True)

    try:
        server = make_server(host, port, make_app(root), Server, Handler)
    except OSError as exc:
        raise UsageError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from None
    typer.echo(
        f"Unsubscribe endpoint at http://{host}:{server.server_port}/ "
        f"(emails link to {url}); Ctrl-C stops it."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
