"""`newsletter subscribers suppressions [lift]`: every suppression the state holds, and
the lift of one (recorded, with the editor's reason)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project
from newsletter.cli.output import warn
from newsletter.errors import UsageError

app = typer.Typer(
    name="suppressions",
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def suppressions(
    ctx: typer.Context,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            metavar="REASON",
            help="Only this reason (e.g. bounced).",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", metavar="SOURCE", help="Only this source (e.g. manual).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Every suppression: the address, its reason, its source, when (in the project's
    time zone) and the lists whose files still have it ("-": none). A forgotten address
    shows as its hash. `lift EMAIL --reason TEXT` lifts one."""
    if ctx.invoked_subcommand is not None:
        return
    from newsletter.audience.suppressions import listing
    from newsletter.clock import show

    with open_project(project) as proj:
        found = listing(proj, reason, source)
        zone = proj.settings.newsletter.timezone
    if as_json:
        typer.echo(json.dumps([item.data() for item in found], indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("No suppressions" + (" of that kind." if reason or source else "."))
        return
    width = min(max(len(item.suppression.email) for item in found), 44)
    typer.echo(f"{'address':{width}}  {'reason':13} {'source':22} {'when':20} lists")
    for item in found:
        s = item.suppression
        typer.echo(f"{s.email:{width}}  {s.reason:13} {s.source:22} "
                   f"{show(s.created_at, zone):20} {', '.join(item.lists) or '-'}")  # fmt: skip
    typer.echo(f"{len(found):,} suppression{'s' * (len(found) != 1)}.")


@app.command("lift")
def lift(
    email: Annotated[
        str, typer.Argument(metavar="EMAIL", help="The address (or a forgotten one's hash).")
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            metavar="TEXT",
            help="Why (required; kept with the lift).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also lift a bounce, a spam report, a block, an invalid or a forgotten address.",
        ),
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Lift an address's suppression, so sends reach it again from every list that has
    it; the lift is recorded with its reason. A reader's own unsubscribe or a removal is
    lifted as asked; a bounce, a spam report (and SendGrid's blocks and invalid
    addresses, and a forgotten address) only with --force."""
    from newsletter.audience.suppressions import lift as lift_one
    from newsletter.audience.suppressions import why_suppressed

    if reason is None:
        raise UsageError("missing --reason TEXT: say why it is lifted (kept with the lift)")
    with open_project(project) as proj:
        lifted = lift_one(proj, email, reason, force)
    s = lifted.suppression
    lists = ", ".join(lifted.lists)
    where = f"sends to {lists} reach it again" if lists else "it is on no list"
    typer.echo(f"Lifted the suppression of {s.email}: {why_suppressed(s)}; {where}.")
    if s.source.startswith("sendgrid"):
        warn("SendGrid keeps its own suppression list: remove the address there too, or "
             "SendGrid drops what is sent to it")  # fmt: skip
