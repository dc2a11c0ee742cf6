"""What `cron` does, as a library: send every queued issue whose time has come and
resume every interrupted send. Safe to run every minute, and several at once: each
issue is sent under its own lock, and an issue another run holds is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.audience.sync import SyncReport, sync
from newsletter.delivery import Progress, SendReport
from newsletter.errors import AmbiguousError, CheckError, LockHeld, NewsletterError
from newsletter.ledger import IssueRecord, Ledger
from newsletter.project import Project
from newsletter.queue import Backoff, Entry, Queue
from newsletter.sending import SendPlan, check_outcome, plan_resume, plan_send, send_locked

WHO = "newsletter cron"


@dataclass
class CronResult:
    """One issue this run did something about: sent, resumed, or failed to."""

    issue_id: str
    scheduled: bool  # a queued issue whose time came; else a resumed send
    report: SendReport | None = None
    error: NewsletterError | None = None  # what went wrong (the send's own, or before it)
    retry_at: datetime | None = None  # after an error: when cron tries it again


@dataclass
class CronRun:
    results: list[CronResult]
    synced: SyncReport | None = None  # SendGrid's suppressions pulled first
    sync_error: NewsletterError | None = None
    sync_retry_at: datetime | None = None


def run_cron(project: Project, progress: Progress | None = None) -> CronRun:
    """With the SendGrid transport, SendGrid's suppressions first (so they apply to
    this run's sends); then every due issue, then every interrupted one. Issues with
    nothing to do, or held by another run, are left out: a quiet run prints nothing."""
    run = CronRun([])
    if project.settings.transport.kind == "sendgrid" and not _waiting(project, SYNC):
        try:
            run.synced = sync(project)
        except NewsletterError as exc:  # reported; the sends go on with what is known
            run.sync_error = exc
        run.sync_retry_at = _settle_backoff(project, SYNC, run.sync_error)
    run.results = _sends(project, progress)
    return run


SYNC = "sync:sendgrid"  # its back-off's key (no issue id has a colon)


def _waiting(project: Project, key: str) -> bool:
    ledger = project.ledger()
    try:
        return key in Backoff(ledger).waiting(project.clock.now())
    finally:
        ledger.close()


def _settle_backoff(project: Project, key: str, error: NewsletterError | None) -> datetime | None:
    ledger = project.ledger()
    try:
        backoff = Backoff(ledger)
        if error is None:
            backoff.succeeded(key)
            return None
        return backoff.failed(key, project.clock.now())
    finally:
        ledger.close()


def _sends(project: Project, progress: Progress | None) -> list[CronResult]:
    now = project.clock.now()
    ledger = project.ledger()
    try:
        waiting = Backoff(ledger).waiting(now)  # failed lately: not yet
        due = [e for e in Queue(ledger).due(now) if e.issue_id not in waiting]
        interrupted = [r for r in ledger.issues() if r.state == "sending"
                       and r.id not in waiting and _resumable(ledger, r)]  # fmt: skip
    finally:
        ledger.close()
    results = [_send_due(project, entry, progress) for entry in due]
    started = {entry.issue_id for entry in due}
    results += [_resume(project, r, progress) for r in interrupted if r.id not in started]
    done = [r for r in results if r is not None]
    _back_off(project, done)
    return done


def _back_off(project: Project, results: list[CronResult]) -> None:
    """A failed send is tried again later and later; one that went is forgiven. Held
    ambiguous recipients are not a failure to retry: they wait for the editor."""
    for result in results:
        error = None if isinstance(result.error, AmbiguousError) else result.error
        result.retry_at = _settle_backoff(project, result.issue_id, error)


def _resumable(ledger: Ledger, record: IssueRecord) -> bool:
    """Someone still to send to (pending), or rows a dead run left in flight (they
    become ambiguous, which is worth one report). Held ambiguous rows alone wait for
    the editor: cron does not nag about them every minute."""
    counts = ledger.counts(record.id)
    return bool(counts["pending"] or counts["in_flight"])


def _send_due(project: Project, entry: Entry, progress: Progress | None) -> CronResult | None:
    result = CronResult(entry.issue_id, scheduled=True)
    try:
        with project.send_lock(entry.issue_id, what=WHO):
            ledger = project.ledger()
            try:
                current = Queue(ledger).get(entry.n)
                if current is None or current.state != "queued":
                    return None  # cancelled, or started by another run meanwhile
                record = ledger.issue(entry.issue_id)
            finally:
                ledger.close()
            plan = (
                plan_resume(project, record)  # killed after its freeze: the frozen content
                if record is not None
                else _plan(project, entry)
            )
            try:
                result.report = send_locked(plan, progress)
            finally:
                plan.transport.close()
            _mark_started(project, entry)  # frozen now: from here on it is a resumed send
            check_outcome(plan, result.report)
    except LockHeld:
        return None
    except NewsletterError as exc:
        result.error = exc
        _note(project, entry, exc)
    if result.report is not None and result.report.done_at and result.error is None:
        return None  # sent completely by another run before this one got the lock
    return result


def _plan(project: Project, entry: Entry) -> SendPlan:
    """The send of a due issue, from its articles as they are now: `check` runs on it
    as on any send, and an error keeps it queued (unless it was queued with --force)."""
    from newsletter.check import check_plan

    articles = [project.root / Path(a) for a in entry.articles]
    plan = plan_send(project, articles, entry.list_name, entry.issue_id, entry.transport)
    if not entry.force:
        errors = check_plan(plan).errors
        if errors:
            plan.transport.close()
            raise CheckError(
                f"`newsletter check` finds {len(errors)} error{'s' * (len(errors) != 1)} in "
                f"it now ({errors[0].rule}: {errors[0].message}); it stays queued: fix "
                "the articles, or queue it again with --force"
            )
    return plan


def _resume(project: Project, record: IssueRecord, progress: Progress | None) -> CronResult | None:
    result = CronResult(record.id, scheduled=False)
    try:
        with project.send_lock(record.id, what=WHO):
            ledger = project.ledger()
            try:
                fresh = ledger.issue(record.id)
                if fresh is None or fresh.state != "sending" or not _resumable(ledger, fresh):
                    return None  # finished by another run meanwhile
            finally:
                ledger.close()
            plan = plan_resume(project, fresh)
            try:
                result.report = send_locked(plan, progress)
            finally:
                plan.transport.close()
            check_outcome(plan, result.report)
    except LockHeld:
        return None
    except NewsletterError as exc:
        result.error = exc
    return result


def _mark_started(project: Project, entry: Entry) -> None:
    ledger = project.ledger()
    try:
        Queue(ledger).mark(entry.n, "started", project.clock.now())
    finally:
        ledger.close()


def _note(project: Project, entry: Entry, error: NewsletterError) -> None:
    """Keep a due entry queued when its send could not start (a missing article, an
    unset API key in cron's environment): it goes out once that is fixed, and the
    reason shows in `schedule --list-queued` meanwhile."""
    ledger = project.ledger()
    try:
        Queue(ledger).note(entry.n, str(error), project.clock.now())
    finally:
        ledger.close()
