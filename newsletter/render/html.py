"""Article blocks -> HTML for the email body. Pure; escapes every text exactly once."""

from __future__ import annotations

from itertools import groupby

from markupsafe import Markup, escape

from newsletter.articles.model import Block, ListItem, Span

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


def image_html(src: str, alt: str, css_class: str = "img") -> Markup:
    return Markup(
        '<img class="{}" src="{}" alt="{}" width="{}" style="display:block;width:100%;'
        'max-width:{}px;height:auto;border:0;outline:none;text-decoration:none;">'
    ).format(css_class, src, alt, IMAGE_WIDTH, IMAGE_WIDTH)


def _span(span: Span) -> Markup:
    if span.br:
        return Markup("<br>")
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
    if kind == "paragraph":
        return Markup('<p class="{}">{}</p>').format(paragraph_class, spans_html(block.spans))
    if kind == "heading":
        level = max(2, min(block.level, 6))
        return Markup('<h{0} class="h{0}">{1}</h{0}>').format(level, spans_html(block.spans))
    if kind == "quote":
        inner = blocks_html(block.children, "quote-p")
        return Markup('<blockquote class="quote">{}</blockquote>').format(inner)
    if kind == "code":
        return Markup('<pre class="pre">{}</pre>').format(block.code)
    if kind == "rule":
        return Markup('<hr class="rule">')
    if kind == "image":
        image = image_html(block.src, block.alt)
        if block.href:
            image = Markup('<a href="{}">{}</a>').format(block.href, image)
        return Markup('<div class="figure">{}</div>').format(image)
    if kind == "list":
        tag = "ol" if block.ordered else "ul"
        start = Markup(' start="{}"').format(block.start) if block.start != 1 else ""
        items = Markup("").join(_item(item) for item in block.items)
        return Markup('<{0} class="list"{1}>{2}</{0}>').format(tag, start, items)
    raise ValueError(f"unknown block kind {kind!r}")


def _item(item: ListItem) -> Markup:
    """A one-paragraph item holds its text directly; others hold their blocks."""
    blocks = item.blocks
    if blocks and blocks[0].kind == "paragraph":
        first, rest = spans_html(blocks[0].spans), blocks[1:]
    else:
        first, rest = Markup(""), blocks
    inner = first + (blocks_html(rest, "li-p") if rest else Markup(""))
    return Markup('<li class="li">{}</li>').format(inner)
