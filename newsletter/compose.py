"""Articles in, one rendered issue out: the first stage every command shares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from newsletter.articles import read_article
from newsletter.errors import UsageError
from newsletter.issue import Issue, check_issue_id, issue_id
from newsletter.paths import shown
from newsletter.project import Project
from newsletter.render import RenderedIssue, render_issue


def article_notes(issue: Issue) -> list[str]:
    """What the readers guessed about the articles, each naming its file."""
    return [f"{shown(a.path)}: {note}" for a in issue.articles for note in a.notes]


def compose(
    project: Project, paths: Sequence[Path], given_id: str | None = None
) -> tuple[Issue, RenderedIssue]:
    """Read the articles (several make a digest) and render the issue once."""
    if not paths:
        raise UsageError("name at least one article file")
    unique = list(dict.fromkeys(project.find(path).resolve() for path in paths))
    articles = tuple(read_article(path, project.shown(path)) for path in unique)
    issue = Issue(
        check_issue_id(given_id)
        if given_id is not None
        else issue_id(unique, project.root / "articles"),
        articles,
    )
    rendered = render_issue(
        issue,
        project.settings.newsletter,
        project.template_dirs,
        today=project.clock.now().date(),
    )
    return issue, rendered
