"""Links in an email must be absolute: relative ones are made so with `site_url`.
The links of the site may then be tagged ([tracking] utm, utm.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urljoin, urlsplit

from newsletter.articles.model import Article, Block, Span


def absolute(article: Article, site_url: str) -> Article:
    """The article with every relative link and image made absolute against site_url."""
    base = site_url.rstrip("/") + "/"
    return replace(
        article,
        url=_url(article.url, base),
        image=_url(article.image, base),
        body=_blocks(article.body, base),
    )


def _url(url: str | None, base: str) -> str:
    if not url or urlsplit(url).scheme:
        return url or ""
    return urljoin(base, url)


def _blocks(blocks: tuple[Block, ...], base: str) -> tuple[Block, ...]:
    return tuple(_block(block, base) for block in blocks)


def _spans(spans: tuple[Span, ...], base: str) -> tuple[Span, ...]:
    return tuple(replace(s, href=_url(s.href, base)) if s.href else s for s in spans)


def _block(block: Block, base: str) -> Block:
    return replace(
        block,
        spans=_spans(block.spans, base),
        items=tuple(replace(item, blocks=_blocks(item.blocks, base)) for item in block.items),
        children=_blocks(block.children, base),
        header=tuple(_spans(cell, base) for cell in block.header),
        rows=tuple(tuple(_spans(cell, base) for cell in row) for row in block.rows),
        src=_url(block.src, base),
        href=_url(block.href, base) or None,
    )


def tag_links(article: Article, tag: Callable[[str], str]) -> Article:
    """The article with `tag` applied to every link: its URL, its text's links, its
    buttons' and linked images' targets; never to an image itself."""

    def spans(items: tuple[Span, ...]) -> tuple[Span, ...]:
        return tuple(replace(s, href=tag(s.href)) if s.href else s for s in items)

    def blocks(items: tuple[Block, ...]) -> tuple[Block, ...]:
        return tuple(
            replace(
                b,
                spans=spans(b.spans),
                items=tuple(replace(i, blocks=blocks(i.blocks)) for i in b.items),
                children=blocks(b.children),
                header=tuple(spans(cell) for cell in b.header),
                rows=tuple(tuple(spans(cell) for cell in row) for row in b.rows),
                href=tag(b.href) if b.href else b.href,
            )
            for b in items
        )

    url = tag(article.url) if article.url else article.url
    return replace(article, url=url, body=blocks(article.body))


def relative_urls(article: Article) -> list[str]:
    """The article's links and images that are relative (made absolute when rendered)."""
    found: list[str] = [u for u in (article.url, article.image) if u and not urlsplit(u).scheme]

    def walk(blocks: tuple[Block, ...]) -> None:
        for block in blocks:
            cells = [span for row in (block.header, *block.rows) for cell in row for span in cell]
            urls = [s.href for s in (*block.spans, *cells) if s.href]
            urls += [block.src or "", block.href or ""]
            found.extend(u for u in urls if u and not urlsplit(u).scheme and u not in found)
            for item in block.items:
                walk(item.blocks)
            walk(block.children)

    walk(article.body)
    return found
