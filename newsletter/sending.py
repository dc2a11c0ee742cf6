"""What `send` does, as a library: plan a send (render once, pick the list and
transport), then run it, or send one test copy."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import BadRow, Subscriber, find_subscriber, read_list
from newsletter.compose import article_notes, compose
from newsletter.delivery import (
    Audience,
    BadRows,
    Progress,
    SendReport,
    count,
    deliver,
    good_rows,
    send_with_retries,
)
from newsletter.errors import AmbiguousError, ListError, StateError, UsageError
from newsletter.issue import Issue
from newsletter.ledger import IssueRecord
from newsletter.message import Envelope
from newsletter.project import Project
from newsletter.render import RenderedIssue
from newsletter.transports import make_transport
from newsletter.transports.base import Batch, Transport

TEST_LIST = "test"  # what a test copy's unsubscribe link names when the project has no list


@dataclass
class SendPlan:
    project: Project
    issue: Issue | None  # None when resumed from the ledger alone (cron)
    rendered: RenderedIssue
    list_name: str
    transport: Transport
    envelope: Envelope
    audience: Audience

    @property
    def subject(self) -> str:
        return self.rendered.subject.fill({k: f"<{k}>" for k in self.rendered.subject.keys})

    @property
    def sender(self) -> str:
        return str(self.project.settings.newsletter.from_)

    @property
    def list_path(self) -> Path:
        return self.project.list_path(self.list_name)

    @property
    def list_shown(self) -> str:
        return self.project.shown(self.list_path)

    @property
    def notes(self) -> list[str]:
        return article_notes(self.issue) if self.issue else []

    def rows(self) -> Iterator[Subscriber | BadRow]:
        return read_list(self.list_path, self.list_shown)

    def count(self) -> tuple[list[Subscriber], int, BadRows]:
        """Who a send would go to now: the list's good rows, suppressions left out."""
        from newsletter.audience.suppressions import Suppressions

        ledger = self.project.ledger()
        try:
            suppressed = frozenset(Suppressions(ledger).keys())
        finally:
            ledger.close()
        return count(self.rows(), suppressed)


def plan_send(
    project: Project,
    articles: Sequence[Path],
    list_name: str | None,
    issue_id: str | None = None,
    transport_kind: str | None = None,
    test_address: str | None = None,
    dry_run: bool = False,
) -> SendPlan:
    """Check everything that can be checked before anything is sent. With no
    articles, `issue_id` names a started issue to resume from the ledger. A dry run
    needs no API key or password (it sends nothing)."""
    if not articles:
        return _plan_started(project, list_name, issue_id, transport_kind, dry_run)
    if list_name is None and test_address is None:
        raise UsageError("missing --list LIST (or send one copy with --test EMAIL)")
    list_name = project.resolve_list(list_name) or TEST_LIST
    transport = make_transport(project, transport_kind, dry_run)
    issue, rendered = compose(project, articles, issue_id)
    settings = project.settings
    audience = Audience(list_name, settings.unsubscribe.url, project.unsubscribe_secret())
    envelope = Envelope(settings.newsletter, list_name)
    return SendPlan(project, issue, rendered, list_name, transport, envelope, audience)


def _plan_started(
    project: Project,
    list_name: str | None,
    issue_id: str | None,
    transport_kind: str | None,
    dry_run: bool = False,
) -> SendPlan:
    if issue_id is None:
        raise UsageError("missing ARTICLE (or --id ID of a started issue, to resume it)")
    ledger = project.ledger()
    try:
        record = ledger.issue(issue_id)
    finally:
        ledger.close()
    if record is None:
        raise UsageError(f"no ARTICLE given, and no issue {issue_id!r} in the ledger to resume")
    if list_name is not None and list_name != record.list_name:
        raise UsageError(
            f"issue {issue_id} was started for list {record.list_name}, not {list_name}"
        )
    return plan_resume(project, record, transport_kind, dry_run)


def plan_resume(
    project: Project,
    record: IssueRecord,
    transport_kind: str | None = None,
    dry_run: bool = False,
) -> SendPlan:
    """A plan for an issue whose send started before, from the ledger alone: its
    frozen content, list and transport (the articles may have changed or gone)."""
    transport = make_transport(project, transport_kind or record.transport, dry_run)
    settings = project.settings
    audience = Audience(record.list_name, settings.unsubscribe.url, project.unsubscribe_secret())
    envelope = Envelope(settings.newsletter, record.list_name)
    return SendPlan(project, None, record.rendered(), record.list_name, transport, envelope,
                    audience)  # fmt: skip


def run_send(
    plan: SendPlan,
    progress: Progress | None = None,
    wait: bool = False,
    retry_ambiguous: bool = False,
    mark_ambiguous_sent: bool = False,
) -> SendReport:
    """Send the issue through the ledger, holding the issue's send lock (LockHeld
    when another run holds it and `wait` is false)."""
    try:
        with plan.project.send_lock(plan.rendered.id, wait):
            return send_locked(plan, progress, retry_ambiguous, mark_ambiguous_sent)
    finally:
        plan.transport.close()


def send_locked(
    plan: SendPlan,
    progress: Progress | None = None,
    retry_ambiguous: bool = False,
    mark_ambiguous_sent: bool = False,
) -> SendReport:
    """The send itself; the caller holds the issue's send lock.

    The first run freezes the issue (its rendered content and its recipients, in one
    transaction); a later run resumes it with that same content, whatever changed in
    the articles or the list since. A completed issue is not sent again."""
    project, issue_id = plan.project, plan.rendered.id
    clock = project.clock
    report = SendReport(issue_id, plan.list_name, plan.transport.name,
                        plan.transport.destination(issue_id))  # fmt: skip
    ledger = project.ledger()
    try:
        record = ledger.issue(issue_id)
        rendered = plan.rendered
        if record is None:
            if plan.issue is None:
                raise StateError(f"issue {issue_id} is not in the ledger")
            subscribers = good_rows(plan.rows(), report.bad_rows)
            ledger.freeze(rendered, plan.list_name, plan.transport.name,
                          [project.shown(a.path) for a in plan.issue.articles],
                          content_hash(plan.issue), subscribers, clock.now())  # fmt: skip
        else:
            report.resumed = True
            if record.list_name != plan.list_name:
                raise UsageError(
                    f"issue {issue_id} was started for list {record.list_name}, not "
                    f"{plan.list_name}; give it another --id to send it to this list"
                )
            report.content_changed = bool(
                plan.issue and record.content_hash != content_hash(plan.issue)
            )
            rendered = record.rendered()
            if record.state == "done" and not (retry_ambiguous or mark_ambiguous_sent):
                report.done_at = record.finished_at
                report.done_count = ledger.counts(issue_id)["sent"]
                return report
        report.recovered = ledger.recover(issue_id, clock.now())
        if retry_ambiguous or mark_ambiguous_sent:
            ledger.reopen_ambiguous(issue_id, clock.now(), as_sent=mark_ambiguous_sent)
        deliver(ledger, rendered, plan.audience, plan.envelope, plan.transport, report,
                progress, clock)  # fmt: skip
        counts = ledger.counts(issue_id)
        report.held = counts["ambiguous"]
        report.pending = counts["pending"]
        report.skipped = counts["skipped"]
        return report
    finally:
        ledger.close()


def frozen_counts(plan: SendPlan) -> dict[str, int] | None:
    """The recipient counts of this issue when a send of it started before, else None."""
    ledger = plan.project.ledger()
    try:
        found = ledger.issue(plan.rendered.id) is not None
        return ledger.counts(plan.rendered.id) if found else None
    finally:
        ledger.close()


def content_hash(issue: Issue) -> str:
    """Of the article files as they are now: a resumed send warns when they changed."""
    digest = hashlib.sha256()
    for article in issue.articles:
        with contextlib.suppress(OSError):
            digest.update(article.path.read_bytes())
    return digest.hexdigest()


def check_outcome(plan: SendPlan, report: SendReport) -> None:
    """Raise what went wrong with a finished send: the transport's error, or a list
    that had nobody to send to."""
    if report.error and not isinstance(report.error, AmbiguousError):
        raise report.error
    if report.held:
        raise AmbiguousError(
            f"{report.held:,} recipients of issue {report.issue_id} are held as ambiguous "
            "(handed over, no answer came); to resend them: newsletter send --id "
            f"{report.issue_id} --retry-ambiguous (or --mark-ambiguous-sent if you know "
            "they arrived)"
        )
    if (
        report.done_at is None
        and report.accepted == 0
        and report.refused == 0
        and not (report.resumed or report.skipped)
    ):
        raise nobody_on(plan)


def nobody_on(plan: SendPlan) -> ListError:
    return ListError("no valid subscribers on this list; nothing was sent", where=plan.list_shown)


def run_test_send(plan: SendPlan, address: str) -> str:
    """One copy, marked as a test, to `address`; personalised as that subscriber when
    the list has them. Returns the address it went to."""
    try:
        email = normalise_address(address)
    except BadAddress as exc:
        raise UsageError(f"--test {address!r}: {exc}") from None
    subscriber = None
    if plan.list_path.is_file():
        subscriber = find_subscriber(plan.list_path, email, plan.list_shown)
    recipient = plan.audience.recipient(subscriber or Subscriber(email), plan.rendered)
    try:
        batch = Batch(plan.rendered, (recipient,), plan.envelope, test=True)
        send_with_retries(plan.transport, batch, plan.project.clock)
    finally:
        plan.transport.close()
    return email
