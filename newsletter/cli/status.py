"""`newsletter status`: what was sent, per issue and per address."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

if TYPE_CHECKING:
    from newsletter.send.status import IssueStatus

COLUMNS = ("accepted", "refused", "skipped", "pending", "ambiguous", "delivered", "bounced")


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
    accepted, refused, skipped, are pending, or are held as ambiguous, and how many
    copies the provider's events say were delivered or bounced (`report` has more)."""
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
    typer.echo("\n".join(_table(found, zone)))
    for row in rows or []:
        extra = row["reason"] or row["message_id"] or ""
        typer.echo(f"  {row['email']:40} {row['state']:10} {extra}")


def _table(found: list[IssueStatus], zone: str) -> list[str]:
    """One row per issue, its id last and whole (to copy), its subject under it."""
    whens = [s.when(zone) for s in found]
    state_w = max(len("state"), *(len(s.state) for s in found))
    when_w = max(len("when"), *(len(w) for w in whens))
    list_w = max(len("list"), *(len(s.list_name) for s in found))
    counts_w = max(len(c) for c in COLUMNS)

    def row(state: str, when: str, list_name: str, counts: list[str], issue: str) -> str:
        cells = "".join(f"  {c:>{counts_w}}" for c in counts)
        return f"{state:{state_w}}  {when:{when_w}}  {list_name:{list_w}}{cells}  {issue}"

    lines = [row("state", "when", "list", list(COLUMNS), "issue")]
    for s, when in zip(found, whens, strict=True):
        d = s.data()
        d |= {"delivered": s.delivered, "bounced": (s.fates or {}).get("bounced", 0)}
        counts = [""] * len(COLUMNS) if s.started is None else [f"{d[c]:,}" for c in COLUMNS]
        lines.append(row(s.state, when, s.list_name, counts, s.id))
        if s.subject is not None:
            lines.append(f"    {s.subject}")
        if s.audience is not None:
            lines.append(f"    audience: {s.audience}")
        if s.problem is not None:
            lines.append(f"    cannot be rendered now: {s.problem}")
        settled = (s.fates or {}).get("settled", 0)
        if settled:
            lines.append(f"    {settled:,} held as ambiguous were settled as accepted by the "
                         "provider's events (never resent)")  # fmt: skip
    return lines
