"""`newsletter check`: lint the rendered email; exit 1 on any error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import (
    ArticlesArgument,
    AsOption,
    ExcludeListOption,
    IdOption,
    JsonOption,
    ListOption,
    NotSentOption,
    ProjectOption,
    SegmentOption,
    WhereOption,
    audience,
    open_project,
)
from newsletter.cli.output import print_notes

if TYPE_CHECKING:
    from newsletter.check import CheckReport


def check(
    articles: ArticlesArgument,
    list_name: ListOption = None,
    exclude_list: ExcludeListOption = None,
    where: WhereOption = None,
    segment: SegmentOption = None,
    not_sent: NotSentOption = None,
    as_email: AsOption = None,
    issue_id: IdOption = None,
    online: Annotated[
        bool, typer.Option("--online", help="Also check that every link answers (network).")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also show notes (unsupported features with a fallback).")
    ] = False,
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Lint the email as a subscriber gets it: Gmail's clipping size, images without
    alt or width, relative, http or empty links, unsubscribe link, postal address and
    List-Unsubscribe headers, preheader and subject length, unknown fields, and HTML
    and CSS that Gmail, Outlook, Apple Mail or Yahoo do not support (caniemail)."""
    from newsletter.check import check_issue

    with open_project(project) as proj:
        given = audience(list_name, exclude_list, where, segment, not_sent)
        report = check_issue(proj, articles, given, as_email, issue_id, online)
    if report.note:
        print_notes([report.note])
    if as_json:
        typer.echo(json.dumps(report.data(), indent=2, ensure_ascii=False))
    else:
        print_report(report, show_all)
    if report.errors:
        raise typer.Exit(1)


def print_report(report: CheckReport, show_all: bool = False, err: bool = False) -> None:
    typer.echo(
        f"Checked “{report.subject}” (issue {report.issue_id}) as {report.recipient}: "
        f"{report.html_bytes / 1024:.1f} KB of HTML.",
        err=err,
    )
    for finding in report.findings:
        if finding.severity != "note" or show_all:
            typer.echo(f"{finding.severity}: {finding.rule}: {finding.message}", err=err)
    notes = len(report.findings) - len(report.errors) - len(report.warnings)
    summary = f"{_count(len(report.errors), 'error')}, {_count(len(report.warnings), 'warning')}"
    if notes and not show_all:
        summary += f" ({_count(notes, 'note')}: --all shows them)"
    typer.echo(summary + ".", err=err)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
