"""A planned send, run: under the issue's send lock, frozen on its first run (content
and recipients, in one transaction) and resumed on any later one with that same
content, whatever changed since; a completed issue is not sent again. And one test
copy, outside the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import Subscriber
from newsletter.audience.rows import find_members
from newsletter.errors import AmbiguousError, PermanentError, StateError, UsageError
from newsletter.personalise import Personaliser
from newsletter.send.decide import decide, same_list
from newsletter.send.loop import deliver
from newsletter.send.plan import SendPlan, content_hash, nobody_on
from newsletter.send.report import OnBatch, SendReport
from newsletter.send.retry import send_with_retries
from newsletter.state.engine import Conflict
from newsletter.state.issues import IssueRecord
from newsletter.transports.base import Batch


def run_send(
    plan: SendPlan,
    on_batch: OnBatch | None = None,
    wait: bool = False,
    retry_ambiguous: bool = False,
    mark_ambiguous_sent: bool = False,
) -> SendReport:
    """Send the issue through the ledger, holding the issue's send lock (LockHeld
    when another run holds it and `wait` is false). Runs of several hosts send an
    issue together (the lock shared), but the editor's call on ambiguous recipients
    takes the issue alone: it settles what the editor saw, not a batch another run
    has just held."""
    editor = retry_ambiguous or mark_ambiguous_sent
    try:
        with plan.project.send_lock(plan.id, wait, shared=not editor):
            return send_locked(plan, on_batch, retry_ambiguous, mark_ambiguous_sent)
    finally:
        plan.transport.close()


def send_locked(
    plan: SendPlan,
    on_batch: OnBatch | None = None,
    retry_ambiguous: bool = False,
    mark_ambiguous_sent: bool = False,
) -> SendReport:
    """The send itself; the caller holds the issue's send lock."""
    project = plan.project
    clock, ledger = project.clock, project.state.ledger
    report = SendReport(plan.id, plan.list_name, plan.transport.name,
                        plan.transport.destination(plan.id))  # fmt: skip
    report.audience = plan.audience_shown if plan.targeted else None
    decision = decide(plan)  # what the dry run says, decided the same way
    record = decision.record
    rendered = plan.rendered
    if record is None:
        report.was_queued = decision.queued_for
        record = _freeze(plan, report)  # None: frozen now; else by a run on another host
        if record is not None:
            same_list(plan, record)
    if record is not None:
        report.resumed = True
        report.content_changed = bool(
            plan.issue and record.content_hash != content_hash(plan.issue)
        )
        rendered = record.rendered()  # resumed: the frozen content goes
        if record.state == "done" and not (retry_ambiguous or mark_ambiguous_sent):
            report.done_at = record.finished_at
            report.done_count = ledger.counts(plan.id)["sent"]
            return report
    claimant = project.claimant
    report.recovered = ledger.recover(plan.id, clock.now(), claimant.alive)
    if retry_ambiguous or mark_ambiguous_sent:
        report.reopening = "mark" if mark_ambiguous_sent else "retry"
        report.reopened = ledger.reopen_ambiguous(plan.id, clock.now(), mark_ambiguous_sent)
    personaliser = Personaliser(rendered, plan.links)
    deliver(ledger, personaliser, plan.envelope, plan.transport, report, clock, on_batch,
            claimant=claimant)  # fmt: skip
    counts = ledger.counts(plan.id)
    report.held = counts["ambiguous"]
    report.pending = counts["pending"]
    report.skipped = counts["skipped"]
    return report


def _freeze(plan: SendPlan, report: SendReport) -> IssueRecord | None:
    """The issue frozen (None); or, when a run on another host sharing the state froze
    it first, that record, to send along with it."""
    project = plan.project
    if plan.issue is None:
        raise StateError(f"issue {plan.id} is not in the ledger")
    subscribers = plan.subscribers(report.bad_rows)
    try:
        project.state.ledger.freeze(plan.rendered, plan.list_name, plan.transport.name,
                                    [project.shown(a.path) for a in plan.issue.articles],
                                    content_hash(plan.issue), subscribers,
                                    project.clock.now(), plan.audience_data())  # fmt: skip
    except Conflict:
        found = project.state.issues.get(plan.id)
        if found is None:
            raise
        return found
    return None


def frozen_counts(plan: SendPlan) -> dict[str, int] | None:
    """The recipient counts of this issue when a send of it started before, else None."""
    if plan.frozen() is None:
        return None
    return plan.project.state.ledger.counts(plan.id)


def check_outcome(plan: SendPlan, report: SendReport) -> None:
    """Raise what went wrong with a finished send: the transport's error, recipients
    held as ambiguous, or a list that had nobody to send to."""
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
        and plan.frozen() is None  # frozen: it has recipients (others may have sent them all)
    ):
        raise nobody_on(plan)


MAX_TEST_COPIES = 25  # more is a send: through the ledger, to a list


@dataclass(frozen=True)
class TestCopy:
    """A test copy sent: to whom, and whose copy it was (None: a sample reader's, the
    template's fallbacks for the name and fields)."""

    email: str
    subscriber_of: str | None


def run_test_send(plan: SendPlan, addresses: Sequence[str]) -> list[TestCopy]:
    """One copy each, marked as a test, to `addresses` (in one batch, outside the
    ledger); each personalised as that subscriber when the plan's list has them."""
    emails = test_addresses(addresses)
    on_list = plan.list_path.is_file()
    found = find_members(plan.project, plan.list_name, emails) if on_list else {}
    copies, recipients = [], []
    for email in emails:
        subscriber = found.get(email.lower())
        recipients.append(plan.personaliser.recipient(subscriber or Subscriber(email)))
        copies.append(TestCopy(recipients[-1].email, plan.list_name if subscriber else None))
    try:
        batch = Batch(plan.rendered, tuple(recipients), plan.envelope, test=True)
        result = send_with_retries(plan.transport, batch, plan.project.clock)
    finally:
        plan.transport.close()
    if result.error is not None:
        raise result.error
    for copy in copies:  # the list's spelling of each address, when it has it
        if copy.email not in result.accepted:
            why = result.refused.get(copy.email, "the transport did not accept it")
            raise PermanentError(f"the test copy was refused: {why}", recipient=copy.email)
    return copies


def test_addresses(addresses: Sequence[str]) -> list[str]:
    emails: dict[str, str] = {}
    for address in addresses:
        try:
            email = normalise_address(address)
        except BadAddress as exc:
            raise UsageError(f"--test {address!r}: {exc}") from None
        emails.setdefault(email.lower(), email)
    if len(emails) > MAX_TEST_COPIES:
        raise UsageError(
            f"--test is given {len(emails)} addresses: a test goes to at most "
            f"{MAX_TEST_COPIES}; send to a list for more (it goes through the ledger)"
        )
    return list(emails.values())
