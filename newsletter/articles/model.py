"""The article model every reader returns, whatever the file format.

Text is kept as plain Unicode (never pre-escaped): escaping happens exactly once,
when the HTML part is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

BlockKind = Literal[
    "paragraph", "heading", "quote", "code", "list", "rule", "image", "table", "notes", "button"
]
Align = Literal["", "left", "center", "right"]
Cell = tuple["Span", ...]


@dataclass(frozen=True)
class Span:
    """A run of inline text with one set of styles; `href` makes it a link."""

    text: str
    href: str | None = None
    strong: bool = False
    em: bool = False
    code: bool = False
    strike: bool = False
    br: bool = False  # a hard line break; `text` is empty
    note: int = 0  # a footnote's mark (its number); `text` is empty


@dataclass(frozen=True)
class ListItem:
    """One item of a list: blocks of its own (paragraphs, nested lists, code, images)."""

    blocks: tuple[Block, ...]
    checked: bool | None = None  # a task list's item: done or not (None: not a task)


@dataclass(frozen=True)
class Block:
    """One block of an article body. Lists and quotes hold blocks of their own. A
    button (a call to action) is its label's spans (no links among them) and `href`."""

    kind: BlockKind
    spans: tuple[Span, ...] = ()
    level: int = 0  # heading level (2..6 in the email; the title is the only h1)
    items: tuple[ListItem, ...] = ()  # for lists
    ordered: bool = False
    start: int = 1
    children: tuple[Block, ...] = ()  # for quotes
    src: str = ""  # for images
    alt: str = ""
    width: int = 0  # pixels, as the article gives them (0: unknown)
    height: int = 0
    href: str | None = None  # a linked image; a button's target
    code: str = ""  # for code blocks
    header: tuple[Cell, ...] = ()  # for tables: the header row's cells,
    rows: tuple[tuple[Cell, ...], ...] = ()  # the body's rows,
    aligns: tuple[Align, ...] = ()  # each column's alignment

    @property
    def plain_text(self) -> str:
        if self.kind == "code":
            return self.code
        if self.kind in ("list", "notes"):
            return "\n".join(b.plain_text for item in self.items for b in item.blocks)
        if self.kind == "table":
            return "\n".join(" ".join(_join(c) for c in row) for row in (self.header, *self.rows))
        if self.kind == "quote":
            return "\n".join(b.plain_text for b in self.children)
        if self.kind == "image":
            return self.alt
        return _join(self.spans)  # a paragraph's, a heading's, a button's label


def _join(spans: tuple[Span, ...]) -> str:
    return "".join("\n" if span.br else span.text for span in spans)


@dataclass(frozen=True)
class Article:
    path: Path
    title: str
    body: tuple[Block, ...]
    subtitle: str = ""
    author: str = ""
    date: date | None = None
    image: str = ""
    image_alt: str = ""
    image_credit: str = ""
    image_credit_label: str = ""  # "Photo" in the article's words ("": the language's)
    credit_in_text: bool = False  # the credit is a line of the article's own text
    url: str = ""
    summary: str = ""
    tags: tuple[str, ...] = ()
    direction: Literal["ltr", "rtl"] = "ltr"
    language: str = ""  # a BCP 47 tag when the article is not in the newsletter's language
    extra: dict[str, Any] = field(default_factory=dict)  # other front matter, for templates
    notes: tuple[str, ...] = ()  # things the reader guessed, worth telling the editor
    title_from_body: bool = False  # the title repeats the opening sentence: not shown twice

    @property
    def paragraphs(self) -> tuple[Block, ...]:
        return tuple(block for block in self.body if block.kind == "paragraph")

    @property
    def stem(self) -> str:
        return self.path.stem
