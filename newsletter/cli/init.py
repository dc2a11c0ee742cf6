"""`newsletter init`: create a new newsletter project folder, asking on a terminal for
what its settings need (flags for scripts), and offering `git init`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import interactive
from newsletter.cli.output import warn
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.newproject import Basics

FLAGS = {"name": "--name", "from": "--from", "postal_address": "--postal-address",
         "site_url": "--site"}  # fmt: skip


def init(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The folder to create (or an empty one).", file_okay=False
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="TEXT", help="The newsletter's name.", show_default=False),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="ADDRESS",
            help="The sender: news@example.com or 'Name <news@example.com>' "
            "(without a name, the newsletter's).",
            show_default=False,
        ),
    ] = None,
    postal_address: Annotated[
        str | None,
        typer.Option(
            "--postal-address",
            metavar="TEXT",
            help="The postal address every email's footer shows.",
            show_default=False,
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="URL",
            help="The newsletter's website (http or https).",
            show_default=False,
        ),
    ] = None,
    git: Annotated[
        bool | None,
        typer.Option(
            "--git/--no-git",
            help="Make the folder a git repository (default: asked on a terminal; otherwise no).",
            show_default=False,
        ),
    ] = None,
    templates: Annotated[
        bool,
        typer.Option(
            "--templates", help="Also copy the default templates into templates/ to edit."
        ),
    ] = False,
) -> None:
    """Create a new newsletter project: settings, a welcome article, a sample list, a
    README and a .gitignore; asks on a terminal for the name, sender, postal address
    and site."""
    from newsletter.newproject import check_folder, create_project

    check_folder(folder)  # before any question
    given = {"name": name, "from": sender, "postal_address": postal_address, "site_url": site}
    basics = _basics(given)
    make_git = _want_git(folder, git)
    created = create_project(folder, basics, with_templates=templates)
    chosen = basics.settings()
    typer.echo(f"Created the newsletter project “{chosen['name']}” in {folder} "
               f"({len(created)} files).")  # fmt: skip
    missing = basics.missing()
    if missing:
        keys = ", ".join(missing)
        typer.echo(f"Still to set in {folder / 'newsletter.toml'}: [newsletter] {keys} "
                   "(placeholders for now; `newsletter init` asks for them on a terminal, "
                   f"or give {', '.join(FLAGS[k] for k in missing)}).")  # fmt: skip
    if make_git:
        _git_init(folder)
    _next_steps(folder)


def _basics(given: dict[str, str | None]) -> Basics:
    """The values of the flags (checked: a bad one is wrong usage), else asked on a
    terminal (a bad answer is asked again), else left to placeholders."""
    from newsletter.newproject import ASKED, Basics, check_value

    basics = Basics()
    ask = interactive()
    for key, value in given.items():
        if value is not None:
            try:
                basics.values[key] = check_value(key, value)
            except ValueError as exc:
                raise UsageError(f"{FLAGS[key]}: {exc}") from None
    if ask:
        for key, question in ASKED.items():
            if key not in basics.values:
                basics.values[key] = _ask(key, question, basics.settings()[key])
    return basics


def _ask(key: str, question: str, default: str) -> str:
    from newsletter.newproject import check_value

    while True:
        answer = typer.prompt(question, default=default)
        try:
            return check_value(key, answer)
        except ValueError as exc:
            typer.echo(f"  {exc}; try again", err=True)


def _want_git(folder: Path, git: bool | None) -> bool:
    """--git/--no-git, else on a terminal a question (yes by default) when git is
    there and the folder is not inside a work tree already; else no."""
    from newsletter.newproject import git_found, inside_work_tree

    if git is False or (git is None and not interactive()):
        return False
    if not git_found():
        warn(f"git is not installed (not on PATH): {folder} is not a git repository; "
             "run `git init` there once it is")  # fmt: skip
        return False
    if inside_work_tree(folder):
        if git:
            warn(f"{folder} is inside a git work tree already: no git init")
        return False
    return git or typer.confirm("Make it a git repository (git init)?", default=True)


def _git_init(folder: Path) -> None:
    from newsletter.newproject import git_init

    failed = git_init(folder)
    if failed:
        warn(f"{failed}; the project is made, without git")
        return
    typer.echo(f"Made {folder} a git repository (.gitignore keeps the state and the outbox "
               "out); commit it: git add -A && git commit -m 'A new newsletter'")  # fmt: skip


def _next_steps(folder: Path) -> None:
    typer.echo("Next:")
    for line in (f"cd {shlex.quote(str(folder))}",
                 "newsletter preview articles/welcome.md --output preview",
                 "newsletter send articles/welcome.md --test you@example.com",
                 "newsletter send articles/welcome.md --list sample"):  # fmt: skip
        typer.echo(f"  {line}")
    typer.echo("README.md there says where each file goes, and how to schedule and serve.")
