"""`newsletter preview`: the issue as one subscriber gets it."""

from __future__ import annotations

import contextlib
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import (
    ArticlesArgument,
    AsOption,
    ExcludeListOption,
    IdOption,
    ListOption,
    NotSentOption,
    NumberOption,
    ProjectOption,
    SegmentOption,
    SubjectOption,
    WhereOption,
    audience,
    issue_overrides,
    open_project,
)
from newsletter.cli.output import print_notes, warn
from newsletter.errors import NewsletterError, UsageError

if TYPE_CHECKING:
    from newsletter.audience.targeting import Targeting
    from newsletter.project import Project
    from newsletter.render.issue_view import IssueFields


def preview(
    articles: ArticlesArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Write NAME.html, NAME.txt and NAME.eml into this folder.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
    as_email: AsOption = None,
    list_name: ListOption = None,
    exclude_list: ExcludeListOption = None,
    where: WhereOption = None,
    segment: SegmentOption = None,
    not_sent: NotSentOption = None,
    issue_id: IdOption = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Serve a live preview page on 127.0.0.1 that reloads when an article, "
            "template or CSS changes, with what `newsletter check` finds beside the email "
            "(with --open, open it in a browser).",
        ),
    ] = False,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="PORT",
            help="With --serve: the port (0: any free one).",
            min=0,
            max=65535,
        ),
    ] = 8800,
    subject: SubjectOption = None,
    number: NumberOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Render the issue as one subscriber would get it: to files (--output, --open),
    or on a live page (--serve)."""
    overrides = issue_overrides(subject, number)
    given = audience(list_name, exclude_list, where, segment, not_sent)
    if serve:
        with open_project(project) as proj:
            _serve(proj, articles, given, as_email, issue_id, port, open_, overrides)
        return
    if output is None and not open_:
        raise UsageError("missing --output DIR, --open or --serve: say where the preview goes")
    from newsletter.articles import issue_notes
    from newsletter.preview import make_sample
    from newsletter.preview.files import write_preview

    with open_project(project) as proj:
        sample = make_sample(proj, articles, given, as_email, issue_id, overrides)
        print_notes(issue_notes(sample.issue, proj.shown) + ([sample.note] if sample.note else []))
        folder = output if output is not None else proj.state_dir / "preview"
        files = write_preview(sample, folder, proj)
        for path in files:
            typer.echo(proj.shown(path))
    if open_:
        _open(files[0].resolve().as_uri(), proj.shown(files[0]))


def _open(uri: str, shown: str) -> None:
    """Open the preview in a browser, or say there is none (the files are written)."""
    if not webbrowser.open(uri):
        raise NewsletterError(f"no web browser to open here; the preview is written: {shown}")


def _serve(
    proj: Project,
    articles: list[Path],
    list_name: Targeting,
    as_email: str | None,
    issue_id: str | None,
    port: int,
    open_: bool,
    overrides: IssueFields | None = None,
) -> None:
    import threading

    from newsletter.check import command_check
    from newsletter.preview.live import LivePreview, make_app
    from newsletter.web.server import Server

    found = [proj.find(a) for a in articles]
    live = LivePreview(proj.root, found, list_name, as_email, issue_id, overrides,
                       lint=command_check)  # fmt: skip
    if live.current.error:
        warn(f"the issue does not render yet: {live.current.error}")
    try:
        server = Server(make_app(live), "127.0.0.1", port, on_stop=live.close)
    except OSError as exc:
        raise UsageError(
            f"--port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror})"
        ) from None
    url = f"http://127.0.0.1:{server.port}/"
    typer.echo(
        f"Preview at {url} — reloads, and checks the email again, when an article, template "
        "or CSS changes; Ctrl-C stops it."
    )
    if open_ and not webbrowser.open(url):  # the page serves on: say where it is
        warn(f"no web browser to open here: the preview is at {url}")
    with live.watching(), server.start(), contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
