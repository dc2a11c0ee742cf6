"""READ: articles, one reader per file format (chosen by extension), one model for
all (model.py), and the issue they make (issue.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from newsletter.articles.issue import Issue, check_issue_id, issue_id
from newsletter.articles.model import Article, Block, ListItem, Span
from newsletter.errors import ArticleError
from newsletter.files import read_text

__all__ = [
    "READERS", "Article", "Block", "Issue", "ListItem", "Span", "issue_notes", "read_article",
    "read_issue",
]  # fmt: skip


def _read_markdown(path: Path, text: str, language: str) -> Article:
    from newsletter.articles.markdown import parse_markdown

    return parse_markdown(path, text, language)


def _read_plain(path: Path, text: str, language: str) -> Article:
    from newsletter.articles.plaintext import parse_plaintext

    return parse_plaintext(path, text, language)


LARGEST = 2_000_000  # bytes of one article: an email many times what Gmail shows (102 KB)
TOO_LARGE = (
    ", the most an article may be: an email that size cannot be read (Gmail clips one "
    "at 102 KB); split it, or link to the long part"
)

READERS: dict[str, Callable[[Path, str, str], Article]] = {  # path, text, language
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".txt": _read_plain,
}


def read_article(path: Path, shown: str | None = None, *, language: str = "en") -> Article:
    """Read one article file; every problem is an ArticleError naming the file.
    `language` is the newsletter's: its quotes are used unless the article names
    a language of its own."""
    where = shown or str(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None and path.is_file():
        raise _unknown_format(path, where)
    # missing, a folder, a pipe, not UTF-8, too large...
    text = read_text(path, where, ArticleError, limit=LARGEST, too_large=TOO_LARGE)
    if reader is None:
        raise _unknown_format(path, where)
    if "\x00" in text:  # binary data: it would reach the text part as it is
        line = text[: text.index("\x00")].count("\n") + 1
        raise ArticleError("holds a NUL byte (binary data, not text)", file=where, line=line)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ArticleError("is empty", file=where)
    try:
        return reader(path, text, language)
    except ArticleError as exc:
        raise ArticleError(exc.message, where=exc.where, file=exc.where.file or where) from None


def _unknown_format(path: Path, where: str) -> ArticleError:
    known = ", ".join(sorted(READERS))
    return ArticleError(
        f"unknown article format {path.suffix or '(none)'!r}; use {known}", file=where
    )


def read_issue(
    paths: Sequence[Path],
    given_id: str | None,
    articles_dir: Path | None = None,
    shown: Callable[[Path], str] = str,
    *,
    language: str = "en",
) -> Issue:
    """The articles (several make a digest), each read once, as one issue; its id is
    `given_id` or derived from the file names (relative to `articles_dir`).
    `language` is the newsletter's (`[newsletter] language`)."""
    unique = list(dict.fromkeys(path.resolve() for path in paths))
    articles = tuple(read_article(path, shown(path), language=language) for path in unique)
    found = check_issue_id(given_id) if given_id is not None else issue_id(unique, articles_dir)
    return Issue(found, articles)


def issue_notes(issue: Issue, shown: Callable[[Path], str] = str) -> list[str]:
    """What the readers guessed about the articles, each naming its file."""
    return [f"{shown(a.path)}: {note}" for a in issue.articles for note in a.notes]
