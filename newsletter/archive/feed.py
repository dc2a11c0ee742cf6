"""The archive's Atom feed (feedgen) and its sitemap.xml. Both need absolute links
(Atom's ids and a sitemap's locations are whole URLs), so both need `[archive] url`:
without it the build writes neither, and says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

FEED_ENTRIES = 50  # the newest issues; the index lists them all


@dataclass(frozen=True)
class FeedEntry:
    url: str  # the page, absolute
    title: str
    summary: str
    sent_at: datetime


def atom_feed(
    base_url: str,
    title: str,
    subtitle: str,
    language: str,
    entries: Sequence[FeedEntry],
    now: datetime,
) -> bytes:
    """The feed of the newest FEED_ENTRIES issues (`entries`, newest first)."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(f"{base_url}/")
    feed.title(title)
    feed.subtitle(subtitle)
    feed.author({"name": title})
    feed.link(href=f"{base_url}/", rel="alternate", type="text/html")
    feed.link(href=f"{base_url}/feed.xml", rel="self", type="application/atom+xml")
    feed.language(language)
    feed.generator("newsletter")
    shown = entries[:FEED_ENTRIES]
    feed.updated(shown[0].sent_at if shown else now)
    for entry in shown:
        item = feed.add_entry(order="append")
        item.id(entry.url)
        item.title(entry.title)
        item.link(href=entry.url, rel="alternate", type="text/html")
        item.published(entry.sent_at)
        item.updated(entry.sent_at)
        if entry.summary:
            item.summary(entry.summary)
    return bytes(feed.atom_str(pretty=True))


def sitemap(base_url: str, pages: Sequence[tuple[str, datetime | None]]) -> bytes:
    """sitemap.xml of (relative path, last changed) pages."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for path, changed in pages:
        lines.append(
            f"<url><loc>{escape(f'{base_url}/{path}')}</loc>"
            + (f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed else "")
            + "</url>"
        )
    lines.append("</urlset>\n")
    return "\n".join(lines).encode()
