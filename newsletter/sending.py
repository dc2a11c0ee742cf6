"""What `send` does, as a library: plan a send (render once, pick the list and
transport), then run it, or send one test copy."""

from __future__ import annotations

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
    send_with_retries,
)
from newsletter.errors import ListError, UsageError
from newsletter.issue import Issue
from newsletter.message import Envelope
from newsletter.project import Project
from newsletter.render import RenderedIssue
from newsletter.transports import make_transport
from newsletter.transports.base import Batch, Transport

TEST_LIST = "test"  # what a test copy's unsubscribe link names when the project has no list


@dataclass
class SendPlan:
    project: Project
    issue: Issue
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
        return article_notes(self.issue)

    def rows(self) -> Iterator[Subscriber | BadRow]:
        return read_list(self.list_path, self.list_shown)

    def count(self) -> tuple[list[Subscriber], int, BadRows]:
        return count(self.rows())


def plan_send(
    project: Project,
    articles: Sequence[Path],
    list_name: str | None,
    issue_id: str | None = None,
    transport_kind: str | None = None,
    test_address: str | None = None,
) -> SendPlan:
    """Check everything that can be checked before anything is sent."""
    if list_name is None and test_address is None:
        raise UsageError("missing --list LIST (or send one copy with --test EMAIL)")
    list_name = project.resolve_list(list_name) or TEST_LIST
    transport = make_transport(project, transport_kind)
    issue, rendered = compose(project, articles, issue_id)
    settings = project.settings
    audience = Audience(list_name, settings.unsubscribe.url, project.unsubscribe_secret())
    envelope = Envelope(settings.newsletter, list_name)
    return SendPlan(project, issue, rendered, list_name, transport, envelope, audience)


def run_send(plan: SendPlan, progress: Progress | None = None) -> SendReport:
    try:
        return deliver(
            plan.rendered,
            plan.rows(),
            plan.audience,
            plan.envelope,
            plan.transport,
            progress,
            plan.project.clock,
        )
    finally:
        plan.transport.close()


def check_outcome(plan: SendPlan, report: SendReport) -> None:
    """Raise what went wrong with a finished send: the transport's error, or a list
    that had nobody to send to."""
    if report.error:
        raise report.error
    if report.accepted == 0 and report.refused == 0:
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
