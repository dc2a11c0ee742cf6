"""`newsletter send`: deliver an issue to every subscriber of a list."""

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
    interactive,
    open_project,
)
from newsletter.cli.output import (
    Progress,
    print_bad_rows,
    print_notes,
    print_refusals,
    report_data,
    summary_line,
    warn,
)
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.audience.lists import Subscriber
    from newsletter.delivery import BadRows
    from newsletter.sending import SendPlan


def send(
    articles: OptionalArticles = None,
    list_name: ListOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")
    ] = False,
    test: Annotated[
        str | None,
        typer.Option(
            "--test",
            metavar="EMAIL",
            help="Send one copy to this address only.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    issue_id: IdOption = None,
    transport: TransportOption = None,
    as_json: JsonOption = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="If another send is running, wait for it instead of stopping."),
    ] = False,
    retry_ambiguous: Annotated[
        bool,
        typer.Option(
            "--retry-ambiguous",
            help="Send again to recipients held as ambiguous (handed over, no answer came).",
        ),
    ] = False,
    mark_ambiguous_sent: Annotated[
        bool,
        typer.Option("--mark-ambiguous-sent", help="Count recipients held as ambiguous as sent."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send even if `newsletter check` finds errors.")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Deliver the issue to every active subscriber of --list (resuming an interrupted
    send, never sending an address twice)."""
    from newsletter.sending import (
        check_outcome,
        frozen_counts,
        nobody_on,
        plan_send,
        run_send,
        run_test_send,
    )

    proj = open_project(project)
    plan = plan_send(proj, articles or [], list_name, issue_id, transport, test, dry_run)
    print_notes(plan.notes)
    if dry_run:
        from newsletter.transports import missing_secret

        missing = missing_secret(proj, plan.transport.name)
        if missing:
            warn(f"the environment variable {missing} is not set: a real send would stop there")
    frozen = frozen_counts(plan) if test is None else None
    checked = preflight(plan, dry_run) if frozen is None and plan.issue is not None else None
    refuse = bool(checked and checked.errors and not force)

    if test is not None:
        if dry_run:
            typer.echo(
                f"Dry run: would send one test copy of “{plan.subject}” to {test} "
                f"via {plan.transport.name}."
            )
            return
        result = run_test_send(plan, test)
        typer.echo(
            f"Sent a test copy of “{plan.subject}” to {result} via "
            f"{plan.transport.name} ({plan.transport.destination(plan.rendered.id, True)})."
        )
        return

    total = None
    if retry_ambiguous and mark_ambiguous_sent:
        raise UsageError("--retry-ambiguous and --mark-ambiguous-sent contradict each other")
    if refuse and not dry_run:
        raise check_failed(checked)
    if frozen is not None and dry_run:
        _print_dry_resume(plan, frozen, as_json)
        return
    if frozen is not None:  # a send of this issue started before: resume it
        total = frozen["pending"] + (frozen["ambiguous"] if retry_ambiguous else 0)
        if total and interactive() and not yes:
            typer.confirm(
                f"Resume “{plan.subject}”: send to the {total:,} recipient"
                f"{'s' * (total != 1)} of {plan.list_name} not sent yet, via "
                f"{plan.transport.name}?",
                abort=True,
            )
    elif dry_run or (interactive() and not yes):
        first, total, bad = plan.count()
        print_bad_rows(bad, plan.list_shown)
        if dry_run:
            _print_dry_run(plan, first, total, bad, as_json)
            if refuse:
                raise check_failed(checked)
            return
        if total == 0:
            raise nobody_on(plan)
        typer.confirm(
            f"Send “{plan.subject}” to {total:,} subscriber{'s' * (total != 1)} of "
            f"{plan.list_name} via {plan.transport.name}?",
            abort=True,
        )
    with Progress(total) as progress:
        report = run_send(plan, progress, wait, retry_ambiguous, mark_ambiguous_sent)
    if report.done_at:
        typer.echo(
            f"Issue {report.issue_id} was sent to list {report.list_name} on "
            f"{report.done_at[:16].replace('T', ' ')} ({report.done_count:,} accepted); "
            "nothing more to send."
        )
        return
    if report.content_changed:
        warn(
            f"the articles of issue {report.issue_id} changed since its send started; "
            "the content frozen then is what is sent"
        )
    if report.recovered:
        warn(
            f"{report.recovered:,} recipients were in flight when an earlier run stopped: "
            "held as ambiguous, not resent"
        )
    if total is None or frozen is not None:
        print_bad_rows(report.bad_rows, plan.list_shown)
    print_refusals(report)
    if report.accepted or report.refused or report.error:
        typer.echo(json.dumps(report_data(report), indent=2) if as_json else summary_line(report))
    check_outcome(plan, report)


def _print_dry_resume(plan: SendPlan, counts: dict[str, int], as_json: bool) -> None:
    pending = counts["pending"] + counts["in_flight"]
    if as_json:
        data = {"dry_run": True, "issue": plan.rendered.id, "subject": plan.subject,
                "list": plan.list_name, "transport": plan.transport.name, "resume": True,
                "recipients": pending, "sent": counts["sent"],
                "ambiguous": counts["ambiguous"]}  # fmt: skip
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"Dry run: nothing is sent. Issue {plan.rendered.id} (“{plan.subject}”) was started "
        f"for list {plan.list_name}: {counts['sent']:,} sent, {pending:,} not sent yet, "
        f"{counts['ambiguous']:,} held as ambiguous; a send now resumes it via "
        f"{plan.transport.name} with its frozen content."
    )


def _print_dry_run(
    plan: SendPlan, first: list[Subscriber], total: int, bad: BadRows, as_json: bool
) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "dry_run": True,
                    "issue": plan.rendered.id,
                    "subject": plan.subject,
                    "list": plan.list_name,
                    "transport": plan.transport.name,
                    "recipients": total,
                    "bad_rows": bad.total,
                    "suppressed": bad.suppressed,
                    "first_recipients": [s.email for s in first],
                },
                indent=2,
            )
        )
        return
    lines = [
        "Dry run: nothing is sent.",
        f"  issue       {plan.rendered.id}",
        f"  subject     {plan.subject}",
        f"  from        {plan.sender}",
        f"  list        {plan.list_name} ({plan.list_shown})",
        f"  transport   {plan.transport.name} -> {plan.transport.destination(plan.rendered.id)}",
        f"  recipients  {total:,}" + _skipping(bad),
    ]
    lines += [f"    {s.email}" + (f"  {s.name}" if s.name else "") for s in first]
    if total > len(first):
        lines.append(f"    … and {total - len(first)} more")
    typer.echo("\n".join(lines))


def _skipping(bad: BadRows) -> str:
    parts = [f"{bad.total:,} bad rows"] if bad.total else []
    parts += [f"{bad.suppressed:,} suppressed"] if bad.suppressed else []
    return f" (skipping {', '.join(parts)})" if parts else ""
