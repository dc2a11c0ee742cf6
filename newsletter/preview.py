"""Render an issue as one subscriber gets it, and write it to files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import Subscriber, find_subscriber, first_subscriber
from newsletter.compose import compose
from newsletter.delivery import Audience
from newsletter.errors import StateError, UsageError
from newsletter.issue import Issue
from newsletter.message import Envelope, MessageMaker
from newsletter.personalise import Copy, Recipient, personalise
from newsletter.project import Project
from newsletter.render import RenderedIssue

PREVIEW_ADDRESS = "reader@example.com"


@dataclass(frozen=True)
class Preview:
    issue: Issue
    rendered: RenderedIssue
    recipient: Recipient
    copy: Copy
    envelope: Envelope


def make_preview(
    project: Project,
    articles: Sequence[Path],
    list_name: str | None = None,
    as_email: str | None = None,
    issue_id: str | None = None,
) -> Preview:
    """The issue as `as_email` (default: the list's first subscriber) gets it."""
    issue, rendered = compose(project, articles, issue_id)
    list_name = project.resolve_list(list_name)
    subscriber = _pick(project, list_name, as_email)
    settings = project.settings
    name = list_name or "preview"
    audience = Audience(name, settings.unsubscribe.url, project.unsubscribe_secret())
    recipient = audience.recipient(subscriber, rendered)
    copy = personalise(rendered.subject, rendered.html, rendered.text, recipient)
    return Preview(issue, rendered, recipient, copy, Envelope(settings.newsletter, name))


def write_preview(preview: Preview, folder: Path, project: Project) -> list[Path]:
    """`<issue>.html`, `<issue>.txt` and the whole message as `<issue>.eml`."""
    stem = folder / preview.issue.id
    maker = MessageMaker(preview.rendered, preview.envelope, project.clock.now())
    _, message = maker.make(preview.recipient)
    files = {
        stem.with_suffix(".html"): preview.copy.html.encode(),
        stem.with_suffix(".txt"): preview.copy.text.encode(),
        stem.with_suffix(".eml"): message,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            path.write_bytes(data)
    except OSError as exc:
        raise StateError(
            f"cannot write the preview: {exc.strerror}", where=str(exc.filename or folder)
        ) from None
    return list(files)


def _pick(project: Project, list_name: str | None, as_email: str | None) -> Subscriber:
    email = None
    if as_email is not None:
        try:
            email = normalise_address(as_email)
        except BadAddress as exc:
            raise UsageError(f"--as {as_email!r}: {exc}") from None
    if list_name is None:
        return Subscriber(email=email or PREVIEW_ADDRESS)
    path = project.list_path(list_name)
    shown = project.shown(path)
    found = find_subscriber(path, email, shown) if email else first_subscriber(path, shown)
    if email and found is None:
        raise UsageError(f"--as {as_email}: not a subscriber of list {list_name}")
    return found or Subscriber(email=PREVIEW_ADDRESS)
