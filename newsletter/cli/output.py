"""Output for people: warnings on stderr, a progress bar on a terminal, plain lines
elsewhere (cron mails whatever a job prints)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
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
    and a short one stays quiet until its summary."""

    LINE_EVERY = 10.0

    def __init__(self, total: int | None, tty: bool | None = None) -> None:
        self.total = total
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar: Any = None
        self._task: Any = None
        self._last_line = time.monotonic()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, report: SendReport) -> None:
        if not self.tty:
            if time.monotonic() - self._last_line >= self.LINE_EVERY:
                self._last_line = time.monotonic()
                of = f" of {self.total:,}" if self.total else ""
                typer.echo(
                    f"sending: {report.accepted:,}{of} accepted in {report.batches:,} "
                    f"request{'s' * (report.batches != 1)}",
                    err=True,
                )
            return
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[batches]} requests"),
                transient=True,
                console=_stderr_console(),
            )
            self._task = self._bar.add_task("send", total=self.total, batches=0)
            self._bar.start()
        self._bar.update(self._task, completed=report.accepted, batches=report.batches)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def summary_line(report: SendReport) -> str:
    verb = "Stopped" if report.error else "Sent"
    line = (
        f"{verb} issue {report.issue_id} to list {report.list_name}: {report.accepted:,} "
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
    }
