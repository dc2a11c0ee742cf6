"""Output for people: warnings on stderr, a progress bar on a terminal, plain lines
elsewhere (cron mails whatever a job prints)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from newsletter.audience.lists import BadRow
    from newsletter.delivery import SendReport

MAX_BAD_ROWS_SHOWN = 20


def print_notes(notes: list[str]) -> None:
    for note in notes:
        typer.echo(f"note: {note}", err=True)


def print_bad_rows(rows: list[BadRow], shown: str) -> None:
    for row in rows[:MAX_BAD_ROWS_SHOWN]:
        typer.echo(f"skipped: {row.describe(shown)}", err=True)
    if len(rows) > MAX_BAD_ROWS_SHOWN:
        typer.echo(
            f"skipped: … and {len(rows) - MAX_BAD_ROWS_SHOWN} more bad rows "
            f"(see `newsletter subscribers check`)",
            err=True,
        )


class Progress:
    """Called after each accepted batch. A bar on a terminal when the total is known."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, report: SendReport) -> None:
        if self.total is None or not sys.stderr.isatty():
            return
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[batches]} batches"),
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
    bad, dupes = len(report.bad_rows), report.duplicates
    line = (
        f"Sent issue {report.issue_id} to list {report.list_name}: {report.accepted} "
        f"accepted by {report.transport} ({report.destination})"
    )
    if bad:
        line += f"; skipped {bad} bad row{'s' * (bad != 1)}"
        line += f" ({dupes} duplicate{'s' * (dupes != 1)})" if dupes else ""
    return line + "."
