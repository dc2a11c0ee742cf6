"""Articles: one reader per file format, chosen by extension, one model for all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from newsletter.articles.model import Article, Block, ListItem, Span
from newsletter.errors import ArticleError

__all__ = ["READERS", "Article", "Block", "ListItem", "Span", "read_article", "read_articles"]


def _read_markdown(path: Path, text: str) -> Article:
    from newsletter.articles.markdown import parse_markdown

    return parse_markdown(path, text)


def _read_plain(path: Path, text: str) -> Article:
    from newsletter.articles.plaintext import parse_plaintext

    return parse_plaintext(path, text)


READERS: dict[str, Callable[[Path, str], Article]] = {
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".txt": _read_plain,
}


def read_article(path: Path, shown: str | None = None) -> Article:
    """Read one article file; every problem is an ArticleError naming the file."""
    where = shown or str(path)
    if path.is_dir():
        raise ArticleError("is a folder, not an article file", where=where)
    if not path.exists():
        raise ArticleError("no such file", where=where)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise ArticleError(
            f"unknown article format {path.suffix or '(none)'!r}; use {known}", where=where
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError("no such file", where=where) from None
    except IsADirectoryError:
        raise ArticleError("is a folder, not an article file", where=where) from None
    except OSError as exc:
        raise ArticleError(f"cannot read: {exc.strerror}", where=where) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArticleError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); save it as UTF-8",
            where=where,
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ArticleError("is empty", where=where)
    try:
        return reader(path, text)
    except ArticleError as exc:
        raise ArticleError(exc.message, where=exc.where or where) from None


def read_articles(paths: Iterable[Path], shown: Callable[[Path], str] = str) -> list[Article]:
    return [read_article(path, shown(path)) for path in paths]
