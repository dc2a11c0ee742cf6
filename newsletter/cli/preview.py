"""`newsletter preview`: the issue as one subscriber gets it."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import (
    ArticlesArgument,
    AsOption,
    IdOption,
    ListOption,
    ProjectOption,
    open_project,
)
from newsletter.cli.output import print_notes
from newsletter.errors import UsageError


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
    issue_id: IdOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Render the issue as one subscriber would get it."""
    if output is None and not open_:
        raise UsageError("say where the preview goes: --output DIR, or --open")
    from newsletter.compose import article_notes
    from newsletter.preview import make_preview, write_preview

    proj = open_project(project)
    result = make_preview(proj, articles, list_name, as_email, issue_id)
    print_notes(article_notes(result.issue))
    folder = output if output is not None else proj.state_dir / "preview"
    files = write_preview(result, folder, proj)
    for path in files:
        typer.echo(proj.shown(path))
    if open_:
        webbrowser.open(files[0].resolve().as_uri())
