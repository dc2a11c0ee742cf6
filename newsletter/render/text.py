"""Article blocks -> the plain-text part: wrapped lines, links numbered and listed.

Written from the article model, not scraped from the HTML. Prose is wrapped at 72
columns; a URL is never broken, so a line holding one long URL is the only kind
that may be longer.
"""

from __future__ import annotations

import textwrap
from itertools import groupby

from newsletter.articles.model import Block, ListItem, Span

WIDTH = 72


class LinkList:
    """Numbers links in order of first appearance across the whole issue."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def lines(self) -> list[str]:
        return [f"[{n}] {url}" for n, url in enumerate(self.urls, 1)]


def wrap(text: str, width: int = WIDTH, indent: str = "", hanging: str | None = None) -> str:
    """Wrap each line of `text`; long words (URLs) are kept whole."""
    out = []
    for line in text.split("\n"):
        out.append(
            textwrap.fill(
                line,
                width=width,
                initial_indent=indent,
                subsequent_indent=indent if hanging is None else hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or indent.rstrip()
        )
    return "\n".join(out)


def underline(title: str, char: str = "=") -> str:
    wrapped = wrap(title)
    longest = max(len(line) for line in wrapped.split("\n"))
    return f"{wrapped}\n{char * longest}"


def blocks_text(blocks: tuple[Block, ...], links: LinkList) -> str:
    return "\n\n".join(text for block in blocks if (text := _block(block, links)))


def spans_text(spans: tuple[Span, ...], links: LinkList) -> str:
    out = []
    for href, group in groupby(spans, key=lambda span: span.href):
        text = "".join("\n" if span.br else span.text for span in group)
        if href and href.strip() != text.strip():
            text = f"{text} [{links.number(href)}]"
        elif href:
            links.number(href)
        out.append(text)
    return "".join(out).strip()


def _block(block: Block, links: LinkList) -> str:
    kind = block.kind
    if kind == "paragraph":
        return wrap(spans_text(block.spans, links))
    if kind == "heading":
        return underline(spans_text(block.spans, links), "-")
    if kind == "quote":
        return wrap(spans_text(block.spans, links), WIDTH, "> ")
    if kind == "code":
        return "\n".join(f"    {line}" if line else "" for line in block.code.split("\n"))
    if kind == "rule":
        return "* * *"
    if kind == "image":
        label = f"[Image: {block.alt}]" if block.alt else "[Image]"
        return f"{label} [{links.number(block.src)}]" if block.src else label
    if kind == "list":
        lines, number = [], block.start
        for item in block.items:
            lines.append(_item(item, number, block.ordered, links))
            number += item.depth == 0
        return "\n".join(lines)
    raise ValueError(f"unknown block kind {kind!r}")


def _item(item: ListItem, number: int, ordered: bool, links: LinkList) -> str:
    marker = f"{number}. " if ordered and item.depth == 0 else "- "
    indent = "  " * item.depth
    return wrap(spans_text(item.spans, links), WIDTH, indent + marker, indent + " " * len(marker))
