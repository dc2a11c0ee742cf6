"""`newsletter archive build`: the web archive of the issues sent, as a static site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

app = typer.Typer(
    help="The web archive: every issue sent, as a static site with an Atom feed.",
    no_args_is_help=True,
)

OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="DIR",
        help="The folder to write (default: [archive] dir, in the project). It must be "
        "empty, new, or written by this command before.",
        file_okay=False,
        show_default=False,
    ),
]


@app.command("build")
def build(
    output: OutputOption = None, as_json: JsonOption = False, project: ProjectOption = Path(".")
) -> None:
    """Write every issue that was sent (not previews, tests or welcome issues; not one
    with `archive: false`) as a page with no reader's data, an index, and, with
    [archive] url, feed.xml and sitemap.xml. Rebuilding writes only what changed and
    removes the pages of issues no longer in the archive."""
    from newsletter.archive.site import build_archive
    from newsletter.files import shown

    with open_project(project) as proj:
        built = build_archive(proj, output)
    where = shown(built.folder)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "folder": str(built.folder),
                    "issues": built.issues,
                    "written": built.written,
                    "unchanged": built.unchanged,
                    "removed": built.removed,
                    "feed": built.feed,
                },
                indent=2,
            )
        )
        return
    extra = "index.html, feed.xml, sitemap.xml" if built.feed else "index.html"
    issues = f"{built.issues:,} issue{'' if built.issues == 1 else 's'}"
    typer.echo(
        f"Built the archive in {where}/: {issues}, {extra} ({built.written:,} written, "
        f"{built.unchanged:,} unchanged, {built.removed:,} removed)."
    )
    if not built.feed:
        typer.echo(
            "note: no feed.xml or sitemap.xml: they need [archive] url (where the site "
            "is published; their links are absolute)",
            err=True,
        )
