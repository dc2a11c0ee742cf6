"""`newsletter cron`: the scheduled job. Silent when there is nothing to do (cron
mails whatever a job prints); one line per issue otherwise; exit 1 if any failed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from newsletter.cli.common import ProjectOption, open_project
from newsletter.cli.output import ProgressBar, print_refusals, summary_line, warn

if TYPE_CHECKING:
    from newsletter.schedule.cron import CronRun


def cron(project: ProjectOption = Path(".")) -> None:
    """Send every queued issue whose time has come and resume every interrupted
    send. Safe to run every minute: overlapping runs never send an address twice
    (with the state on PostgreSQL, runs of several hosts send an issue together)."""
    from newsletter.clock import show
    from newsletter.schedule.cron import run_cron

    with open_project(project) as proj, ProgressBar(None, tty=False) as progress:
        run = run_cron(proj, progress)
    zone = proj.settings.newsletter.timezone
    failed = _before_sends(run, zone)
    welcomed = set(run.welcomes.frozen) if run.welcomes else set()  # frozen by this run
    for result in run.results:
        report = result.report
        if report is not None:
            if report.recovered:
                warn(
                    f"issue {report.issue_id}: {report.recovered:,} recipients were in flight "
                    "when an earlier run stopped: held as ambiguous, not resent"
                )
            print_refusals(report)
            if report.accepted or report.refused or report.ambiguous or not result.error:
                fresh = result.scheduled or result.issue_id in welcomed  # not resumed
                verb = "" if fresh else " (resumed)"
                typer.echo(summary_line(report).replace(" issue ", f"{verb} issue ", 1))
        if result.error is not None:
            failed = True
            later = ""
            if result.retry_at is not None:
                later = f" (next try at {show(result.retry_at, zone)})"
            message = " ".join(str(result.error).split())
            typer.echo(f"error: issue {result.issue_id}: {message}{later}", err=True)
    if failed:
        raise typer.Exit(1)


def _before_sends(run: CronRun, zone: str) -> bool:
    """What the run did before its sends (SendGrid's suppressions, the signups'
    mails, the welcome issues), said; whether any of it failed."""
    from newsletter.clock import show

    failed = run.sync_error is not None
    if run.sync_error is not None:
        later = f" (next try at {show(run.sync_retry_at, zone)})" if run.sync_retry_at else ""
        typer.echo(f"error: sync: {' '.join(str(run.sync_error).split())}{later}", err=True)
    elif run.synced is not None and run.synced.new:
        typer.echo(f"Synced from SendGrid: {run.synced.new:,} new suppression"
                   f"{'s' * (run.synced.new != 1)}.")  # fmt: skip
    if run.confirmations_error is not None:
        failed = True
        message = " ".join(str(run.confirmations_error).split())
        typer.echo(f"error: confirmation mails: {message}", err=True)
    elif run.confirmations is not None and run.confirmations.sent:
        sent = run.confirmations.sent
        typer.echo(f"Sent {sent:,} signup confirmation mail{'s' * (sent != 1)}.")
    for list_name, error in run.welcomes.errors if run.welcomes else []:
        failed = True
        message = " ".join(str(error).split())
        typer.echo(f"error: welcome issue of list {list_name}: {message}", err=True)
    return failed
