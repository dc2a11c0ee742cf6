"""`newsletter report ISSUE`: what became of one issue's copies (delivery events), its
complaint and bounce rates against the providers' limits, and with [tracking] its
opens and clicks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

if TYPE_CHECKING:
    from newsletter.events.report import IssueReport, Rate


def report(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="The issue's id (see `status`).")],
    as_json: JsonOption = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print it as CSV (measure, count, machines, rate).")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Report one sent issue: accepted, delivered, deferred, bounced (hard and soft),
    dropped, spam reports and unsubscribes from the provider's events; the spam
    complaint rate against Gmail's 0.3 % and the bounce rate against 2 %, flagged when
    over; with [tracking], opens and clicks, people and machines apart, per link."""
    from newsletter.errors import UsageError
    from newsletter.events.report import issue_report

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    with open_project(project) as proj:
        found = issue_report(proj, issue)
    if as_json:
        typer.echo(json.dumps(found.data(), indent=2))
    elif as_csv:
        typer.echo(_csv(found), nl=False)
    else:
        typer.echo("\n".join(_lines(found)))


def _lines(r: IssueReport) -> list[str]:
    c = r.counts()
    lines = [f"{r.issue}  {r.subject}", f"  list {r.list_name}, started {r.started}", ""]
    width = 14

    def row(name: str, count: int, note: str = "") -> None:
        lines.append(f"  {name:<{width}} {count:>10,}{'  ' + note if note else ''}")

    handed = c["accepted"] + c["refused"]
    row("accepted", c["accepted"], _share(c["accepted"], handed, "of those handed over"))
    row("delivered", c["delivered"], _share(c["delivered"], c["accepted"]))
    row("deferred", c["deferred"], "still being tried" if c["deferred"] else "")
    row("bounced", c["bounced"], f"{c['bounced_hard']:,} hard, {c['bounced_soft']:,} soft")
    row("dropped", c["dropped"])
    row("spam reports", c["spam_reports"])
    row("unsubscribed", c["unsubscribed"])
    row("no event yet", c["no_event_yet"])
    if c["settled_by_events"]:
        row("settled", c["settled_by_events"], "were ambiguous; an event showed them taken")
    for name in ("ambiguous", "refused", "skipped", "pending"):
        if c[name]:
            row(name, c[name])
    lines += ["", _rate("spam complaint rate", r.complaints, "Gmail's limit"),
              _rate("bounce rate", r.bounces, "limit")]  # fmt: skip
    if r.tracking is None:
        lines += ["", "  opens and clicks: not tracked ([tracking] opens, clicks)"]
        return lines
    t = r.tracking
    lines += ["", f"  opens   {t.opens:>10,} by people, {t.machine_opens:,} by machines",
              f"  clicks  {t.clicks:>10,} by people, {t.machine_clicks:,} by machines"]  # fmt: skip
    if t.people is not None:
        lines.append(f"  readers who opened {t.people['openers']:,}, who clicked "
                     f"{t.people['clickers']:,}")  # fmt: skip
    for url, people, machines in t.links:
        lines.append(f"    {people:>8,} {machines:>8,}  {url}")
    return lines


def _share(count: int, total: int, of: str = "") -> str:
    return f"{count / total:.1%}{' ' + of if of else ''}" if total else ""


def _rate(name: str, rate: Rate, limit: str) -> str:
    value = rate.value
    shown = "n/a (nothing delivered yet)" if value is None else f"{value:.2%}"
    flag = "  OVER THE LIMIT" if rate.over else ""
    return f"  {name}: {shown} ({limit} {rate.limit:.1%}){flag}"


def _csv(r: IssueReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["measure", "count", "machines", "rate", "limit", "over"])
    for name, count in r.counts().items():
        writer.writerow([name, count, "", "", "", ""])
    for name, rate in (("complaint_rate", r.complaints), ("bounce_rate", r.bounces)):
        value = rate.value
        writer.writerow([name, rate.count, "", "" if value is None else f"{value:.6f}",
                         rate.limit, "yes" if rate.over else "no"])  # fmt: skip
    if r.tracking is not None:
        t = r.tracking
        writer.writerow(["opens", t.opens, t.machine_opens, "", "", ""])
        writer.writerow(["clicks", t.clicks, t.machine_clicks, "", "", ""])
        for url, people, machines in t.links:
            writer.writerow([f"click {url}", people, machines, "", "", ""])
    return out.getvalue()
