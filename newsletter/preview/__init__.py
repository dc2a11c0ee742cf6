"""PREVIEW: an issue as one subscriber gets it (a Sample), which `preview` writes to
files (files.py) or serves on a live page (live.py), and `check` lints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.articles import Issue
from newsletter.audience.lists import Subscriber
from newsletter.audience.rows import find_members, first_member
from newsletter.audience.targeting import Target, Targeting, find_in, first_of, target
from newsletter.errors import ListError, UsageError
from newsletter.message import Envelope
from newsletter.personalise import Copy, Personaliser, Recipient, personalise
from newsletter.project import Project
from newsletter.render import RenderedIssue
from newsletter.render.issue_view import IssueFields

PREVIEW_ADDRESS = "reader@example.com"
PREVIEW_LIST = "preview"  # what the unsubscribe link names when the project has no list


@dataclass(frozen=True)
class Sample:
    """One subscriber's copy of an issue."""

    issue: Issue
    rendered: RenderedIssue
    list_name: str | None  # None: the project has no list
    recipient: Recipient
    copy: Copy
    envelope: Envelope
    note: str | None = None  # who it was made for, when that needs saying
    lists: tuple[str, ...] = ()  # an audience's lists, whose fields the copy may use

    @property
    def field_lists(self) -> tuple[str, ...]:
        """The lists whose columns a template may use for this copy."""
        return self.lists or ((self.list_name,) if self.list_name is not None else ())


def make_sample(
    project: Project,
    articles: Sequence[Path],
    list_name: Targeting | str | None = None,
    as_email: str | None = None,
    issue_id: str | None = None,
    overrides: IssueFields | None = None,
) -> Sample:
    """The issue of `articles` as `as_email` (default: the list's first subscriber)
    gets it; `overrides`: --subject and --number. Without a list, the project's
    [newsletter] default_list or only list; with several lists and no default, a
    sample reader (its note says so). With an audience of more than one list (or
    filtered), its first subscriber, or `as_email` when it is in it."""
    issue = project.read_issue(articles, issue_id)
    rendered = project.render(issue, overrides)
    audience = Targeting.of(list_name)
    if not audience.plain:
        found = target(project, audience)
        subscriber = pick_in(project, found, as_email)
        sample = sample_of(project, issue, rendered, found.first_list, subscriber)
        return replace(sample, lists=found.lists)
    name, note = project.reader_list(audience.first_list)
    subscriber = pick(project, name, as_email)
    sample = sample_of(project, issue, rendered, name, subscriber)
    return replace(sample, note=note if as_email is None else None)


def sample_of(
    project: Project,
    issue: Issue,
    rendered: RenderedIssue,
    list_name: str | None,
    subscriber: Subscriber | None = None,
) -> Sample:
    """The rendered issue as `subscriber` (default: the list's first) gets it."""
    if subscriber is None:
        subscriber = pick(project, list_name, None)
    name = list_name or PREVIEW_LIST
    recipient = Personaliser(rendered, project.signer.links(name)).recipient(subscriber)
    copy = personalise(rendered.subject, rendered.html, rendered.text, recipient)
    envelope = project.envelope(name)
    return Sample(issue, rendered, list_name, recipient, copy, envelope)


def _as(as_email: str | None) -> str | None:
    if as_email is None:
        return None
    try:
        return normalise_address(as_email)
    except BadAddress as exc:
        raise UsageError(f"--as {as_email!r}: {exc}") from None


def pick_in(project: Project, found: Target, as_email: str | None) -> Subscriber:
    """The subscriber `as_email` of the audience, or its first; a stand-in address
    when it has nobody."""
    email = _as(as_email)
    if email is None:
        return first_of(project, found) or Subscriber(email=PREVIEW_ADDRESS)
    subscriber = find_in(project, found, email)
    if subscriber is None:
        raise ListError(f"{as_email} is not in this audience ({found.shown()}) (--as)")
    return subscriber


def pick(project: Project, list_name: str | None, as_email: str | None) -> Subscriber:
    """The subscriber `as_email` of the list, or its first; a stand-in address when
    the project has no list."""
    email = _as(as_email)
    if list_name is None:
        return Subscriber(email=email or PREVIEW_ADDRESS)
    path = project.list_path(list_name)
    shown = project.shown(path)
    if not path.is_file():
        return Subscriber(email=email or PREVIEW_ADDRESS)
    if email:
        found = find_members(project, list_name, [email]).get(email.lower())
    else:
        found = first_member(project, list_name)
    if email and found is None:
        raise ListError(f"{as_email} is not on this list (--as)", file=shown)
    return found or Subscriber(email=PREVIEW_ADDRESS)
