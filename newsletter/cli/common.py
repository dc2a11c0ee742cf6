"""Options and output helpers shared by the commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click.globals import get_current_context  # typer carries its own click

if TYPE_CHECKING:
    from newsletter.clock import Clock
    from newsletter.project import Project, TransportMaker

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


@dataclass(frozen=True)
class Wiring:
    """What a caller of the CLI may put in place of the real thing (tests do, through
    CliRunner.invoke(app, args, obj=Wiring(...))): the clock, the transports, and
    whether there is a person at a terminal to ask."""

    clock: Clock | None = None
    transports: TransportMaker | None = None
    terminal: bool | None = None


def _wiring() -> Wiring:
    context = get_current_context(silent=True)
    found = context.obj if context is not None else None
    return found if isinstance(found, Wiring) else Wiring()


def open_project(path: Path) -> Project:
    """The project a command works on, wired; use it in a `with` block, which closes
    its state."""
    from newsletter.project import Project

    wiring = _wiring()
    return Project.open(path, clock=wiring.clock, transports=wiring.transports, notice=_notice)


def _notice(text: str) -> None:
    typer.echo(" ".join(text.split()), err=True)


def interactive() -> bool:
    """Whether a person is at the terminal to answer a question."""
    terminal = _wiring().terminal
    if terminal is not None:
        return terminal
    return sys.stdin.isatty() and sys.stdout.isatty()
