"""What `schedule` does: check an issue and its list now and queue it for a time; list
the queue; cancel an entry, or stop a started send. `cron` sends what is due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter.audience.targeting import Targeting
from newsletter.check import CheckReport
from newsletter.clock import show
from newsletter.errors import IssueError, UsageError
from newsletter.project import Project
from newsletter.render.issue_view import IssueFields
from newsletter.schedule.when import parse_when
from newsletter.send.gate import gate
from newsletter.send.plan import SendPlan, nobody_on, plan_send
from newsletter.send.report import BadRows
from newsletter.state.ledger import CANCELLED
from newsletter.state.schedule import AlreadyQueued, Queued


@dataclass
class Scheduled:
    entry: Queued
    plan: SendPlan
    recipients: int  # on the list now; the list is read again when the send starts
    bad_rows: BadRows
    checked: CheckReport


def schedule_issue(
    project: Project,
    articles: Sequence[Path],
    list_name: Targeting | str | None,
    at: str | None,
    now: bool = False,
    issue_id: str | None = None,
    transport_kind: str | None = None,
    force: bool = False,
    overrides: IssueFields | None = None,
) -> Scheduled:
    """Queue an issue for a time. Everything that can fail at send time is checked
    now: the time, the settings and transport, the articles render and pass `check`
    (unless `force`), the list reads and has someone on it, the issue was not sent
    before."""
    if at is None and not now:
        raise UsageError("missing --at WHEN (or --now to send at the next cron run)")
    if Targeting.of(list_name).empty:
        raise UsageError("missing --list LIST")
    current = project.clock.now()
    zone = project.settings.newsletter.timezone
    send_at = parse_when(at, zone, current, allow_past=now) if at is not None else current
    plan = plan_send(project, articles, list_name, issue_id, transport_kind, force=force,
                     overrides=overrides)  # fmt: skip
    try:
        checked = gate(plan, force)
        headcount = plan.count()
        if headcount.total == 0:
            raise nobody_on(plan)
        with project.send_lock(plan.id, what="newsletter schedule"):  # no freeze meanwhile
            options = overrides.options() if overrides else {}
            if plan.targeted:  # the audience, checked now, is selected again at its time
                options["audience"] = plan.audience_data()
            entry = _queue(project, plan, send_at, transport_kind, force, current, options)
    finally:
        plan.transport.close()
    return Scheduled(entry, plan, headcount.total, headcount.bad, checked)


def _queue(
    project: Project,
    plan: SendPlan,
    send_at: datetime,
    transport_kind: str | None,
    force: bool,
    current: datetime,
    options: dict[str, object],
) -> Queued:
    """The entry, if the issue was never started (the caller holds its send lock)."""
    zone = project.settings.newsletter.timezone
    record = plan.frozen()
    if record is not None:
        done = record.state == "done"
        raise IssueError(
            f"issue {record.id} was {'sent' if done else 'started'} on "
            f"{show(record.created_at, zone)}; give another --id to send these "
            "articles again"
        )
    given = send_at.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
    assert plan.issue is not None
    paths = [_stored(project, a.path) for a in plan.issue.articles]
    try:
        return project.state.queue.add(
            plan.id,
            plan.list_name,
            paths,
            transport_kind,
            send_at,
            given,
            current,
            force,
            options,
        )
    except AlreadyQueued:
        (queued,) = project.state.queue.queued(plan.id)
        raise IssueError(
            f"issue {plan.id} is already queued for {when_shown(project, queued)}; cancel it first "
            f"(newsletter schedule --cancel {plan.id}) or give another --id"
        ) from None


def _stored(project: Project, path: Path) -> str:
    """An article's path as cron will find it: relative to the project when inside it
    (cron runs from anywhere), absolute otherwise."""
    found = path.resolve()
    try:
        return found.relative_to(project.root).as_posix()
    except ValueError:
        return str(found)


def queued(project: Project) -> list[Queued]:
    return project.state.queue.queued()


@dataclass(frozen=True)
class Cancelled:
    issue_id: str
    list_name: str
    queued: Queued | None  # taken off the schedule; else a started send was stopped
    skipped: int = 0  # recipients of a started send who will not get it
    held: int = 0  # its recipients still held as ambiguous (not touched)


def cancel(project: Project, issue_id: str) -> Cancelled:
    """Take a queued issue off the schedule; or stop a started send (cron would
    resume it): whoever has not got it yet is skipped. Under the issue's send lock,
    so no run can be sending it at the same moment."""
    state, now = project.state, project.clock.now()
    zone = project.settings.newsletter.timezone
    with project.send_lock(issue_id, what="newsletter schedule --cancel"):
        entries = state.queue.queued(issue_id)
        if entries:
            state.queue.mark(entries[0].n, "cancelled", now)
            return Cancelled(issue_id, entries[0].list_name, entries[0])
        record = state.issues.get(issue_id)
        if record is None:
            raise IssueError(f"no queued or started issue {issue_id!r} (see newsletter status)")
        if record.state == "done":
            raise IssueError(
                f"issue {issue_id} was sent completely on "
                f"{show(record.finished_at or record.created_at, zone)}; nothing to cancel"
            )
        state.ledger.recover(issue_id, now)  # in flight under our lock: a dead run's
        skipped = state.ledger.cancel(issue_id, CANCELLED, now)
        state.ledger.finish_if_done(issue_id, now)
        held = state.ledger.counts(issue_id)["ambiguous"]
        return Cancelled(issue_id, record.list_name, None, skipped, held)


def when_shown(project: Project, entry: Queued) -> str:
    return show(entry.send_at, project.settings.newsletter.timezone)
