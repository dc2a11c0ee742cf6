"""What is in the web archive: every issue of the ledger that was sent (at least one
recipient accepted), from the content frozen when its send started, whatever became of
its articles since; not a welcome issue, not one frozen with `archive: false`. Test
copies (`send --test`) are never in the ledger, so never here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from newsletter.articles.issue import is_welcome_issue
from newsletter.errors import StateError
from newsletter.project import Project
from newsletter.render import RenderedIssue


@dataclass(frozen=True)
class ArchivedIssue:
    """An issue of the archive: its frozen content, its (first) list, when it was sent."""

    id: str
    rendered: RenderedIssue
    list_name: str
    sent_at: datetime  # when its send started, in the project's time zone


def archived_issues(project: Project) -> Iterator[ArchivedIssue]:
    """The archive's issues, newest first."""
    state = project.state
    zone = ZoneInfo(project.settings.newsletter.timezone)
    for listed in state.issues.all():  # newest first, without their content
        if is_welcome_issue(listed.id) or not state.ledger.counts(listed.id).get("sent"):
            continue
        record = state.issues.get(listed.id)
        if record is None:  # gone since it was listed (a forget, an import)
            continue
        try:
            rendered = record.rendered()
        except (ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else f"{exc!r} missing or wrong"
            raise StateError(
                f"issue {record.id!r}: its frozen content cannot be read ({why})",
                file=state.engine.where,
            ) from None
        if not rendered.archived:
            continue
        yield ArchivedIssue(record.id, rendered, record.list_name, _when(record.created_at, zone))


def _when(stamp: str, zone: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:  # written by a clock that had no zone: UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone)
