"""Article blocks -> HTML for the email body. Pure; escapes every text exactly once."""

from __future__ import annotations

from itertools import groupby

from markupsafe import Markup, escape

from newsletter.articles.model import Block, ListItem, Span
from newsletter.text import text_direction

IMAGE_WIDTH = 536  # the 600 px column less its padding


def blocks_html(blocks: tuple[Block, ...], paragraph_class: str = "p") -> Markup:
    return Markup("\n").join(_block(block, paragraph_class) for block in blocks)


def spans_html(spans: tuple[Span, ...]) -> Markup:
    out = []
    for href, group in groupby(spans, key=lambda span: span.href):
        inner = Markup("").join(_span(span) for span in group)
        if href:
            out.append(Markup('<a class="link" href="{}">{}</a>').format(href, inner))
        else:
            out.append(inner)
    return Markup("").join(out)


def image_html(
    src: str, alt: str, css_class: str = "img", width: int = 0, height: int = 0
) -> Markup:
    """An image as wide as the column, or as wide as the article says it is (never
    wider than the column); with both sizes known, its height too (scaled with the
    width), so the layout does not jump when images load or are blocked."""
    shown = min(width, IMAGE_WIDTH) if width else IMAGE_WIDTH
    size = Markup(' height="{}"').format(round(height * shown / width)) if width and height else ""
    fill = "width:100%;" if shown == IMAGE_WIDTH else Markup("width:{}px;").format(shown)
    return Markup(
        '<img class="{}" src="{}" alt="{}" width="{}"{} style="display:block;{}'
        'max-width:{}px;height:auto;border:0;outline:none;text-decoration:none;">'
    ).format(css_class, src, alt, shown, size, fill, shown)


def _span(span: Span) -> Markup:
    if span.br:
        return Markup("<br>")
    if span.note:
        return Markup('<sup class="note-ref">{}</sup>').format(span.note)
    html = escape(span.text)
    for flag, tag in (
        (span.code, "code"),
        (span.strike, "s"),
        (span.em, "em"),
        (span.strong, "strong"),
    ):
        if flag:
            html = Markup(f'<{tag} class="{tag}">') + html + Markup(f"</{tag}>")
    return html


def _block(block: Block, paragraph_class: str = "p") -> Markup:
    kind = block.kind
    if kind == "paragraph":  # a right-to-left one in a left-to-right article runs its way
        rtl = Markup(' dir="rtl"') if text_direction(block.plain_text) == "rtl" else ""
        return Markup('<p class="{}"{}>{}</p>').format(
            paragraph_class, rtl, spans_html(block.spans)
        )
    if kind == "heading":
        level = max(2, min(block.level, 6))
        return Markup('<h{0} class="h{0}">{1}</h{0}>').format(level, spans_html(block.spans))
    if kind == "quote":
        inner = blocks_html(block.children, "quote-p")
        return Markup('<blockquote class="quote">{}</blockquote>').format(inner)
    if kind == "code":
        return Markup('<div class="pre">{}</div>').format(code_html(block.code))
    if kind == "table":
        return _table(block)
    if kind == "button":
        return button_html(spans_html(block.spans), block.href or "")
    if kind == "notes":
        items = Markup("").join(_item(item, "note") for item in block.items)
        return Markup('<ol class="notes">{}</ol>').format(items)
    if kind == "rule":
        return Markup('<hr class="rule">')
    if kind == "image":
        image = image_html(block.src, block.alt, "img", block.width, block.height)
        if block.href:
            image = Markup('<a href="{}">{}</a>').format(block.href, image)
        return Markup('<div class="figure">{}</div>').format(image)
    if kind == "list":
        tag = "ol" if block.ordered else "ul"
        start = Markup(' start="{}"').format(block.start) if block.start != 1 else ""
        tasks = all(item.checked is not None for item in block.items)
        items = Markup("").join(_item(item, "task" if tasks else "li") for item in block.items)
        css = "list tasks" if tasks else "list"
        return Markup('<{0} class="{3}"{1}>{2}</{0}>').format(tag, start, items, css)
    raise ValueError(f"unknown block kind {kind!r}")


def _item(item: ListItem, css_class: str = "li") -> Markup:
    """A one-paragraph item holds its text directly; others hold their blocks. A task
    starts with its box, ticked or not (a character: no form controls in email)."""
    blocks = item.blocks
    if blocks and blocks[0].kind == "paragraph":
        first, rest = spans_html(blocks[0].spans), blocks[1:]
    else:
        first, rest = Markup(""), blocks
    if item.checked is not None:
        box = "\u2611" if item.checked else "\u2610"
        first = Markup('<span class="box">{}</span> ').format(box) + first
    inner = first + (blocks_html(rest, "li-p") if rest else Markup(""))
    return Markup('<li class="{}">{}</li>').format(css_class, inner)


def button_html(label: Markup, href: str) -> Markup:
    """A call to action that is a button in every client: the padded link on the
    accent (email.css), inside a cell of the same colour that Outlook pads instead
    (mso-padding-alt), as Cerberus ships it."""
    return Markup(
        '<div class="button-box"><table role="presentation" class="button" cellpadding="0" '
        'cellspacing="0" border="0"><tbody><tr><td class="button-td">'
        '<a class="button-a" href="{}">{}</a></td></tr></tbody></table></div>'
    ).format(href, label)


CODE_CHAR_EM = 0.6  # the advance of one character of Menlo, Consolas or Courier New
CODE_HANG = 4  # characters a wrapped code line goes on under its start


def code_html(code: str) -> Markup:
    """A code block's lines, for a box that wraps at the column instead of widening
    it (`white-space` is not for every client): a line per div, its indentation a
    left padding, and a line too long for the box goes on CODE_HANG characters deeper
    than it starts (a hanging indent: never back at the margin, where it would read as
    a line of its own); runs of spaces inside are kept with no-break spaces, tabs as four."""
    lines = []
    for line in code.expandtabs(4).split("\n"):
        body = line.lstrip(" ")
        depth = (len(line) - len(body) + CODE_HANG) * CODE_CHAR_EM
        text = str(escape(body)).replace("  ", "&nbsp; ") or "&nbsp;"
        lines.append(f'<div class="code-line" style="padding-left:{depth:g}em">{text}</div>')
    return Markup("".join(lines))


def _table(block: Block) -> Markup:
    """A real table: header cells, body cells, each column aligned as written; it
    wraps its cells' text to stay inside the column (and scrolls in its own box
    where a client lets it)."""

    def row(cells: tuple[tuple[Span, ...], ...], tag: str) -> Markup:
        out = []
        for n, cell in enumerate(cells):
            align = block.aligns[n] if n < len(block.aligns) else ""
            style = Markup(' style="text-align:{}"').format(align) if align else Markup("")
            scope = Markup(' scope="col"') if tag == "th" else Markup("")
            out.append(Markup('<{0} class="{0}"{1}{2}>{3}</{0}>').format(
                tag, scope, style, spans_html(cell)))  # fmt: skip
        return Markup("<tr>{}</tr>").format(Markup("").join(out))

    head = Markup("<thead>{}</thead>").format(row(block.header, "th")) if block.header else ""
    body = Markup("").join(row(cells, "td") for cells in block.rows)
    return Markup(
        '<div class="table-box"><table class="table" role="table" width="100%" '
        'cellpadding="0" cellspacing="0" border="0">{}<tbody>{}</tbody></table></div>'
    ).format(head, body)
