"""Output for people: warnings on stderr, a progress bar on a terminal, plain lines
elsewhere (cron mails whatever a job prints)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from newsletter.check import CheckReport
    from newsletter.send.report import BadRows, SendReport

MAX_BAD_ROWS_SHOWN = 20


def warn(message: str) -> None:
    typer.echo(f"warning: {' '.join(message.split())}", err=True)


def print_notes(notes: list[str]) -> None:
    for note in notes:
        typer.echo(f"note: {note}", err=True)


def print_refusals(report: SendReport) -> None:
    for email, reason in report.refusals[:MAX_BAD_ROWS_SHOWN]:
        typer.echo(f"refused: {email}: {reason}", err=True)
    if report.refused > MAX_BAD_ROWS_SHOWN:
        typer.echo(f"refused: … and {report.refused - MAX_BAD_ROWS_SHOWN:,} more", err=True)


def print_bad_rows(bad: BadRows, shown: str) -> None:
    for row in bad.kept[:MAX_BAD_ROWS_SHOWN]:
        typer.echo(f"skipped: {row.describe(shown)}", err=True)
    if bad.total > MAX_BAD_ROWS_SHOWN:
        typer.echo(
            f"skipped: … and {bad.total - MAX_BAD_ROWS_SHOWN} more bad rows in {shown}", err=True
        )


def print_findings(report: CheckReport, everything: bool) -> None:
    """What `check` found before a send, on stderr: the errors, and the warnings too
    when `everything` (on a terminal, or in a dry run; a cron job's mail gets only
    what stops it)."""
    shown = report.errors + (report.warnings if everything else [])
    for finding in shown:
        typer.echo(f"{finding.severity}: {finding.rule}: {finding.message}", err=True)


class ProgressBar:
    """Called after each accepted batch: a bar on a terminal; elsewhere (cron, a pipe)
    a plain line on stderr every LINE_EVERY seconds, so a long send shows it is alive
    and a short one stays quiet until its summary. Both speak of the transport in use
    (files for the outbox, requests for SendGrid, messages for SMTP) and, once a send
    has run ETA_AFTER seconds, how long it has left."""

    LINE_EVERY = 10.0
    ETA_AFTER = 3.0

    def __init__(
        self, total: int | None, tty: bool | None = None, now: Callable[[], float] | None = None
    ) -> None:
        self.total = total
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._now = now or time.monotonic
        self._bar: Any = None
        self._task: Any = None
        self._started = self._last_line = self._now()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, report: SendReport) -> None:
        if not self.tty:
            if self._now() - self._last_line >= self.LINE_EVERY:
                self._last_line = self._now()
                typer.echo(f"sending: {progress_words(report, self.total)}{self._eta(report)}",
                           err=True)  # fmt: skip
            return
        if self._bar is None:
            self._start_bar(report)
        self._bar.update(self._task, completed=report.accepted, words=_units(report))

    def _start_bar(self, report: SendReport) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns: list[Any] = [TextColumn(f"sending via {report.transport}"), BarColumn(),
                              MofNCompleteColumn(), TextColumn("{task.fields[words]}")]  # fmt: skip
        if self.total:
            columns.append(TimeRemainingColumn(compact=True, elapsed_when_finished=True))
        self._bar = Progress(*columns, transient=True, console=_stderr_console())
        self._task = self._bar.add_task("send", total=self.total, words=_units(report))
        self._bar.start()

    def _eta(self, report: SendReport) -> str:
        """' (about 4 min left)', once the send has run long enough to say."""
        elapsed = self._now() - self._started
        if not self.total or not report.accepted or elapsed < self.ETA_AFTER:
            return ""
        left = max(self.total - report.accepted, 0) * elapsed / report.accepted
        return f" (about {_duration(left)} left)" if left else ""


def progress_words(report: SendReport, total: int | None) -> str:
    """How far a send is, in its transport's words."""
    n, of = f"{report.accepted:,}", f" of {total:,}" if total else ""
    if report.transport == "outbox":
        return f"{n}{of} files written to {report.destination}"
    if report.transport == "smtp":
        return f"{n}{of} messages accepted by the SMTP server"
    batches = report.batches
    if report.transport == "sendgrid":
        return f"{n}{of} accepted by SendGrid in {batches:,} request{'s' * (batches != 1)}"
    return f"{n}{of} accepted by {report.transport} in {batches:,} batch{'es' * (batches != 1)}"


def _units(report: SendReport) -> str:
    """What the bar's count is of."""
    if report.transport == "outbox":
        return "files written"
    if report.transport == "smtp":
        return "messages"
    batches = report.batches
    if report.transport == "sendgrid":
        return f"accepted, {batches:,} request{'s' * (batches != 1)}"
    return f"accepted, {batches:,} batch{'es' * (batches != 1)}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(round(seconds), 1)} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def summary_line(report: SendReport) -> str:
    verb = "Stopped" if report.error else "Sent"
    line = (
        f"{verb} issue {report.issue_id} to {report.whom}: {report.accepted:,} "
        f"accepted by {report.transport} ({report.destination}) in {report.batches:,} "
        f"batch{'es' * (report.batches != 1)}"
    )
    if report.retries:
        line += f" after {report.retries:,} retr{'ies' if report.retries != 1 else 'y'}"
    if report.refused:
        line += f", {report.refused:,} refused"
    if report.ambiguous:
        line += (
            f", {report.ambiguous:,} ambiguous (unconfirmed: handed over, the answer never came; "
            "they may have been accepted, so they are not sent again)"
        )
    bad, dupes = report.bad_rows.total, report.bad_rows.duplicates
    if bad:
        line += f"; skipped {bad:,} bad row{'s' * (bad != 1)}"
        line += f" ({dupes:,} duplicate{'s' * (dupes != 1)})" if dupes else ""
    return line + "."


def report_data(report: SendReport) -> dict[str, object]:
    """The report for --json."""
    return {
        "issue": report.issue_id,
        "list": report.list_name,
        "transport": report.transport,
        "destination": report.destination,
        "accepted": report.accepted,
        "refused": report.refused,
        "ambiguous": report.ambiguous,
        "retries": report.retries,
        "resent_ambiguous": report.reopened if report.reopening == "retry" else 0,
        "marked_sent": report.reopened if report.reopening == "mark" else 0,
        "message_ids": report.message_ids,
        "batches": report.batches,
        "bad_rows": report.bad_rows.total,
        "duplicates": report.bad_rows.duplicates,
        "error": str(report.error) if report.error else None,
        **({"audience": report.audience} if report.audience else {}),
    }
