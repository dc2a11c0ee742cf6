"""`newsletter schedule`: queue an issue for a time; list or cancel queued ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import (
    ExcludeListOption,
    IdOption,
    JsonOption,
    ListOption,
    NotSentOption,
    NumberOption,
    OptionalArticles,
    ProjectOption,
    SegmentOption,
    SubjectOption,
    TransportOption,
    WhereOption,
    audience,
    interactive,
    issue_overrides,
    open_project,
)
from newsletter.cli.output import print_bad_rows, print_findings, print_notes
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.audience.targeting import Targeting
    from newsletter.project import Project
    from newsletter.render.issue_view import IssueFields
    from newsletter.schedule.queue import Scheduled


def schedule(
    articles: OptionalArticles = None,
    list_name: ListOption = None,
    exclude_list: ExcludeListOption = None,
    where: WhereOption = None,
    segment: SegmentOption = None,
    not_sent: NotSentOption = None,
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
        typer.Option(
            "--force",
            help="Queue and send it even if `newsletter check` finds errors, or the list "
            "has a row whose quoting is broken (that row is skipped).",
        ),
    ] = False,
    subject: SubjectOption = None,
    number: NumberOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Queue an issue to be sent by `newsletter cron` at a time; --list-queued shows
    the queue, --cancel ID takes one off it."""
    modes = [bool(articles), list_queued, cancel is not None]
    if sum(modes) != 1:
        raise UsageError("give ARTICLE... --list LIST --at WHEN, or --list-queued, or --cancel ID")
    with open_project(project) as proj:
        if list_queued:
            _list_queued(proj, as_json)
        elif cancel is not None:
            _cancel(proj, cancel)
        else:
            overrides = issue_overrides(subject, number)
            given = audience(list_name, exclude_list, where, segment, not_sent)
            _queue(proj, articles or [], given, at, now, issue_id, transport, force, as_json,
                   overrides)  # fmt: skip


def _list_queued(proj: Project, as_json: bool) -> None:
    from newsletter.schedule.queue import queued, when_shown

    entries = queued(proj)
    if as_json:
        typer.echo(json.dumps([e.data() for e in entries], indent=2))
    elif not entries:
        typer.echo("Nothing is queued.")
    else:
        typer.echo(f"{'issue':30} {'list':12} {'send at':22} articles")
        for e in entries:
            when = when_shown(proj, e)
            typer.echo(f"{e.issue_id[:30]:30} {e.list_name[:12]:12} {when:22} "
                       f"{', '.join(e.articles)}")  # fmt: skip
            if e.fields:  # what it was queued with (--subject, --number)
                typer.echo("  " + ", ".join(f"{k}: {v}" for k, v in sorted(e.fields.items())))
            if "audience" in e.options:
                typer.echo(f"  audience: {e.options['audience'].get('shown', '')}")
            if e.reason:
                typer.echo(f"  last try failed: {e.reason}")


def _cancel(proj: Project, issue_id: str) -> None:
    from newsletter.schedule.queue import cancel, when_shown

    done = cancel(proj, issue_id)
    if done.queued is not None:
        typer.echo(
            f"Cancelled issue {done.issue_id} (list {done.list_name}, was queued for "
            f"{when_shown(proj, done.queued)})."
        )
        return
    held = f"; {done.held:,} held as ambiguous stay held" if done.held else ""
    typer.echo(
        f"Stopped the send of issue {done.issue_id} (list {done.list_name}): "
        f"{done.skipped:,} recipients not sent yet will not get it{held}."
    )


def _queue(
    proj: Project,
    articles: list[Path],
    list_name: Targeting,
    at: str | None,
    now: bool,
    issue_id: str | None,
    transport: str | None,
    force: bool,
    as_json: bool,
    overrides: IssueFields | None = None,
) -> None:
    from newsletter.schedule.queue import schedule_issue, when_shown
    from newsletter.send.gate import EmailHasErrors

    try:
        result = schedule_issue(proj, articles, list_name, at, now, issue_id, transport, force,
                                overrides)  # fmt: skip
    except EmailHasErrors as exc:
        print_findings(exc.report, everything=interactive())
        raise
    print_findings(result.checked, everything=interactive())
    print_notes(result.plan.notes)
    print_bad_rows(result.bad_rows, result.plan.list_shown)
    entry = result.entry
    if as_json:
        typer.echo(json.dumps({**entry.data(), "recipients": result.recipients}, indent=2))
        return
    typer.echo(
        f"Queued “{result.plan.subject}” (issue {entry.issue_id}) for {_whom(result)}, "
        f"{result.recipients:,} subscriber{'s' * (result.recipients != 1)} now: "
        f"{when_shown(proj, entry)}. `newsletter cron` sends it when the time comes."
    )


def _whom(result: Scheduled) -> str:
    plan = result.plan
    return plan.audience_shown if plan.targeted else f"list {plan.list_name}"
