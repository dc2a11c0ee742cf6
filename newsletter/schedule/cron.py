"""What `cron` does: send every queued issue whose time has come and resume every
interrupted send. Safe to run every minute, and several at once: each issue is sent
under its own lock, and an issue another run holds is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.audience.confirmations import Mailed, send_all_confirmations
from newsletter.audience.sync import SyncReport, sync
from newsletter.errors import AmbiguousError, LockHeld, NewsletterError
from newsletter.project import Project
from newsletter.render.issue_view import IssueFields
from newsletter.schedule.welcome import Welcomes, freeze_welcomes
from newsletter.send.decide import queued_audience
from newsletter.send.gate import gate
from newsletter.send.plan import SendPlan, plan_resume, plan_send
from newsletter.send.report import OnBatch, SendReport
from newsletter.send.run import check_outcome, send_locked
from newsletter.state.issues import IssueRecord
from newsletter.state.schedule import Queued

WHO = "newsletter cron"
SYNC = "sync:sendgrid"  # its back-off's key (no issue id has a colon)


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
    confirmations: Mailed | None = None  # signups' confirmation mails sent (serve's left)
    confirmations_error: NewsletterError | None = None
    welcomes: Welcomes | None = None  # welcome issues frozen for new signups


def run_cron(project: Project, on_batch: OnBatch | None = None) -> CronRun:
    """With the SendGrid transport, SendGrid's suppressions first (so they apply to
    this run's sends); then every due issue, then every interrupted one. Issues with
    nothing to do, or held by another run, are left out: a quiet run prints nothing."""
    run = CronRun([])
    backoff = project.state.backoff
    if project.settings.transport.kind == "sendgrid" and SYNC not in backoff.waiting(
        project.clock.now()
    ):
        try:
            run.synced = sync(project)
        except NewsletterError as exc:  # reported; the sends go on with what is known
            run.sync_error = exc
        run.sync_retry_at = _settle_backoff(project, SYNC, run.sync_error)
    try:  # the endpoint's mailer sends them at once; what it left (stopped, failing) here
        run.confirmations = send_all_confirmations(project)
    except NewsletterError as exc:
        run.confirmations_error = exc
    run.welcomes = freeze_welcomes(project)  # sent below with the interrupted issues
    run.results = _sends(project, on_batch)
    return run


def _settle_backoff(project: Project, key: str, error: NewsletterError | None) -> datetime | None:
    """A failure is tried again later and later; a success is forgiven."""
    backoff = project.state.backoff
    if error is None:
        backoff.succeeded(key)
        return None
    return backoff.failed(key, project.clock.now())


def _sends(project: Project, on_batch: OnBatch | None) -> list[CronResult]:
    state, now = project.state, project.clock.now()
    waiting = state.backoff.waiting(now)  # failed lately: not yet
    due = [e for e in state.queue.due(now) if e.issue_id not in waiting]
    interrupted = [r for r in state.issues.all() if r.state == "sending"
                   and r.id not in waiting and _resumable(project, r)]  # fmt: skip
    results = [_send_due(project, entry, on_batch) for entry in due]
    started = {entry.issue_id for entry in due}
    results += [_resume(project, r, on_batch) for r in interrupted if r.id not in started]
    done = [r for r in results if r is not None]
    for result in done:  # held ambiguous recipients wait for the editor: not a failure
        error = None if isinstance(result.error, AmbiguousError) else result.error
        result.retry_at = _settle_backoff(project, result.issue_id, error)
    return done


def _resumable(project: Project, record: IssueRecord) -> bool:
    """Someone still to send to (pending), or rows a dead run left in flight (they
    become ambiguous, which is worth one report). Held ambiguous rows alone wait for
    the editor: cron does not nag about them every minute."""
    counts = project.state.ledger.counts(record.id)
    return bool(counts["pending"] or counts["in_flight"])


def _send_due(project: Project, entry: Queued, on_batch: OnBatch | None) -> CronResult | None:
    result = CronResult(entry.issue_id, scheduled=True)
    state = project.state
    try:
        with project.send_lock(entry.issue_id, what=WHO, shared=True):
            current = state.queue.get(entry.n)
            record = state.issues.get(entry.issue_id)
            if current is None or current.state not in ("queued", "started"):
                return None  # cancelled meanwhile
            if current.state == "started" and not (
                record and record.state == "sending" and _resumable(project, record)
            ):
                return None  # started and sent by another run meanwhile
            plan = (
                plan_resume(project, record)  # killed after its freeze: the frozen content
                if record is not None
                else _plan(project, entry)
            )
            try:
                result.report = send_locked(plan, on_batch)
            finally:
                plan.transport.close()
            # the freeze started the entry; a list with nobody on it froze nothing
            state.queue.mark(entry.n, "started", project.clock.now())
            check_outcome(plan, result.report)
    except LockHeld:
        return None
    except NewsletterError as exc:
        result.error = exc
        # it stays queued, with the reason: it goes out once that is fixed
        state.queue.note(entry.n, str(exc), project.clock.now())
    if _left_to_others(result):
        return None  # sent by other runs: completely before this one got the lock, or
    return result  # all of what was left while this one joined them


def _left_to_others(result: CronResult) -> bool:
    report = result.report
    if report is None or result.error is not None:
        return False
    joined = report.resumed and not (report.accepted or report.refused or report.recovered)
    return bool(report.done_at) or (joined and not report.held)


def _plan(project: Project, entry: Queued) -> SendPlan:
    """The send of a due issue, from its articles as they are now: `check` runs on it
    as on any send, and an error keeps it queued (unless it was queued with --force)."""
    articles = [project.root / Path(a) for a in entry.articles]
    plan = plan_send(project, articles, queued_audience(entry), entry.issue_id, entry.transport,
                     force=entry.force, overrides=IssueFields.of(entry.fields))  # fmt: skip
    try:
        gate(plan, entry.force)
    except NewsletterError:
        plan.transport.close()
        raise
    return plan


def _resume(project: Project, record: IssueRecord, on_batch: OnBatch | None) -> CronResult | None:
    result = CronResult(record.id, scheduled=False)
    try:
        with project.send_lock(record.id, what=WHO, shared=True):
            fresh = project.state.issues.get(record.id)
            if fresh is None or fresh.state != "sending" or not _resumable(project, fresh):
                return None  # finished by another run meanwhile
            plan = plan_resume(project, fresh)
            try:
                result.report = send_locked(plan, on_batch)
            finally:
                plan.transport.close()
            check_outcome(plan, result.report)
    except LockHeld:
        return None
    except NewsletterError as exc:
        result.error = exc
    return None if _left_to_others(result) else result
