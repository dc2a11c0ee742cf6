"""An issue's page in the web archive: the HTML email frozen when its send started,
with no reader in it, made a web page.

Every subscriber field gets its neutral value (the template's fallback: "Hi there,";
an address is never one: it is left empty). The reader's part of the footer (their
address, the unsubscribe and preferences links), marked in the template by
`<!--archive:reader-->` comments, becomes a subscribe link; an issue frozen before
the markers has its unsubscribe link turned into that link, its preferences link and
the paragraph holding the address replaced. Its "View in browser" bar (between
`<!--archive:nav-->` comments) becomes the page's navigation: back to the index, and
subscribe. The head gets a canonical link, a description, the feed, and the few
styles of what was added. The frozen HTML is inlined already: no premailer here,
only string work, so a thousand pages take a moment."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import escape

from newsletter.archive.contents import ArchivedIssue
from newsletter.personalise import field_values, html_values
from newsletter.render.words import Words
from newsletter.text import language_direction

NAV = ("<!--archive:nav-->", "<!--/archive:nav-->")
READER = ("<!--archive:reader-->", "<!--/archive:reader-->")
INDEX = "../../index.html"  # from issues/ID/index.html: relative, so any path serves it
FEED = "../../feed.xml"

# stand-ins for the reader's values, found again after the fill (private-use
# characters: neither the templates nor HTML escaping make them)
_EMAIL, _UNSUBSCRIBE, _PREFERENCES = "\ue000e\ue001", "\ue000u\ue001", "\ue000p\ue001"

PAGE_CSS = """
.archive-nav { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 8px 16px; max-width: 600px; margin: 0 auto; padding: 0 4px 12px 4px; font-family: %(font)s; font-size: 15px; line-height: 22px; }
.archive-nav-link { color: #374151; text-decoration: underline; text-underline-offset: 2px; }
.archive-nav-link:hover { text-decoration-thickness: 2px; }
@media only screen and (max-width: 620px) { .archive-nav { padding: 12px 20px !important; } }
@media (prefers-color-scheme: dark) { .archive-nav-link { color: #c9cfd6 !important; } }
"""  # noqa: E501


@dataclass(frozen=True)
class PageSite:
    """What every issue page of one build shares."""

    name: str  # the newsletter's
    feed: bool  # a feed.xml is written beside the index
    font: str  # the theme's heading font, for the navigation
    words: Callable[[str], Words]  # a language's words


@dataclass(frozen=True)
class Neighbour:
    """The issue sent before or after one, as its page links to it."""

    id: str
    subject: str

    @property
    def href(self) -> str:  # from issues/ID/index.html
        return f"../{quote(self.id, safe='')}/index.html"


def issue_page(
    issue: ArchivedIssue,
    site: PageSite,
    page_url: str,
    subscribe_url: str,
    older: Neighbour | None = None,
    newer: Neighbour | None = None,
) -> str:
    """The issue's page (`page_url`: its absolute URL, "" when the archive has none),
    linking to the issues sent before and after it."""
    rendered = issue.rendered
    said = site.words(rendered.language)
    html = rendered.html.fill(
        html_values(field_values(rendered.fields, _EMAIL, {}, _UNSUBSCRIBE, _PREFERENCES))
    )
    subscribe = str(escape(subscribe_url))
    html = _footer(html, said, site.name, subscribe, _neighbours(said, older, newer))
    html = _title(html, subject_of(issue), site.name)
    html = _navigation(html, said, subscribe, rendered.language)
    html = html.replace(_UNSUBSCRIBE, subscribe).replace(_PREFERENCES, subscribe)
    html = html.replace(_EMAIL, "")
    return _with_head(html, _head(issue, site, page_url))


def subject_of(issue: ArchivedIssue) -> str:
    """The issue's subject as the archive shows it: fields at their neutral values."""
    rendered = issue.rendered
    return rendered.subject.fill(field_values(rendered.fields, "", {}, "", ""))


# --- the footer: the reader's part becomes a subscribe link ---


def _neighbours(
    said: Words, older: Neighbour | None, newer: Neighbour | None
) -> list[tuple[str, str]]:
    """(href, label) of the issues sent before and after, those there are."""
    return [
        (n.href, str(said.html(key, title=n.subject)))
        for key, n in (("archive_older", older), ("archive_newer", newer))
        if n is not None
    ]


def _footer(
    html: str,
    said: Words,
    name: str,
    subscribe: str,
    neighbours: list[tuple[str, str]] | None = None,
) -> str:
    why = said.html("archive_why", name=name)
    link = said.html("archive_subscribe_to", name=name)
    back = said.html("archive_all_issues")
    if READER[0] in html:

        def block(region: str) -> str:
            paragraphs = re.findall(r"<p\b([^>]*)>", region) or [' class="footer-p"']
            own = re.search(rf"<p\b([^>]*)>(?:(?!<p\b|</p>).)*{_EMAIL}", region, flags=re.S)
            anchor = re.search(r"<a\b([^>]*)>", region)
            a = _without_href(anchor.group(1)) if anchor else ' class="footer-link"'
            first = own[1] if own else paragraphs[0]
            links = " · ".join(
                f'<a{a} href="{href}">{label}</a>' for href, label in neighbours or ()
            )
            around = f"\n<p{paragraphs[-1]}>{links}</p>" if links else ""
            return (
                f'<p{first}>{why}</p>\n<p{paragraphs[-1]}><a{a} href="{subscribe}">{link}</a>'
                f' · <a{a} href="{INDEX}">{back}</a></p>{around}'
            )

        return _between(html, READER, block)
    # frozen before the markers: the links and the address, where they are
    html = re.sub(
        rf"<p\b([^>]*)>(?:(?!<p\b|</p>).)*{_EMAIL}.*?</p>",
        lambda m: f"<p{m[1]}>{why}</p>",
        html,
        flags=re.S,
    )
    html = re.sub(
        rf"<a\b([^>]*){_UNSUBSCRIBE}([^>]*)>.*?</a>",
        lambda m: f"<a{m[1]}{subscribe}{m[2]}>{link}</a>",
        html,
        flags=re.S,
    )
    return re.sub(rf"(?:\s*·\s*)?<a\b[^>]*{_PREFERENCES}[^>]*>.*?</a>", "", html, flags=re.S)


def _title(html: str, subject: str, name: str) -> str:
    """The page's title: the subject and the newsletter's name."""
    title = f"<title>{escape(subject)} · {escape(name)}</title>"
    return re.sub(r"<title>.*?</title>", lambda _m: title, html, count=1, flags=re.S)


def _without_href(attributes: str) -> str:
    return re.sub(r"\s+href=(\"[^\"]*\"|'[^']*'|\S+)", "", attributes)


# --- the navigation, where the "View in browser" bar was ---


def _navigation(html: str, said: Words, subscribe: str, language: str) -> str:
    arrow = "→" if language_direction(language) == "rtl" else "←"
    nav = (
        f'<nav class="archive-nav" aria-label="{said.html("archive_all_issues")}">'
        f'<a class="archive-nav-link" href="{INDEX}">{arrow} {said.html("archive_all_issues")}</a>'
        f'<a class="archive-nav-link" href="{subscribe}">{said.html("archive_subscribe")}</a>'
        "</nav>"
    )
    if NAV[0] in html:
        return _between(html, NAV, lambda _region: nav, once=True)
    found = re.search(r'<div\b[^>]*class="shell"[^>]*>', html) or re.search(r"<body\b[^>]*>", html)
    if found is None:
        return nav + html
    return html[: found.end()] + nav + html[found.end() :]


def _between(
    html: str, marks: tuple[str, str], replace: Callable[[str], str], once: bool = False
) -> str:
    """`html` with each region between the marks (the marks too) replaced."""
    out, pos = [], 0
    while True:
        start = html.find(marks[0], pos)
        end = html.find(marks[1], start + len(marks[0])) if start >= 0 else -1
        if end < 0:
            break
        out += [html[pos:start], replace(html[start + len(marks[0]) : end])]
        pos = end + len(marks[1])
        if once:
            break
    out.append(html[pos:])
    return "".join(out)


# --- the head ---


def _head(issue: ArchivedIssue, site: PageSite, page_url: str) -> str:
    description = escape(issue.rendered.preheader)
    title = escape(subject_of(issue))
    lines = [
        f'<meta name="description" content="{description}">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:title" content="{title}">',
        f'<meta property="og:description" content="{description}">',
        f'<meta property="og:site_name" content="{escape(site.name)}">',
    ]
    if page_url:
        lines += [
            f'<link rel="canonical" href="{escape(page_url)}">',
            f'<meta property="og:url" content="{escape(page_url)}">',
        ]
    if site.feed:
        lines.append(
            f'<link rel="alternate" type="application/atom+xml" '
            f'title="{escape(site.name)}" href="{FEED}">'
        )
    lines.append(f"<style>{PAGE_CSS % {'font': site.font}}</style>")
    return "\n".join(lines) + "\n"


def _with_head(html: str, head: str) -> str:
    at = html.find("</head>")
    if at < 0:
        return head + html
    return html[:at] + head + html[at:]
