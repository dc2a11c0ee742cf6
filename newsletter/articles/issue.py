"""An issue: one or more articles sent together under one id."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from newsletter.articles.model import Article
from newsletter.errors import UsageError

ID_PATTERN = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?<!\.)")
MAX_ID = 100
# a list's welcome issue (schedule/welcome.py): never in the web archive
_WELCOME_ID = re.compile(r"welcome-[A-Za-z0-9][A-Za-z0-9._-]{0,63}-[0-9]+")


@dataclass(frozen=True)
class Issue:
    id: str
    articles: tuple[Article, ...]

    @property
    def is_digest(self) -> bool:
        return len(self.articles) > 1


def issue_id(paths: list[Path], articles_dir: Path | None = None) -> str:
    """Derived from the article file names, not their content: fixing a typo mid-send
    keeps the same issue (and so nobody gets it twice). Inside the project's articles/
    folder the sub-folders count too: 2025/welcome.md and 2026/welcome.md differ."""
    stems = [_name(path, articles_dir) for path in paths]
    joined = "__".join(stems)
    if len(joined) > MAX_ID:
        digest = hashlib.sha256("\n".join(stems).encode()).hexdigest()[:12]
        joined = f"{joined[: MAX_ID - 13].rstrip('-._')}-{digest}"
    return joined


def _name(path: Path, articles_dir: Path | None) -> str:
    try:
        relative = path.with_suffix("").relative_to(articles_dir) if articles_dir else None
    except ValueError:
        relative = None
    name = "-".join(relative.parts) if relative else path.stem
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", name))
    return name.strip("-._") or "article"


def welcome_issue_id(list_name: str, n: int) -> str:
    """The id of a list's welcome issue whose first signup is number `n`."""
    return f"welcome-{list_name}-{n}"


def is_welcome_issue(issue_id: str) -> bool:
    """Whether `issue_id` is one `welcome_issue_id` makes (such ids are the welcome
    issues': the welcome of a list never freezes over an issue of that id)."""
    return _WELCOME_ID.fullmatch(issue_id) is not None


def check_issue_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise UsageError(
            f"--id {value!r}: use 1 to {MAX_ID} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, with no '..' and no '.' at the end"
        )
    return value
