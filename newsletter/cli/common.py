"""Options and output helpers shared by the commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click.globals import get_current_context  # typer carries its own click

from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.audience.targeting import Targeting
    from newsletter.clock import Clock
    from newsletter.project import Project, TransportMaker
    from newsletter.render.issue_view import IssueFields

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
    list[str] | None,
    typer.Option(
        "--list",
        "-l",
        metavar="LIST",
        help="The subscriber list: subscribers/LIST.csv (again for more: each address "
        "once, the first list's row for its fields).",
        show_default=False,
    ),
]
ExcludeListOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-list",
        metavar="LIST",
        help="Leave out the addresses on this list (again for more).",
        show_default=False,
    ),
]
WhereOption = Annotated[
    str | None,
    typer.Option(
        "--where",
        metavar="EXPR",
        help='Only the subscribers whose fields match, e.g. \'country in ["DE", "AT"] and '
        'plan == "paid"\' (README: Targeting).',
        show_default=False,
    ),
]
SegmentOption = Annotated[
    str | None,
    typer.Option(
        "--segment",
        metavar="NAME",
        help="The audience named [segments.NAME] in newsletter.toml (--list, "
        "--exclude-list and --where add to it).",
        show_default=False,
    ),
]
NotSentOption = Annotated[
    str | None,
    typer.Option(
        "--not-sent",
        metavar="ISSUE",
        help="Leave out whoever was accepted for that earlier issue (new subscribers are in).",
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
SubjectOption = Annotated[
    str | None,
    typer.Option(
        "--subject",
        metavar="TEXT",
        help="The issue's subject (default: the first article's `subject`, else its title).",
        show_default=False,
    ),
]
NumberOption = Annotated[  # text, so a wrong one gets our one-line error
    str | None,
    typer.Option(
        "--number",
        metavar="N",
        help="The issue's number, shown in the masthead (default: the first article's `number`).",
        show_default=False,
    ),
]


def issue_overrides(subject: str | None, number: str | None) -> IssueFields | None:
    """--subject and --number as the render takes them (None: neither was given)."""
    from newsletter.render.issue_view import MAX_NUMBER, IssueFields, check_subject

    if subject is None and number is None:
        return None
    if subject is not None:
        try:
            subject = check_subject(subject)
        except ValueError as exc:
            raise UsageError(f"--subject: {exc}") from None
    whole = None
    if number is not None:
        text = number.strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_NUMBER:
            raise UsageError(f"--number: expected a whole number from 1 to {MAX_NUMBER:,}, "
                             f"got {number!r}")  # fmt: skip
        whole = int(text)
    return IssueFields(subject=subject or "", number=whole)


def audience(
    lists: list[str] | None,
    exclude: list[str] | None = None,
    where: str | None = None,
    segment: str | None = None,
    not_sent: str | None = None,
) -> Targeting:
    """The targeting options as one audience (audience/targeting.py)."""
    from newsletter.audience.targeting import Targeting

    return Targeting(tuple(dict.fromkeys(lists or ())), tuple(dict.fromkeys(exclude or ())),
                    where, segment, not_sent)  # fmt: skip


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
