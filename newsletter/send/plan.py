"""A send planned: everything checked that can be before anything is sent. A fresh
send renders its articles once; a resumed one (no articles, or cron after a kill)
takes its frozen content from the ledger, whatever became of the articles."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.articles import Issue, issue_notes
from newsletter.audience.lists import BadRow, Subscriber
from newsletter.audience.rows import list_rows
from newsletter.audience.suppressions import Forgotten, forgotten
from newsletter.audience.targeting import Steps, Target, Targeting, first_of, select, target
from newsletter.errors import IssueError, ListError, UsageError
from newsletter.message import Envelope
from newsletter.personalise import Personaliser
from newsletter.project import Project
from newsletter.render import RenderedIssue
from newsletter.render.issue_view import IssueFields
from newsletter.send.report import BadRows
from newsletter.signing import Links
from newsletter.state.issues import IssueRecord
from newsletter.transports import delivers
from newsletter.transports.base import Transport

TEST_LIST = "test"  # what a test copy's unsubscribe link names when the project has no list


@dataclass
class SendPlan:
    project: Project
    issue: Issue | None  # None when resumed from the ledger alone
    rendered: RenderedIssue
    list_name: str
    transport: Transport
    envelope: Envelope
    links: Links  # the list's signed unsubscribe links
    force: bool = False  # a list whose quoting is broken is sent, that row skipped
    audience: Targeting = field(default_factory=Targeting)  # as given, or frozen; first: list_name
    target: Target | None = None  # the audience checked; None: resumed from the ledger

    @property
    def targeted(self) -> bool:
        """More than one list says who it goes to (see audience/targeting.py)."""
        return not self.audience.plain

    @property
    def personaliser(self) -> Personaliser:
        return Personaliser(self.rendered, self.links)

    @property
    def id(self) -> str:
        return self.rendered.id

    @property
    def subject(self) -> str:
        return self.rendered.shown_subject()

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
        return issue_notes(self.issue, self.project.shown) if self.issue else []

    def rows(self) -> Iterator[Subscriber | BadRow]:
        return list_rows(self.project, self.list_name)

    def subscribers(self, bad: BadRows, steps: Steps | None = None) -> Iterator[Subscriber]:
        """The audience's subscribers, each once, its bad rows counted into `bad` (and
        each step's count into `steps`). A row whose quoting is broken stops the send
        (the rows near it may be wrong) unless `force`."""
        found = self.target or Target(self.audience, (self.list_name,), (), None, None)
        chosen = select(self.project, found, bad.add, not self.force, steps)
        gone = forgotten(self.project)
        return _not_forgotten(chosen, gone, bad) if gone else chosen

    @property
    def audience_shown(self) -> str:
        """Who it goes to, spelled out (a segment's lists and expression too)."""
        if self.target is not None:
            return self.target.shown()
        record = self.frozen()  # resumed: as it was spelled out when frozen
        data = record.audience_data() if record is not None else None
        return str((data or {}).get("shown") or self.audience.shown())

    def audience_data(self) -> dict[str, object] | None:
        """What the issue's record keeps of its audience (None: its list alone)."""
        if not self.targeted:
            return None
        return self.target.data() if self.target is not None else self.audience.data()

    def first_subscriber(self) -> Subscriber | None:
        """Whose copy the check before the send looks at: the audience's first."""
        if self.target is None or not self.targeted:
            return None  # the list's first, as the preview picks it
        return first_of(self.project, self.target)

    def frozen(self) -> IssueRecord | None:
        """This issue in the ledger, when a send of it started before."""
        return self.project.state.issues.get(self.id)

    def count(self) -> Headcount:
        """Who a send would go to now: the list's good rows, suppressions left out."""
        bad, steps = BadRows(), Steps()
        suppressed = frozenset(self.project.state.suppressions.keys())
        found = count(self.subscribers(bad, steps), bad, suppressed)
        found.steps = steps
        return found


def plan_send(
    project: Project,
    articles: Sequence[Path],
    list_name: Targeting | str | None,
    issue_id: str | None = None,
    transport_kind: str | None = None,
    test_address: Sequence[str] | str | None = None,
    dry_run: bool = False,
    force: bool = False,
    overrides: IssueFields | None = None,
) -> SendPlan:
    """The send of `articles` to an audience (a list's name is that list's). With no
    articles, `issue_id` names a started issue to resume from the ledger. A dry run
    needs no API key or password (it sends nothing). With `force`, a list whose
    quoting is broken is sent (the broken row skipped). `overrides`: --subject and
    --number."""
    audience = Targeting.of(list_name)
    if not articles:
        if overrides is not None:
            raise UsageError(
                "--subject and --number are for a new issue; a started one is resumed as it "
                "was frozen (name its articles to check it is the same)"
            )
        return _plan_started(project, audience, issue_id, transport_kind, dry_run)
    if audience.empty and not test_address:
        raise UsageError("missing --list LIST (or send one copy with --test EMAIL)")
    found: Target | None = None
    if audience.empty:  # a test copy: as a subscriber of the default or only list, if any
        name = project.reader_list(None)[0] or TEST_LIST
    elif audience.plain:
        name = project.resolve_list(audience.first_list) or TEST_LIST
        found = Target(audience, (name,), (), None, None)
    else:
        found = target(project, audience)
        name = found.first_list
    transport = project.transport(transport_kind, dry_run)
    project.guard_state(delivering=delivers(transport) and not test_address)
    issue = project.read_issue(articles, issue_id)
    if overrides is not None and project.state.issues.get(issue.id) is not None:
        raise IssueError(
            f"issue {issue.id} was started with its subject and number frozen: --subject "
            "and --number are for a new issue (give another --id to send it anew)"
        )
    rendered = project.render(issue, overrides)
    return _plan(project, issue, rendered, name, transport, force, audience, found)


def _plan_started(
    project: Project,
    audience: Targeting,
    issue_id: str | None,
    transport_kind: str | None,
    dry_run: bool = False,
) -> SendPlan:
    if issue_id is None:
        raise UsageError("missing ARTICLE (or --id ID of a started issue, to resume it)")
    record = project.state.issues.get(issue_id)
    if record is None:
        raise IssueError(f"no ARTICLE given, and no issue {issue_id!r} in the ledger to resume")
    frozen = frozen_audience(record)
    if not audience.empty and audience != frozen:
        if audience.plain and frozen.plain:
            raise IssueError(f"issue {issue_id} was started for list {record.list_name}, not "
                             f"{audience.first_list}")  # fmt: skip
        was, now = (f"list {t.shown()}" if t.plain else t.shown() for t in (frozen, audience))
        raise IssueError(f"issue {issue_id} was started for {was}, not {now} (its "
                         f"{frozen.differs(audience)} differ)")  # fmt: skip
    return plan_resume(project, record, transport_kind, dry_run)


def frozen_audience(record: IssueRecord) -> Targeting:
    """The audience an issue was frozen with, as it was given."""
    data = record.audience_data()
    return Targeting.from_data(data) if data else Targeting(lists=(record.list_name,))


def plan_resume(
    project: Project,
    record: IssueRecord,
    transport_kind: str | None = None,
    dry_run: bool = False,
) -> SendPlan:
    """A plan for an issue whose send started before, from the ledger alone: its
    frozen content, list and transport (the articles may have changed or gone)."""
    transport = project.transport(transport_kind or record.transport, dry_run)
    project.guard_state(delivering=delivers(transport))
    return _plan(project, None, record.rendered(), record.list_name, transport,
                 audience=frozen_audience(record))  # fmt: skip


def _plan(
    project: Project,
    issue: Issue | None,
    rendered: RenderedIssue,
    list_name: str,
    transport: Transport,
    force: bool = False,
    audience: Targeting | None = None,
    found: Target | None = None,
) -> SendPlan:
    links = project.signer.links(list_name)
    envelope = project.envelope(list_name)
    return SendPlan(project, issue, rendered, list_name, transport, envelope, links, force,
                    audience or Targeting(lists=(list_name,)), found)  # fmt: skip


def content_hash(issue: Issue) -> str:
    """Of the article files as they are now: a resumed send warns when they changed."""
    digest = hashlib.sha256()
    for article in issue.articles:
        with contextlib.suppress(OSError):
            digest.update(article.path.read_bytes())
    return digest.hexdigest()


def nobody_on(plan: SendPlan) -> ListError:
    if plan.targeted:
        return ListError(f"nobody is in this audience ({plan.audience_shown}); nothing was sent")
    return ListError("no valid subscribers on this list; nothing was sent", file=plan.list_shown)


@dataclass
class Headcount:
    """Who a send would go to now (for a dry run and the confirmation): a few of
    them, how many, and the bad rows and suppressed addresses left out."""

    first: list[Subscriber]
    total: int
    bad: BadRows
    steps: Steps | None = None  # how many each step of the audience left


def count(subscribers: Iterable[Subscriber], bad: BadRows, suppressed: frozenset[str]) -> Headcount:
    first: list[Subscriber] = []
    total = 0
    for subscriber in subscribers:
        if subscriber.key in suppressed:
            bad.suppressed += 1
            continue
        total += 1
        if len(first) < 10:
            first.append(subscriber)
    return Headcount(first, total, bad)


def _not_forgotten(
    subscribers: Iterable[Subscriber], gone: Forgotten, bad: BadRows
) -> Iterator[Subscriber]:
    """The subscribers but those asked to be forgotten (a row put back by hand or by a
    git revert): counted as suppressed, never frozen (their address would be written
    into the ledger in clear again)."""
    for subscriber in subscribers:
        if subscriber.email in gone:
            bad.suppressed += 1
        else:
            yield subscriber
