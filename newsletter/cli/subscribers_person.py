"""`newsletter subscribers export EMAIL` and `subscribers forget EMAIL`: a person's
data on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, interactive, open_project
from newsletter.cli.output import print_notes

if TYPE_CHECKING:
    from newsletter.audience.person import ForgetReport, PersonExport

EmailArgument = Annotated[str, typer.Argument(metavar="EMAIL", help="The address.")]


def export(email: EmailArgument, as_json: JsonOption = False,
           project: ProjectOption = Path(".")) -> None:  # fmt: skip
    """Everything the project holds of an address: its rows of every list (every
    field), its suppression and the lifts of it, every issue sent to it (its state,
    when, message id, reason), its signups and consent, the outbox's copies. An address the
    project holds nothing of says so (exit 0)."""
    from newsletter.audience.person import export as gather

    with open_project(project) as proj:
        found = gather(proj, email)
        zone = proj.settings.newsletter.timezone
    if as_json:
        typer.echo(json.dumps(found.data(), indent=2, ensure_ascii=False))
        return
    for line in _export_lines(found, zone):
        typer.echo(line)


def _export_lines(found: PersonExport, zone: str) -> list[str]:
    from newsletter.audience.suppressions import why_suppressed
    from newsletter.clock import show

    s = found.state
    if found.empty():
        return [f"{found.email}: nothing held (on no list, no suppression, no issue sent to it)."]
    lines = [f"{found.email}: " + ("asked to be forgotten; the state keeps its hash"
                                   if found.forgotten else "what this project holds")]  # fmt: skip
    lines.append("lists:" if found.rows else "lists: none")
    for row in found.rows:
        values = ", ".join(f"{k}={v}" for k, v in row.fields.items())
        skipped = f" (skipped by sends: {row.bad})" if row.bad else ""
        lines.append(f"  {row.list_name}, line {row.line}: {values}{skipped}")
    suppression = s.suppression
    lines.append(f"suppression: {why_suppressed(suppression) if suppression else 'none'}")
    for lift in s.lifts:
        lines.append(f"  lifted {show(lift.lifted_at, zone)} ({lift.lifted_by}): "
                     f"{lift.reason} ({lift.source}); why: {lift.lift_reason}")  # fmt: skip
    lines.append("issues sent to it:" if s.deliveries else "issues sent to it: none")
    for d in s.deliveries:
        when = show(d.at, zone) if d.at else "-"
        extra = "".join(
            f", {label} {v}"
            for label, v in (("message id", d.message_id), ("reason", d.reason))
            if v
        )
        lines.append(f"  {d.issue} (list {d.list_name}): {d.state} {when}{extra}")
        if d.after:  # what the provider's events said of it
            a = d.after
            said = f"{a['state']}" + (f" ({a['bounce']})" if a["bounce"] else "")
            said += f": {a['reason']}" if a["reason"] else ""
            counts = [(n, a[k]) for n, k in (("opens", "opens"), ("clicks", "clicks")) if a[k]]
            said += "".join(f", {n} {v}" for n, v in counts)
            lines.append(f"    after: {said}")
    lines.append("signups and consent: none kept" if not s.signups else "signups and consent:")
    for signup in s.signups:
        asked = show(str(signup["asked_at"]), zone)
        done = signup["confirmed_at"]
        confirmed = f", confirmed {show(str(done), zone)}" if done else ""
        lifted = f", lifting {signup['lifted']}" if signup["lifted"] else ""
        lines.append(f"  {signup['list']}: {signup['state']}, asked {asked} on "
                     f"{signup['form']} (client hash {str(signup['client_hash'])[:12] or '-'})"
                     f"{confirmed}{lifted}")  # fmt: skip
    for name, at in sorted(s.left.items()):
        lines.append(f"  left list {name} on the preferences page {show(at, zone)}")
    lines.append("outbox: " + (", ".join(found.outbox) or "none"))
    return lines


def forget(
    email: EmailArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Forget an address: its rows leave every list file, its suppression and the rest
    leave the state, its copies leave the outbox; its rows as a recipient stay in each
    issue's counts under a keyed hash of the address, and the hash is kept as a
    suppression so no import, add or send reaches it again. Git history (and any `state export` made
    before) still holds it. Asks on a terminal unless --yes."""
    from newsletter.audience.person import forget as forget_one
    from newsletter.audience.person import lists_with
    from newsletter.audience.suppressions import address_of

    with open_project(project) as proj:
        if interactive() and not yes:
            address = address_of(email)
            names = ", ".join(f.path.stem for f in lists_with(proj, address)) or "no list"
            typer.confirm(f"Forget {address} (on {names}) in the lists, the state and the "
                          "outbox? This cannot be undone", abort=True)  # fmt: skip
        done = forget_one(proj, email)
        shown = {name: proj.shown(proj.list_path(name)) for name in done.lists}
        engine = proj.state.engine.name
    if as_json:
        typer.echo(json.dumps(done.data(), indent=2, ensure_ascii=False))
    else:
        for line in _forget_lines(done, shown):
            typer.echo(line)
    files = ", ".join(shown.values()) or "the list files"
    notes = [f"git history still holds earlier versions of {files}, and any `newsletter "
             "state export` file made before holds the address: rewrite or delete them if "
             "they must forget it too"]  # fmt: skip
    if engine == "postgresql":
        notes.append(
            "PostgreSQL keeps the rows' old versions in its files until its vacuum "
            "reuses their space, and its write-ahead log and backups for longer"
        )
    print_notes(notes)


def _forget_lines(done: ForgetReport, shown: dict[str, str]) -> list[str]:
    from newsletter.audience.suppressions import why_suppressed

    state = done.state
    assert state is not None
    lists = "; ".join(f"{shown[n]} line{'s' * (len(lines) != 1)} {', '.join(map(str, lines))}"
                      for n, lines in done.lists.items())  # fmt: skip
    gone = why_suppressed(state.suppression) if state.suppression else None
    again = " (forgotten before: a row of it had come back)" if done.before else ""
    waiting = f" ({state.skipped:,} still waiting in a send: skipped)" if state.skipped else ""
    lines = [
        f"Forgot {done.email}{again}:",
        f"  lists: {'removed ' + lists if lists else 'on none'}",
        f"  suppression: {'deleted: ' + gone if gone else 'none'}",
        f"  issues: {state.deliveries:,} recipient row{'s' * (state.deliveries != 1)} kept in "
        f"their counts under its hash{waiting}",
        f"  lifts: {state.lifts:,} kept under its hash",
        f"  signups and list leaves: {state.web:,} deleted",
        f"  outbox: {done.outbox:,} file{'s' * (done.outbox != 1)} deleted",
        f"  its hash {done.hashed} is a suppression now: no import, add or send reaches "
        "the address again",
    ]
    return lines
