"""The archive's index page: every issue, newest first, grouped by year, with its
date in the newsletter's language (templates/archive.html, a project's own first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsletter.project import Project
from newsletter.render import render_page
from newsletter.render.theme import ThemeView
from newsletter.render.words import Words

INDEX_TEMPLATE = "archive.html"


@dataclass(frozen=True)
class IndexEntry:
    """An issue as the index lists it."""

    href: str  # its page, relative to the index
    subject: str
    summary: str
    sent_at: datetime


def index_page(
    project: Project,
    said: Words,
    issues: Sequence[IndexEntry],
    feed: str,
    canonical: str,
    subscribe_url: str,
    now: datetime,
) -> str:
    newsletter = project.settings.newsletter
    years: list[dict[str, Any]] = []
    for issue in issues:
        if not years or years[-1]["year"] != issue.sent_at.year:
            years.append({"year": issue.sent_at.year, "issues": []})
        years[-1]["issues"].append(
            {
                "href": issue.href,
                "subject": issue.subject,
                "summary": issue.summary,
                "date_text": said.date(issue.sent_at.date()),
                "date_iso": issue.sent_at.date().isoformat(),
            }
        )
    context = {
        "newsletter": newsletter,
        "theme": ThemeView.of(project.settings.theme),
        "words": said,
        "t": said.html,
        "lang": newsletter.language,
        "dir": newsletter.direction,
        "years": years,
        "count": len(issues),
        "feed": feed,
        "canonical": canonical,
        "subscribe_url": subscribe_url,
        "year_now": now.year,
    }
    return render_page(INDEX_TEMPLATE, context, project.template_dirs)
