"""Options and output helpers shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from newsletter.project import Project

ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project",
        "-p",
        metavar="DIR",
        help="The newsletter project folder.",
        envvar="NEWSLETTER_PROJECT",
        file_okay=False,
        show_default=False,
    ),
]
ArticlesArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Article files (*.md, *.txt); several make a digest issue.",
        metavar="ARTICLE",
        show_default=False,
    ),
]
OptionalArticles = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Article files (*.md, *.txt); several make a digest issue.",
        metavar="ARTICLE",
        show_default=False,
    ),
]
ListOption = Annotated[
    str | None,
    typer.Option(
        "--list",
        "-l",
        metavar="LIST",
        help="The subscriber list: subscribers/LIST.csv.",
        show_default=False,
    ),
]

IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        metavar="ID",
        help="The issue id (default: from the article file names).",
        show_default=False,
    ),
]
TransportOption = Annotated[
    str | None,
    typer.Option(
        "--transport",
        metavar="KIND",
        help="outbox, sendgrid or smtp (default: [transport] kind).",
        show_default=False,
    ),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="EMAIL",
        help="Render for this subscriber (default: the list's first).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def open_project(path: Path) -> Project:
    from newsletter.project import Project

    return Project.open(path)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
