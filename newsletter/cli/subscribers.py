"""`newsletter subscribers`: list, add, remove, check (and import, sync) a project's
subscriber lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project
from newsletter.cli.output import warn
from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.project import Project

app = typer.Typer(
    name="subscribers",
    help="Manage subscriber lists: list, add, remove, check, import, sync; suppressions "
    "(and lift); a person's data: export, forget.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
ListArgument = Annotated[
    str, typer.Argument(metavar="LIST", help="The list: subscribers/LIST.csv.")
]
EmailArgument = Annotated[str, typer.Argument(metavar="EMAIL", help="The address.")]


@app.command("list")
def list_(
    list_name: Annotated[
        str | None,
        typer.Argument(
            metavar="LIST",
            help="One list's subscribers (default: every list's counts).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Every list with its counts (active, suppressed, bad rows), or one list's
    subscribers with their state."""

    with open_project(project) as proj:
        _list(proj, list_name, as_json)


def _list(proj: Project, list_name: str | None, as_json: bool) -> None:
    from newsletter.audience import manage
    from newsletter.audience.suppressions import why_suppressed

    if list_name is None:
        counts = manage.list_counts(proj)
        if as_json:
            typer.echo(json.dumps([c.data() for c in counts], indent=2))
            return
        if not counts:
            typer.echo(
                "No lists yet: add subscribers/LIST.csv, or `newsletter subscribers import`."
            )
            return
        typer.echo(f"{'list':20} {'active':>10} {'suppressed':>11} {'bad rows':>9}  file")
        for c in counts:
            typer.echo(
                f"{c.name[:20]:20} {c.active:>10,} {c.suppressed:>11,} {c.bad:>9,}  {c.shown}"
            )
        return
    if as_json:  # streamed: a long list is never held in memory
        typer.echo("[")
        for n, member in enumerate(manage.members(proj, list_name)):
            typer.echo(("," if n else "") + json.dumps(member.data(), ensure_ascii=False))
        typer.echo("]")
        return
    for member in manage.members(proj, list_name):
        s = member.subscriber
        state = (
            f"suppressed: {why_suppressed(member.suppression)}" if member.suppression else "active"
        )
        source = " (signed up on the form; `subscribers pull` writes it in)" if s.form else ""
        typer.echo(f"{s.email:40} {s.name[:30]:30} {state}{source}")


@app.command("add")
def add(
    list_name: ListArgument,
    email: EmailArgument,
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="The subscriber's name.")
    ] = "",
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="COLUMN=VALUE",
            help="Another column's value (repeat).",
            show_default=False,
        ),
    ] = None,
    resubscribe: Annotated[
        bool,
        typer.Option(
            "--resubscribe",
            help="Lift the address's own unsubscribe or removal: "
            "only when they asked to come back.",
        ),
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Add a subscriber to a list (the file is rewritten atomically; other rows are
    kept as they are). A suppressed address stays suppressed unless --resubscribe, which
    lifts the reader's own unsubscribe or a removal (and records the lift); any other
    suppression is refused, with nothing written: `subscribers suppressions lift`."""
    from newsletter.audience import manage
    from newsletter.audience.suppressions import why_suppressed

    fields = {}
    for item in field or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--field {item!r}: write COLUMN=VALUE")
        fields[key] = value
    with open_project(project) as proj:
        added = manage.add(proj, list_name, email, name, fields, resubscribe)
    typer.echo(f"Added {added.email} to list {list_name} (line {added.line}).")
    if added.lifted:
        typer.echo(f"Lifted its suppression: {why_suppressed(added.lifted)}.")
    elif added.suppression:
        why = why_suppressed(added.suppression)
        warn(f"{added.email} is suppressed ({why}): sends skip it; --resubscribe lifts it "
             "if they asked to come back")  # fmt: skip


@app.command("remove")
def remove(
    list_name: ListArgument,
    email: EmailArgument,
    suppress: Annotated[
        bool,
        typer.Option(
            "--suppress",
            help="Suppress the address even if it is not on the list (exit 1 otherwise).",
        ),
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Remove an address from a list and record a manual suppression (no list sends
    to it again until it is added back with --resubscribe)."""
    from newsletter.audience import manage

    with open_project(project) as proj:
        removed = manage.remove(proj, list_name, email, anyway=suppress)
    rows = ", ".join(map(str, removed.rows))
    where = (
        f"removed line{'s' * (len(removed.rows) != 1)} {rows}"
        if removed.rows
        else "it was not on the list"
    )
    typer.echo(f"{removed.email}: {where}; "
               f"{'suppressed' if removed.suppressed else 'already suppressed'}.")  # fmt: skip


@app.command("pull")
def pull(list_name: ListArgument, project: ProjectOption = Path(".")) -> None:
    """Write the list's confirmed web signups into subscribers/LIST.csv (appended;
    other rows kept as they are), to commit them. Until then they are kept in the
    state and are part of the list for every send."""
    from newsletter.audience import manage

    with open_project(project) as proj:
        pulled = manage.pull(proj, list_name)
    if pulled.dropped:
        warn(f"{pulled.shown} has no column for {', '.join(sorted(pulled.dropped))}: "
             "those fields of the signups are kept in the state only")  # fmt: skip
    there = f" ({pulled.there:,} already in it)" if pulled.there else ""
    added = len(pulled.added)
    if not added:
        typer.echo(f"No confirmed signups to write into {pulled.shown}{there}.")
        return
    typer.echo(f"Wrote {added:,} confirmed signup{'s' * (added != 1)} into "
               f"{pulled.shown}{there}; commit it.")  # fmt: skip


@app.command("check")
def check(
    list_name: ListArgument, as_json: JsonOption = False, project: ProjectOption = Path(".")
) -> None:
    """Report every bad row of a list with its line number and why (invalid address,
    duplicate, missing email, not UTF-8, too many values); exit 1 if there are any."""
    from newsletter.audience import manage

    with open_project(project) as proj:
        bad, total = manage.bad_rows(proj, list_name)
        shown = proj.shown(proj.list_path(list_name))
    if as_json:
        rows = [{"line": b.line, "reason": b.reason, "value": b.value} for b in bad]
        data = {"list": list_name, "file": shown, "rows": total, "bad_rows": rows}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        for row in bad:
            typer.echo(row.describe(shown))
        typer.echo(f"{shown}: {total:,} rows, {len(bad):,} bad.")
    if bad:
        raise typer.Exit(1)


@app.command("sync")
def sync(as_json: JsonOption = False, project: ProjectOption = Path(".")) -> None:
    """Pull SendGrid's unsubscribes, group unsubscribes, bounces, spam reports, blocks
    and invalid addresses into the project's suppressions (only what is new since the
    last sync). `cron` does this on every run when the SendGrid transport is set."""
    from newsletter.audience.sync import sync as pull

    with open_project(project) as proj:
        report = pull(proj)
    if as_json:
        typer.echo(json.dumps(report.data(), indent=2))
        return
    seen = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in report.pulled.items())
    typer.echo(f"Synced from SendGrid: {seen}; {report.new:,} new suppression"
               f"{'s' * (report.new != 1)}.")  # fmt: skip


def _register() -> None:
    from newsletter.cli import suppressions
    from newsletter.cli.subscribers_import import import_
    from newsletter.cli.subscribers_person import export, forget

    app.command("import")(import_)
    app.add_typer(suppressions.app, name="suppressions")
    app.command("export")(export)
    app.command("forget")(forget)


_register()
