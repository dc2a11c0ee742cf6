"""`newsletter status`: what was sent, per issue and per address."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

COLUMNS = ("accepted", "refused", "skipped", "pending", "ambiguous")


def status(
    issue: Annotated[
        str | None,
        typer.Argument(
            metavar="ISSUE", help="One issue's id (default: every issue).", show_default=False
        ),
    ] = None,
    recipients: Annotated[
        bool, typer.Option("--recipients", help="With ISSUE: every address and its state.")
    ] = False,
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Show what was sent and what is queued: per issue, how many recipients were
    accepted, refused, skipped, are pending, or are held as ambiguous."""
    from newsletter.errors import UsageError
    from newsletter.send.status import issue_statuses, recipient_states

    if recipients and issue is None:
        raise UsageError("--recipients needs an ISSUE")
    with open_project(project) as proj:
        found = issue_statuses(proj, issue)
        rows = recipient_states(proj, issue) if recipients and issue else None
        zone = proj.settings.newsletter.timezone
    if as_json:
        data: object = [s.data() for s in found]
        if rows is not None:
            data = {"issue": found[0].data(), "recipients": rows}
        typer.echo(json.dumps(data, indent=2))
        return
    if not found:
        typer.echo("No issue has been sent or queued from this project yet.")
        return
    header = f"{'issue':30} {'list':12} {'state':8} {'when':22}" + "".join(
        f" {c:>10}" for c in COLUMNS
    )
    typer.echo(header)
    for s in found:
        d = s.data()
        line = f"{s.id[:30]:30} {s.list_name[:12]:12} {s.state:8} {s.when(zone):22}"
        if s.state == "queued":
            typer.echo(line.rstrip())
        else:
            typer.echo(line + "".join(f" {d[c]:>10,}" for c in COLUMNS))
    for row in rows or []:
        extra = row["reason"] or row["message_id"] or ""
        typer.echo(f"  {row['email']:40} {row['state']:10} {extra}")
