"""Article blocks -> the plain-text part: wrapped lines, links numbered and listed.

Written from the article model, not scraped from the HTML. Prose is wrapped at 72
columns; a URL is never broken, so a line holding one long URL and nothing else
(but indentation) is the only kind that may be longer. Inline code is never broken
either. A button (a call to action) is its label and its URL, not a numbered link.
"""

from __future__ import annotations

import re
import textwrap
from itertools import groupby

from newsletter.articles.model import Block, ListItem, Span
from newsletter.render.linebreak import display_width, fill, needs_rules

WIDTH = 72
KEEP = "\x00"  # a space inside inline code, where a line must not break (no article
# holds NUL: articles with it are refused), turned back into a space after wrapping
EDGE = "\ufdd0"  # where inline code starts and ends (a Unicode noncharacter, for use
# inside a program only), for lines broken by Unicode's rules, which would break inside
# code at a hyphen or between two CJK characters; taken out after wrapping
HOLD = "\ufdd1"  # stands for one column of inline code while such a line is broken
_CODE = re.compile(f"{EDGE}([^{EDGE}]*){EDGE}")
_HELD = re.compile(f"{HOLD}+")
MIN_WIDTH = 30  # deeply nested blocks still get room for a few words a line


class LinkList:
    """Numbers links in order of first appearance across the whole issue."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def lines(self) -> list[str]:
        """`[n] URL`, or, when that would pass WIDTH, the URL alone on the next line
        (indented under its number): a URL is never broken, so a long one is the only
        thing on its line."""
        out = []
        for n, url in enumerate(self.urls, 1):
            label = f"[{n}] "
            line = label + url
            out.append(line if len(line) <= WIDTH else f"{label.rstrip()}\n{' ' * len(label)}{url}")
        return out


def wrap(text: str, width: int = WIDTH, indent: str = "", hanging: str | None = None) -> str:
    """Wrap each line of `text`; long words (URLs) are kept whole. A line in a script
    without spaces between words (Chinese, Japanese, Thai) is broken by Unicode's
    rules and measured in columns (linebreak.py)."""
    out = []
    rest = indent if hanging is None else hanging
    for line in text.split("\n"):
        if needs_rules(line):
            out.append(_fill(line, width, indent, rest) or indent.rstrip())
            continue
        line = line.replace(EDGE, "")  # its spaces are KEEP: textwrap cannot break it
        out.append(
            textwrap.fill(
                line,
                width=width,
                initial_indent=indent,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or indent.rstrip()
        )
    return "\n".join(out).replace(KEEP, " ")


def _fill(line: str, width: int, indent: str, rest: str) -> str:
    """A line broken by Unicode's rules, each inline code in it held as one word: it
    stands in as a run of HOLD, as many as its columns, which the rules never break."""
    codes: list[str] = []

    def hold(match: re.Match[str]) -> str:
        codes.append(match.group(1))
        return HOLD * max(display_width(match.group(1)), 1)

    lines = fill(_CODE.sub(hold, line), width, indent, rest)
    found = iter(codes)
    return "\n".join(_HELD.sub(lambda held: next(found, held[0]), line) for line in lines)


def plain(text: str) -> str:
    """Text from `spans_text` as it reads, where no wrapping follows."""
    return text.replace(EDGE, "").replace(KEEP, " ")


def underline(title: str, char: str = "=") -> str:
    wrapped = wrap(title)
    longest = max(display_width(line) for line in wrapped.split("\n"))  # CJK: two columns
    return f"{wrapped}\n{char * longest}"


def blocks_text(blocks: tuple[Block, ...], links: LinkList, width: int = WIDTH) -> str:
    return "\n\n".join(text for block in blocks if (text := _block(block, links, width)))


def spans_text(spans: tuple[Span, ...], links: LinkList) -> str:
    """Inline text as a reader of plain text expects it: ~~struck~~, a footnote's mark
    as [^1], links numbered; inline code holds together (between EDGEs, its spaces
    KEEP: `wrap` does not break it and takes them out; `plain` where it is not
    wrapped)."""
    out = []
    for href, group in groupby(spans, key=lambda span: span.href):
        text = _struck(tuple(group))
        if href and href.strip() != plain(text).strip():
            text = f"{text} [{links.number(href)}]"
        elif href:
            links.number(href)
        out.append(text)
    return "".join(out).strip()


def _struck(spans: tuple[Span, ...]) -> str:
    """Each run of struck spans inside one pair of ~~ (a struck phrase with code in
    it is one ~~phrase~~), its outer spaces outside them."""
    out = []
    for strike, run in groupby(spans, key=lambda span: span.strike and not span.br):
        text = "".join(_span(span) for span in run)
        core = text.strip(" ")
        if strike and core:
            start = len(text) - len(text.lstrip(" "))
            text = f"{text[:start]}~~{core}~~{text[start + len(core) :]}"
        out.append(text)
    return "".join(out)


def _span(span: Span) -> str:
    if span.br:
        return "\n"
    if span.note:
        return f"[^{span.note}]"
    text = span.text.replace(EDGE, "").replace(HOLD, "")  # noncharacters: never in text
    return f"{EDGE}{text.replace(' ', KEEP)}{EDGE}" if span.code else text


def _block(block: Block, links: LinkList, width: int) -> str:
    kind = block.kind
    if kind == "paragraph":
        return wrap(spans_text(block.spans, links), width)
    if kind == "heading":
        return underline(spans_text(block.spans, links), "-")
    if kind == "quote":
        inner = blocks_text(block.children, links, max(width - 2, MIN_WIDTH))
        return _indent(inner, "> ", "> ")
    if kind == "code":
        return "\n".join(_code_line(line, width) for line in block.code.expandtabs(4).split("\n"))
    if kind == "rule":
        return "* * *"
    if kind == "button":
        return _button(block, links, width)
    if kind == "image":
        label = f"[Image: {block.alt}]" if block.alt else "[Image]"
        target = block.href or block.src
        return f"{label} [{links.number(target)}]" if target else label
    if kind == "table":
        return table_text(block, links, width)
    if kind == "notes":
        return "\n".join(_item(item, f"[^{n}] ", links, width)
                         for n, item in enumerate(block.items, 1))  # fmt: skip
    if kind == "list":
        items = [
            _item(item, _marker(block, item, number), links, width)
            for number, item in enumerate(block.items, block.start)
        ]
        loose = any(len(item.blocks) > 1 for item in block.items)
        return ("\n\n" if loose else "\n").join(items)
    raise ValueError(f"unknown block kind {kind!r}")


def _button(block: Block, links: LinkList, width: int) -> str:
    """`Label: URL` on one line, or the label then the URL on a line of its own: the
    button is itself the link, so its URL is not numbered and listed."""
    label = spans_text(block.spans, links)
    if not block.href:
        return wrap(label, width)
    joiner = " " if plain(label).rstrip()[-1:] in tuple(":.!?\u2026") else ": "
    line = plain(label) + joiner + block.href
    if "\n" not in line and display_width(line) <= width:
        return line
    return f"{wrap(label, width)}\n{block.href}"


def _code_line(line: str, width: int) -> str:
    """A code line, indented four; one longer than the line goes on below, under a
    deeper indent, broken at a space (a reader of the text part sees it all)."""
    if not line:
        return ""
    if len(line) + 4 <= width:
        return f"    {line}"
    indent = " " * (len(line) - len(line.lstrip(" ")))
    return textwrap.fill(line.lstrip(" "), width=width, initial_indent=f"    {indent}",
                         subsequent_indent=f"    {indent}    ", break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True)  # fmt: skip


def _marker(block: Block, item: ListItem, number: int) -> str:
    marker = f"{number}. " if block.ordered else "- "
    if item.checked is not None:
        marker += "[x] " if item.checked else "[ ] "
    return marker


def table_text(block: Block, links: LinkList, width: int = WIDTH) -> str:
    """Columns padded to their widest cell (by display width: a CJK character takes
    two), aligned as written, under a rule; a table too wide for the line is given
    row by row instead, each cell under its column's header."""
    marked_header = [spans_text(cell, links) for cell in block.header]
    marked_rows = [[spans_text(cell, links) for cell in row] for row in block.rows]
    header = [plain(cell) for cell in marked_header]
    rows = [[plain(cell) for cell in row] for row in marked_rows]
    columns = max([len(header), *(len(row) for row in rows)])
    grid = [row + [""] * (columns - len(row)) for row in [header, *rows] if row]
    widths = [max(display_width(row[n]) for row in grid) for n in range(columns)]
    if sum(widths) + 2 * (columns - 1) <= width and all("\n" not in c for r in grid for c in r):
        aligns = [*block.aligns, *[""] * columns]
        lines = ["  ".join(_pad(cell, widths[n], aligns[n]) for n, cell in enumerate(row)).rstrip()
                 for row in grid]  # fmt: skip
        if header:
            lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)
    names = header + [""] * (columns - len(header))
    return "\n\n".join(  # the cells as written: `wrap` keeps their inline code whole
        "\n".join(wrap(f"{names[n]}: {cell}" if names[n] else cell, width, hanging="  ")
                  for n, cell in enumerate(row) if cell)
        for row in (marked_rows if header else [row for row in marked_rows if row])
    )  # fmt: skip


def _pad(cell: str, width: int, align: str) -> str:
    room = width - display_width(cell)
    if align == "right":
        return " " * room + cell
    if align == "center":
        return " " * (room // 2) + cell + " " * (room - room // 2)
    return cell + " " * room


def _item(item: ListItem, marker: str, links: LinkList, width: int) -> str:
    inner = blocks_text(item.blocks, links, max(width - len(marker), MIN_WIDTH))
    return _indent(inner, marker, " " * len(marker))


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    head = [first + lines[0]] if lines else [first.rstrip()]
    return "\n".join(head + [(rest + line) if line else rest.rstrip() for line in lines[1:]])
