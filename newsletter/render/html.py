"""Article blocks -> HTML for the email body. Pure; escapes every text exactly once."""

from __future__ import annotations

from itertools import groupby

from markupsafe import Markup, escape

from newsletter.articles.model import Block, ListItem, Span

IMAGE_WIDTH = 536  # the 600 px column less its padding


def blocks_html(blocks: tuple[Block, ...]) -> Markup:
    return Markup("\n").join(_block(block) for block in blocks)


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


def _block(block: Block) -> Markup:
    kind = block.kind
    if kind == "paragraph":
        return Markup('<p class="p">{}</p>').format(spans_html(block.spans))
    if kind == "heading":
        level = max(2, min(block.level, 6))
        return Markup('<h{0} class="h{0}">{1}</h{0}>').format(level, spans_html(block.spans))
    if kind == "quote":
        return Markup('<blockquote class="quote"><p class="quote-p">{}</p></blockquote>').format(
            spans_html(block.spans)
        )
    if kind == "code":
        return Markup('<pre class="pre">{}</pre>').format(block.code)
    if kind == "rule":
        return Markup('<hr class="rule">')
    if kind == "image":
        return Markup('<div class="figure">{}</div>').format(image_html(block.src, block.alt))
    if kind == "list":
        return _list(block.items, block.ordered, block.start)
    raise ValueError(f"unknown block kind {kind!r}")


def _list(items: tuple[ListItem, ...], ordered: bool, start: int) -> Markup:
    """Items carry their nesting depth; nested items open lists of the same kind."""
    tag = "ol" if ordered else "ul"
    opener = Markup(
        f'<{tag} class="list"' + (f' start="{start}"' if ordered and start != 1 else "") + ">"
    )
    out: list[Markup] = [opener]
    depth = 0
    for index, item in enumerate(items):
        while item.depth > depth:
            out.append(Markup(f'<{tag} class="list">'))
            depth += 1
        while item.depth < depth:
            out.append(Markup(f"</li></{tag}>"))
            depth -= 1
        if index and out[-1] != opener and not str(out[-1]).startswith(f"<{tag}"):
            out.append(Markup("</li>"))
        out.append(Markup('<li class="li">{}').format(spans_html(item.spans)))
    while depth > 0:
        out.append(Markup(f"</li></{tag}>"))
        depth -= 1
    out.append(Markup(f"</li></{tag}>"))
    return Markup("").join(out)
