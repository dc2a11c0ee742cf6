"""What `schedule` does, as a library: check an issue and its list now, queue it for
a time; list the queue; cancel an entry. `cron` sends what is due (cron.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter.delivery import BadRows
from newsletter.errors import UsageError
from newsletter.project import Project
from newsletter.queue import Entry, Queue
from newsletter.sending import SendPlan, nobody_on, plan_send
from newsletter.when import parse_when, show


@dataclass
class Scheduled:
    entry: Entry
    plan: SendPlan
    recipients: int  # on the list now; the list is read again when the send starts
    bad_rows: BadRows


def schedule_issue(
    project: Project,
    articles: Sequence[Path],
    list_name: str | None,
    at: str | None,
    now: bool = False,
    issue_id: str | None = None,
    transport_kind: str | None = None,
    check: Callable[[SendPlan], None] | None = None,
    force: bool = False,
) -> Scheduled:
    """Queue an issue for a time. Everything that can fail at send time is checked
    now: the time, the settings and transport, the articles render, the list reads
    and has someone on it, the issue was not sent before; `check` (the CLI's lint of
    the email) may refuse it by raising."""
    if at is None and not now:
        raise UsageError("missing --at WHEN (or --now to send at the next cron run)")
    if list_name is None:
        raise UsageError("missing --list LIST")
    zone = project.settings.newsletter.timezone
    current = project.clock.now()
    send_at = parse_when(at, zone, current, allow_past=now) if at is not None else current
    plan = plan_send(project, articles, list_name, issue_id, transport_kind)
    try:
        if check is not None:
            check(plan)
        _, total, bad = plan.count()
        if total == 0:
            raise nobody_on(plan)
        ledger = project.ledger()
        try:
            record = ledger.issue(plan.rendered.id)
            if record is not None:
                done = record.state == "done"
                raise UsageError(
                    f"issue {record.id} was {'sent' if done else 'started'} on "
                    f"{record.created_at[:16].replace('T', ' ')}; give another --id to "
                    "send these articles again"
                )
            given = send_at.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
            assert plan.issue is not None
            paths = [_stored(project, a.path) for a in plan.issue.articles]
            entry = Queue(ledger).add(
                plan.rendered.id, plan.list_name, paths,
                transport_kind, send_at, given, current, force,
            )  # fmt: skip
        finally:
            ledger.close()
    finally:
        plan.transport.close()
    return Scheduled(entry, plan, total, bad)


def _stored(project: Project, path: Path) -> str:
    """An article's path as cron will find it: relative to the project when inside it
    (cron runs from anywhere), absolute otherwise."""
    found = path.resolve()
    try:
        return found.relative_to(project.root).as_posix()
    except ValueError:
        return str(found)


def queued(project: Project) -> list[Entry]:
    ledger = project.ledger()
    try:
        return Queue(ledger).queued()
    finally:
        ledger.close()


@dataclass(frozen=True)
class Cancelled:
    issue_id: str
    list_name: str
    queued: Entry | None  # taken off the schedule; else a started send was stopped
    skipped: int = 0  # recipients of a started send who will not get it
    held: int = 0  # its recipients still held as ambiguous (not touched)


def cancel(project: Project, issue_id: str) -> Cancelled:
    """Take a queued issue off the schedule; or stop a started send (cron would
    resume it): whoever has not got it yet is skipped. Under the issue's send lock,
    so no run can be sending it at the same moment."""
    ledger = project.ledger()
    now = project.clock.now()
    try:
        with project.send_lock(issue_id, what="newsletter schedule --cancel"):
            queue = Queue(ledger)
            entries = queue.queued(issue_id)
            if entries:
                queue.mark(entries[0].n, "cancelled", now)
                return Cancelled(issue_id, entries[0].list_name, entries[0])
            record = ledger.issue(issue_id)
            if record is None:
                raise UsageError(f"no queued or started issue {issue_id!r} (see newsletter status)")
            if record.state == "done":
                raise UsageError(
                    f"issue {issue_id} was sent completely on "
                    f"{(record.finished_at or '')[:16].replace('T', ' ')}; nothing to cancel"
                )
            skipped = ledger.cancel(issue_id, "cancelled by the editor", now)
            ledger.finish_if_done(issue_id, now)
            held = ledger.counts(issue_id)["ambiguous"]
            return Cancelled(issue_id, record.list_name, None, skipped, held)
    finally:
        ledger.close()


def when_shown(project: Project, entry: Entry) -> str:
    return show(entry.send_at, project.settings.newsletter.timezone)
