"""`newsletter send`: send an issue to every subscriber of a list."""

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
from newsletter.cli.output import (
    ProgressBar,
    print_bad_rows,
    print_findings,
    print_notes,
    print_refusals,
    report_data,
    summary_line,
    warn,
)
from newsletter.errors import UsageError

MINUS = "\N{MINUS SIGN}"

if TYPE_CHECKING:
    from newsletter.check import CheckReport
    from newsletter.send.decide import Decision
    from newsletter.send.plan import Headcount, SendPlan
    from newsletter.send.report import SendReport


def send(
    articles: OptionalArticles = None,
    list_name: ListOption = None,
    exclude_list: ExcludeListOption = None,
    where: WhereOption = None,
    segment: SegmentOption = None,
    not_sent: NotSentOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")
    ] = False,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            metavar="EMAIL",
            help="Send one test copy to this address only (give it again for more, at most "
            "25); needs no --list.",
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
        bool,
        typer.Option(
            "--force",
            help="Send even if `newsletter check` finds errors, or the list has a row "
            "whose quoting is broken (that row is skipped).",
        ),
    ] = False,
    subject: SubjectOption = None,
    number: NumberOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Send the issue to every active subscriber of --list (resuming an interrupted
    send, never sending an address twice)."""
    from newsletter.send.decide import decide
    from newsletter.send.plan import plan_send
    from newsletter.send.run import check_outcome, run_send

    if retry_ambiguous and mark_ambiguous_sent:
        raise UsageError("--retry-ambiguous and --mark-ambiguous-sent contradict each other")
    given = audience(list_name, exclude_list, where, segment, not_sent)
    with open_project(project) as proj:
        plan = plan_send(proj, articles or [], given, issue_id, transport, test, dry_run, force,
                         issue_overrides(subject, number))  # fmt: skip
        print_notes(plan.notes)
        if dry_run:
            _warn_missing_secret(plan)
        if test:
            if plan.issue is not None:
                _check(plan, dry_run)
            _test_copies(plan, test, dry_run)
            return
        decision = decide(plan)  # the send's own: a dry run refuses what the send refuses
        frozen = proj.state.ledger.counts(plan.id) if decision.record is not None else None
        checked = _check(plan, dry_run) if frozen is None and plan.issue is not None else None
        if dry_run:
            reopening = "retry" if retry_ambiguous else "mark" if mark_ambiguous_sent else ""
            _dry_run(plan, decision, frozen, checked, force, as_json, reopening)
            return
        _refuse(checked, force)
        total = _confirm(plan, frozen, retry_ambiguous, yes)
        with ProgressBar(total) as progress:
            report = run_send(plan, progress, wait, retry_ambiguous, mark_ambiguous_sent)
        _print_result(plan, report, fresh=frozen is None and total is not None, as_json=as_json)
        check_outcome(plan, report)


def _check(plan: SendPlan, dry_run: bool) -> CheckReport:
    """The email checked first; what it finds goes to stderr."""
    from newsletter.send.gate import check_plan

    report = check_plan(plan)
    print_findings(report, everything=dry_run or interactive())
    return report


def _refuse(checked: CheckReport | None, force: bool) -> None:
    from newsletter.send.gate import refuse

    if checked is not None:
        refuse(checked, force)


def _warn_missing_secret(plan: SendPlan) -> None:
    from newsletter.transports import missing_secret

    missing = missing_secret(plan.project.settings, plan.transport.name, plan.project.place.env)
    if missing:
        warn(f"the environment variable {missing} is not set: a real send would stop there")


def _test_copies(plan: SendPlan, addresses: list[str], dry_run: bool) -> None:
    from newsletter.send.run import run_test_send, test_addresses

    if dry_run:
        shown = ", ".join(test_addresses(addresses))
        whose = "with no list" if _no_list(plan) else f"as on list {plan.list_name}"
        typer.echo(
            f"Dry run: would send a test copy of “{plan.subject}” to {shown} via "
            f"{plan.transport.name}, {whose}."
        )
        return
    copies = run_test_send(plan, addresses)
    where = plan.transport.destination(plan.id, True)
    for copy in copies:
        as_whom = (f"as their copy on list {copy.subscriber_of}" if copy.subscriber_of
                   else f"as a sample reader's copy ({_fallbacks(plan)})")  # fmt: skip
        typer.echo(
            f"Sent a test copy of “{plan.subject}” to {copy.email} via "
            f"{plan.transport.name} ({where}), {as_whom}."
        )


def _no_list(plan: SendPlan) -> bool:
    from newsletter.send.plan import TEST_LIST

    return plan.list_name == TEST_LIST and not plan.list_path.exists()


def _fallbacks(plan: SendPlan) -> str:
    if _no_list(plan):
        return "no list: the template's fallbacks"
    return f"not on list {plan.list_name}: the template's fallbacks"


def _dry_run(
    plan: SendPlan,
    decision: Decision,
    frozen: dict[str, int] | None,
    checked: CheckReport | None,
    force: bool,
    as_json: bool,
    reopening: str,
) -> None:
    """What a send would do, and its exit: 1 where the send would fail (the email has
    errors, the list nobody to send to)."""
    from newsletter.send.plan import nobody_on

    if decision.record is not None and frozen is not None:
        _print_dry_resume(plan, decision, frozen, as_json, reopening)
        return
    headcount = plan.count()
    print_bad_rows(headcount.bad, plan.list_shown)
    _print_dry_run(plan, headcount, decision.queued_for, as_json)
    _refuse(checked, force)
    if headcount.total == 0:
        raise nobody_on(plan)


def _confirm(
    plan: SendPlan, frozen: dict[str, int] | None, retry_ambiguous: bool, yes: bool
) -> int | None:
    """Ask on a terminal (unless --yes); returns how many the send goes to, when known."""
    from newsletter.send.plan import nobody_on

    if frozen is not None:  # a send of this issue started before: resume it
        total = frozen["pending"] + (frozen["ambiguous"] if retry_ambiguous else 0)
        if total and interactive() and not yes:
            typer.confirm(
                f"Resume “{plan.subject}”: send to the {total:,} recipient"
                f"{'s' * (total != 1)} of {_whom(plan)} not sent yet, via "
                f"{plan.transport.name}?",
                abort=True,
            )
        return total
    if not interactive() or yes:
        return None
    headcount = plan.count()
    print_bad_rows(headcount.bad, plan.list_shown)
    if headcount.total == 0:
        raise nobody_on(plan)
    typer.confirm(
        f"Send “{plan.subject}” to {headcount.total:,} subscriber"
        f"{'s' * (headcount.total != 1)} of {_whom(plan)} via {plan.transport.name}?",
        abort=True,
    )
    return headcount.total


def _whom(plan: SendPlan) -> str:
    """Who the send goes to, in a sentence: the list, or the audience spelled out."""
    return plan.audience_shown if plan.targeted else plan.list_name


def _frozen_whom(plan: SendPlan) -> str:
    """Who a started issue goes to, as its record says."""
    record = plan.frozen()
    data = record.audience_data() if record is not None else None
    if data:
        return str(data.get("shown") or plan.audience_shown)
    return f"list {record.list_name if record is not None else plan.list_name}"


def _print_result(plan: SendPlan, report: SendReport, fresh: bool, as_json: bool) -> None:
    from newsletter.clock import show

    zone = plan.project.settings.newsletter.timezone
    if report.done_at:
        record = plan.frozen()
        through = record.transport if record is not None else plan.transport.name
        again = (f" To send it through {plan.transport.name} as well, give it another --id."
                 if through != plan.transport.name else "")  # fmt: skip
        typer.echo(
            f"Issue {report.issue_id} was sent to {report.whom} through {through} "
            f"on {show(report.done_at, zone)} ({report.done_count:,} accepted); "
            f"nothing more to send.{again}"
        )
        return
    if report.content_changed:
        warn(
            f"the articles of issue {report.issue_id} changed since its send started; "
            "the content frozen then is what is sent"
        )
    if report.was_queued:
        warn(
            f"issue {report.issue_id} was queued for {report.was_queued}; this send is that "
            "send (cron will not send it again)"
        )
    if report.recovered and not report.reopening:
        warn(
            f"{report.recovered:,} recipients were in flight when an earlier run stopped: "
            "held as ambiguous, not resent"
        )
    if not fresh:  # the confirmation showed the bad rows already
        print_bad_rows(report.bad_rows, plan.list_shown)
    print_refusals(report)
    if report.reopening and not as_json:
        typer.echo(_reopened_line(report))
    if as_json and (report.accepted or report.refused or report.error or report.reopening):
        typer.echo(json.dumps(report_data(report), indent=2))
    elif report.accepted or report.refused or report.error:
        typer.echo(summary_line(report))


def _reopened_line(report: SendReport) -> str:
    """What --retry-ambiguous or --mark-ambiguous-sent changed."""
    n, issue = report.reopened, report.issue_id
    if n == 0:
        return f"No recipient of issue {issue} was held as ambiguous: nothing to change."
    whom = f"{n:,} recipient{'s' * (n != 1)} of issue {issue} held as ambiguous"
    if report.reopening == "mark":
        return f"Marked the {whom} as sent; they are not sent again."
    return f"Released the {whom} to be sent again."


def _print_dry_resume(
    plan: SendPlan, decision: Decision, counts: dict[str, int], as_json: bool, reopening: str
) -> None:
    from newsletter.clock import show

    record = decision.record
    assert record is not None
    pending, held = counts["pending"] + counts["in_flight"], counts["ambiguous"]
    done = decision.done and not reopening
    if as_json:
        data = {"dry_run": True, "issue": plan.id, "subject": plan.subject,
                "list": record.list_name, "transport": plan.transport.name, "resume": True,
                "done": done, "recipients": 0 if done else pending + held * (reopening == "retry"),
                "sent": counts["sent"], "ambiguous": held}  # fmt: skip
        typer.echo(json.dumps(data, indent=2))
        return
    head = f"Dry run: nothing is sent. Issue {plan.id} (“{plan.subject}”)"
    if done:
        zone = plan.project.settings.newsletter.timezone
        when = f" on {show(record.finished_at, zone)}" if record.finished_at else ""
        typer.echo(
            f"{head} was sent to {_frozen_whom(plan)} through {record.transport}{when} "
            f"({counts['sent']:,} accepted); a send now sends nothing more."
        )
        return
    then = {
        "retry": f"sends again to the {held:,} held as ambiguous and ",
        "mark": f"counts the {held:,} held as ambiguous as sent and ",
    }.get(reopening, "")
    typer.echo(
        f"{head} was started for {_frozen_whom(plan)}: {counts['sent']:,} sent, "
        f"{pending:,} not sent yet, {held:,} held as ambiguous; a send now {then}resumes it "
        f"via {plan.transport.name} with its frozen content."
    )


def _targeting_data(plan: SendPlan, headcount: Headcount) -> dict[str, object]:
    """The audience and the count after each step, when more than one list says who."""
    if not plan.targeted or headcount.steps is None:
        return {}
    steps = headcount.steps.data()
    steps.append({"suppressed": headcount.bad.suppressed, "count": headcount.total})
    return {"audience": plan.audience_shown, "steps": steps}


def _targeting_lines(plan: SendPlan, headcount: Headcount) -> list[str]:
    if not plan.targeted or headcount.steps is None:
        return []
    shown = headcount.steps.shown()
    suppressed = headcount.bad.suppressed
    return [
        f"  audience    {plan.audience_shown}",
        f"  steps       {shown} · suppressed {MINUS}{suppressed:,} → {headcount.total:,}",
    ]


def _print_dry_run(
    plan: SendPlan, headcount: Headcount, queued_for: str | None, as_json: bool
) -> None:
    first, total, bad = headcount.first, headcount.total, headcount.bad
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "dry_run": True,
                    "issue": plan.id,
                    "subject": plan.subject,
                    "list": plan.list_name,
                    "transport": plan.transport.name,
                    "recipients": total,
                    "bad_rows": bad.total,
                    "suppressed": bad.suppressed,
                    "first_recipients": [s.email for s in first],
                    "queued_for": queued_for,
                    **_targeting_data(plan, headcount),
                },
                indent=2,
            )
        )
        return
    skipping = [f"{bad.total:,} bad rows"] if bad.total else []
    skipping += [f"{bad.suppressed:,} suppressed"] if bad.suppressed else []
    lines = [
        "Dry run: nothing is sent.",
        f"  issue       {plan.id}",
        f"  subject     {plan.subject}",
        f"  from        {plan.sender}",
        f"  list        {plan.list_name} ({plan.list_shown})",
        *_targeting_lines(plan, headcount),
        f"  transport   {plan.transport.name} -> {plan.transport.destination(plan.id)}",
        f"  recipients  {total:,}" + (f" (skipping {', '.join(skipping)})" if skipping else ""),
    ]
    lines += [f"    {s.email}" + (f"  {s.name}" if s.name else "") for s in first]
    if total > len(first):
        lines.append(f"    … and {total - len(first)} more")
    if queued_for:
        lines.append(f"  queued      for {queued_for}: this send is that send (cron will not "
                     "send it again)")  # fmt: skip
    typer.echo("\n".join(lines))
