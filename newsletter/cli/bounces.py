"""`newsletter bounces read PATH`: the delivery status notifications of an SMTP send,
from .eml files or an mbox, recorded like the webhook's bounces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

app = typer.Typer(
    name="bounces",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Read the bounces (DSNs, RFC 3464) an SMTP send brought back: bounces read PATH.",
)


@app.command("read")
def read(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            help="An .eml file, an mbox, or a folder of them (its *.eml and mbox files; "
            "not its subfolders), or a Maildir.",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Record the DSNs (RFC 3464) in PATH, a file or a folder: a hard bounce suppresses the address,
    a soft one and a delay are noted, other mail (auto-replies, out-of-office) is
    skipped. Reading the same files again records nothing new. A file that cannot be
    read is named on stderr (exit 1), and nothing of it is recorded."""
    from newsletter.errors import UsageError
    from newsletter.events.bounces import read_bounces

    with open_project(project) as proj:
        found = proj.find(path)  # relative: from here, else from the project
        if not found.exists():
            raise UsageError(f"PATH {str(path)!r}: no such file or folder")
        result = read_bounces(proj, found)
    if as_json:
        typer.echo(json.dumps(result.data(), indent=2))
    else:
        typer.echo("\n".join(_summary(result.data())))
    for line in result.counts.unreadable:
        typer.echo(f"error: {' '.join(line.split())}", err=True)
    if result.counts.unreadable:
        raise typer.Exit(1)


def _summary(data: dict[str, Any]) -> list[str]:
    """The counts, one a line, each with what it means."""

    def plural(count: int, word: str) -> str:
        return f"{count:,} {word}{'s' * (count != 1)}"

    lines = [
        f"Read {plural(data['messages'], 'message')} from {plural(data['files'], 'file')}: "
        f"{plural(data['dsns'], 'DSN')} about {plural(data['recipients'], 'recipient')}, "
        f"{data['skipped']:,} skipped (not a DSN).",
    ]
    rows = [
        ("recorded", data["recorded"], "new"),
        ("repeated", data["repeated"], "recorded before"),
        ("unknown", data["unknown"], f"{data['not_ours']:,} not our copies, the rest "
                                     "no recipient of ours"),
        ("suppressed", data["suppressed"], "hard bounces"),
    ]  # fmt: skip
    if data["ignored"]:
        rows.append(("ignored", data["ignored"], "kinds not recorded"))
    if data["settled"]:
        rows.append(("settled", data["settled"], "ambiguous recipients, now accepted"))
    lines += [f"  {name:11} {count:>7,}  {why}" for name, count, why in rows]
    if data["dated_by_file"]:
        lines.append(f"{plural(data['dated_by_file'], 'event')} dated by the file "
                     "(the DSN has no Arrival-Date or Date).")  # fmt: skip
    if data["other_files"]:
        lines.append(f"{plural(data['other_files'], 'file')} of the folder left alone "
                     "(not .eml, not an mbox).")  # fmt: skip
    return lines
