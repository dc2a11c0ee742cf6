"""`newsletter subscribers import LIST FILE [--from FORMAT] [--json]`: merge another
tool's export into a list. Registered on the `subscribers` group (cli/subscribers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

if TYPE_CHECKING:
    from newsletter.audience.importing import ImportSummary


def import_(
    list_name: Annotated[
        str,
        typer.Argument(metavar="LIST", help="The list: subscribers/LIST.csv (made if missing)."),
    ],
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="The export: a CSV file from another tool.", show_default=False
        ),
    ],
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="FORMAT",
            help="auto (from the header), mailchimp, substack, buttondown, listmonk or csv.",
        ),
    ] = "auto",
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Import subscribers from another tool's CSV export (Mailchimp, Substack, Buttondown,
    listmonk, or any CSV with an email column) into subscribers/LIST.csv.

    Usage: newsletter subscribers import LIST FILE [--from FORMAT] [--json]

    New addresses are added, known ones updated in place; rows the export marks as
    unsubscribed, cleaned, bounced, complained or blocklisted become suppressions, and an
    address already suppressed here is not added back. Prints one summary line (the
    first rejected and skipped rows on stderr); exit 1 when nothing could be imported.
    """
    from newsletter.audience.importing import import_list

    with open_project(project) as proj:
        summary = import_list(proj, list_name, proj.find(file), from_)
    if as_json:
        typer.echo(json.dumps(summary.data(), indent=2, ensure_ascii=False))
        return
    for row in summary.rejected_rows:
        typer.echo(f"rejected: {row.describe(summary.file)}", err=True)
    if summary.rejected > len(summary.rejected_rows):
        more = summary.rejected - len(summary.rejected_rows)
        typer.echo(f"rejected: … and {more:,} more rows in {summary.file}", err=True)
    for skip in summary.skipped_rows:
        typer.echo(f"skipped: {summary.file}:{skip.line}: {skip.email}: {skip.reason}", err=True)
    if summary.skipped > len(summary.skipped_rows):
        more = summary.skipped - len(summary.skipped_rows)
        typer.echo(f"skipped: … and {more:,} more rows in {summary.file}", err=True)
    typer.echo(summary_line(summary))


def summary_line(s: ImportSummary) -> str:
    made = " (new list)" if s.created else ""
    line = (
        f"Imported {s.file} ({s.format}) into {s.list_file}{made}: {s.added:,} added, "
        f"{s.updated:,} updated, {s.unchanged:,} unchanged, {s.suppressed:,} suppressed"
    )
    if s.suppressed:
        line += f" ({s.new_suppressions:,} new)"
    line += f", {s.skipped:,} skipped, {s.rejected:,} rejected"
    if s.ignored_columns:
        line += f"; left out (the list has no column for them): {', '.join(s.ignored_columns)}"
    return line + "."
