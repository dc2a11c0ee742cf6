"""`newsletter schedule`: queue an issue for a time; list or cancel queued ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.check import check_failed, preflight
from newsletter.cli.common import (
    IdOption,
    JsonOption,
    ListOption,
    OptionalArticles,
    ProjectOption,
    TransportOption,
    open_project,
)
from newsletter.cli.output import print_bad_rows, print_notes
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.sending import SendPlan


def schedule(
    articles: OptionalArticles = None,
    list_name: ListOption = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="WHEN",
            help="ISO 8601 time, e.g. 2026-12-01T09:00 (in [newsletter] timezone) "
            "or 2026-12-01T09:00+01:00.",
            show_default=False,
        ),
    ] = None,
    now: Annotated[
        bool,
        typer.Option("--now", help="Send at the next cron run (also allows a past --at)."),
    ] = False,
    issue_id: IdOption = None,
    transport: TransportOption = None,
    list_queued: Annotated[
        bool, typer.Option("--list-queued", help="Show the queued issues, soonest first.")
    ] = False,
    cancel: Annotated[
        str | None,
        typer.Option(
            "--cancel",
            metavar="ID",
            help="Take a queued issue off the schedule.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Queue and send it even if `newsletter check` finds errors."),
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Queue an issue to be sent by `newsletter cron` at a time; --list-queued shows
    the queue, --cancel ID takes one off it."""
    from newsletter import scheduling

    modes = [bool(articles), list_queued, cancel is not None]
    if sum(modes) != 1:
        raise UsageError("give ARTICLE... --list LIST --at WHEN, or --list-queued, or --cancel ID")
    proj = open_project(project)
    if list_queued:
        entries = scheduling.queued(proj)
        if as_json:
            typer.echo(json.dumps([e.data() for e in entries], indent=2))
        elif not entries:
            typer.echo("Nothing is queued.")
        else:
            typer.echo(f"{'issue':30} {'list':12} {'send at':22} articles")
            for e in entries:
                when = scheduling.when_shown(proj, e)
                typer.echo(f"{e.issue_id[:30]:30} {e.list_name[:12]:12} {when:22} "
                           f"{', '.join(e.articles)}")  # fmt: skip
                if e.reason:
                    typer.echo(f"  last try failed: {e.reason}")
        return
    if cancel is not None:
        done = scheduling.cancel(proj, cancel)
        if done.queued is not None:
            typer.echo(
                f"Cancelled issue {done.issue_id} (list {done.list_name}, was queued for "
                f"{scheduling.when_shown(proj, done.queued)})."
            )
        else:
            held = f"; {done.held:,} held as ambiguous stay held" if done.held else ""
            typer.echo(
                f"Stopped the send of issue {done.issue_id} (list {done.list_name}): "
                f"{done.skipped:,} recipients not sent yet will not get it{held}."
            )
        return

    def lint(plan: SendPlan) -> None:
        report = preflight(plan)
        if report.errors and not force:
            raise check_failed(report)

    result = scheduling.schedule_issue(
        proj, articles or [], list_name, at, now, issue_id, transport, lint, force
    )
    print_notes(result.plan.notes)
    print_bad_rows(result.bad_rows, result.plan.list_shown)
    entry = result.entry
    if as_json:
        typer.echo(json.dumps({**entry.data(), "recipients": result.recipients}, indent=2))
        return
    typer.echo(
        f"Queued “{result.plan.subject}” (issue {entry.issue_id}) for list {entry.list_name}, "
        f"{result.recipients:,} subscriber{'s' * (result.recipients != 1)} now: "
        f"{scheduling.when_shown(proj, entry)}. `newsletter cron` sends it when the time comes."
    )
