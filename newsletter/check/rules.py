"""The lint rules of `newsletter check`: pure functions over one personalised email.

Each rule yields Findings: an error fails the check (and stops `send` unless
--force), a warning is shown, a note only appears with --all and in --json.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from newsletter.check.support import VOID, Unsupported, unsupported

CLIP_BYTES = 102 * 1024  # Gmail clips the HTML part beyond about 102 KB
WARN_BYTES = 80 * 1024
PREHEADER_CHARS = 100
SUBJECT_CHARS = 78
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
BUILT_IN_FIELDS = {"email", "name", "unsubscribe_url", "preferences_url"}

# Unsupported features whose failure nobody sees, or that have a fallback by
# construction: @media is progressive enhancement, <style> is inlined by premailer
# anyway, the doctype and <body> styles are repeated on the wrapper table, the three
# word-wrapping properties stand in for each other, square corners are corners;
# table-layout fixes the card's width so a wide table scrolls in its box, and where
# it is missing (Outlook on Windows) the ghost table holds the 600 px anyway.
# Notes only (--all, --json).
FALLBACK = {"css-at-media", "css-at-media-prefers-color-scheme", "css-at-media-hover",
            "css-at-media-orientation", "css-at-media-prefers-reduced-motion",
            "css-at-media-device-pixel-ratio", "css-at-font-face", "html-style",
            "html-doctype", "html-body", "html-meta-color-scheme", "css-overflow-wrap",
            "css-word-break", "css-word-wrap", "css-hyphens", "css-border-radius",
            "css-comments", "css-table-layout"}  # fmt: skip
# Unsupported features that change looks, not layout: warnings. Any other unsupported
# feature may break the layout in that client: an error.
COSMETIC = {"css-box-shadow", "css-text-shadow", "css-opacity", "css-letter-spacing",
            "css-text-decoration", "css-text-decoration-color", "css-text-decoration-line",
            "css-text-decoration-style", "css-text-decoration-thickness",
            "css-text-underline-offset", "css-transition", "css-animation",
            "css-at-keyframes", "css-pseudo-class-hover", "css-pseudo-class-focus",
            "css-pseudo-class-active", "css-pseudo-class-visited", "css-cursor", "css-outline",
            "css-rgba", "css-linear-gradient", "css-radial-gradient", "css-background-image",
            "css-text-transform", "css-font-weight", "css-font-kerning", "css-text-overflow",
            "css-caption-side", "css-accent-color", "css-color-scheme", "html-abbr",
            "html-dfn", "html-small", "css-pseudo-element-before",
            "css-pseudo-element-after"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # error | warning | note
    message: str

    def data(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class Email:
    """What the rules look at: one subscriber's copy of the issue."""

    subject: str
    html: str
    text: str
    preheader: str
    headers: dict[str, str]  # the message's headers, names lowercased
    unsubscribe_url: str
    postal_address: str
    fields: frozenset[str]  # the subscriber fields the templates use (CSV columns)
    columns: frozenset[str] | None  # the list's columns, when a list was given
    relative: tuple[tuple[str, str, str], ...] = ()  # (article, its relative URL, made absolute)
    delivering: bool = False  # a real send (not the outbox): it reaches people's inboxes


Rule = Callable[[Email], Iterator[Finding]]


def run(email: Email) -> list[Finding]:
    page = _Page()
    page.feed(email.html)
    page.close()
    found = [f for rule in RULES for f in rule(email)]
    found += [f for rule in PAGE_RULES for f in rule(email, page)]
    order = {"error": 0, "warning": 1, "note": 2}
    return sorted(found, key=lambda f: order[f.severity])


class _Page(HTMLParser):
    """Images, links and visible text of the HTML part (MSO-only code is in comments
    and so not seen, as other clients do not see it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[tuple[str | None, str]] = []  # (href, text)
        self.text: list[str] = []
        self._hidden: list[bool] = []
        self._link: list[str | None] | None = None
        self._link_text: list[str] = []
        self._skip = 0  # inside <style>, <title>, <head>

    VOID = VOID

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("style", "title", "head", "script"):
            self._skip += 1
        style = (values.get("style") or "").replace(" ", "").lower()
        hidden = bool(self._hidden and self._hidden[-1]) or "display:none" in style
        if tag not in self.VOID:
            self._hidden.append(hidden)
        if tag == "img":
            self.images.append(values)
        elif tag == "a":
            self._link = [values.get("href")]
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "head", "script"):
            self._skip = max(0, self._skip - 1)
        if tag not in self.VOID and self._hidden:
            self._hidden.pop()
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join("".join(self._link_text).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._skip or (self._hidden and self._hidden[-1]):
            return
        self.text.append(data)
        if self._link is not None:
            self._link_text.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


# --- rules over the whole email ---


def html_size(email: Email) -> Iterator[Finding]:
    size = len(email.html.encode())
    if size > CLIP_BYTES:
        yield Finding("html-size", "error", f"the HTML is {size / 1024:.0f} KB: Gmail clips "
                      "messages over about 102 KB, hiding the rest and the unsubscribe "
                      "link")  # fmt: skip
    elif size > WARN_BYTES:
        yield Finding("html-size", "warning", f"the HTML is {size / 1024:.0f} KB, near Gmail's "
                      "clipping at about 102 KB")  # fmt: skip


def subject(email: Email) -> Iterator[Finding]:
    if not email.subject.strip():
        yield Finding("subject", "error", "the subject is empty")
    elif len(email.subject) > SUBJECT_CHARS:
        yield Finding("subject", "warning", f"the subject is {len(email.subject)} characters; "
                      f"inboxes cut it after about {SUBJECT_CHARS}")  # fmt: skip


def preheader(email: Email) -> Iterator[Finding]:
    text = email.preheader.strip()
    if not text:
        yield Finding("preheader", "warning", "no preheader: inboxes show the first body text "
                      "(or nothing useful) beside the subject")  # fmt: skip
    elif len(text) > PREHEADER_CHARS:
        yield Finding("preheader", "warning", f"the preheader is {len(text)} characters; inboxes "
                      f"show about {PREHEADER_CHARS}")  # fmt: skip


def list_unsubscribe_headers(email: Email) -> Iterator[Finding]:
    value = email.headers.get("list-unsubscribe", "")
    if "<http" not in value:
        yield Finding("list-unsubscribe", "error", "no List-Unsubscribe header with a web "
                      "link: Gmail and Yahoo require one-click unsubscribe from bulk "
                      "senders")  # fmt: skip
    if email.headers.get("list-unsubscribe-post", "") != "List-Unsubscribe=One-Click":
        yield Finding("list-unsubscribe", "error", "no List-Unsubscribe-Post: "
                      "List-Unsubscribe=One-Click header (RFC 8058)")  # fmt: skip


def unsubscribe_https(email: Email) -> Iterator[Finding]:
    """RFC 8058's one-click POST must go to an https:// URL (Gmail and Yahoo ignore
    another); http:// is for trying it on this machine."""
    parts = urlsplit(email.unsubscribe_url)
    if parts.scheme != "http" or _loopback(parts.hostname or ""):
        return
    yield Finding("unsubscribe-https", "error" if email.delivering else "warning",
                  f"the unsubscribe link is http://{parts.hostname}/...: one-click unsubscribe "
                  "(RFC 8058) needs https://, set [unsubscribe] url to the HTTPS address of "
                  "`newsletter serve` behind its proxy")  # fmt: skip


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fields(email: Email) -> Iterator[Finding]:
    if email.columns is None:
        return
    for name in sorted(email.fields - BUILT_IN_FIELDS - email.columns):
        yield Finding("field", "error", f"the templates use the subscriber field {name!r}, "
                      "which no subscriber has: the list has no such column")  # fmt: skip


def text_links(email: Email) -> Iterator[Finding]:
    if email.unsubscribe_url not in email.text:
        yield Finding("unsubscribe-link", "error", "the plain-text part has no unsubscribe link")


def relative_links(email: Email) -> Iterator[Finding]:
    for article, url, made in email.relative:
        yield Finding("link-relative", "warning", f"{article}: the relative URL {url} was made "
                      f"absolute as {made} (from [newsletter] site_url); check that it "
                      "exists")  # fmt: skip


RULES: list[Rule] = [
    html_size,
    subject,
    preheader,
    list_unsubscribe_headers,
    unsubscribe_https,
    fields,
    text_links,
    relative_links,
]


# --- rules over the parsed HTML ---


def images(email: Email, page: _Page) -> Iterator[Finding]:
    for image in page.images:
        src = (image.get("src") or "")[:80]
        decorative = image.get("role") == "presentation" or image.get("aria-hidden") == "true"
        if not (image.get("alt") or "").strip() and not decorative:
            yield Finding("img-alt", "error", f"image {src} has no alt text (a decorative image "
                          "says so with role=\"presentation\" and alt=\"\")")  # fmt: skip
        if not image.get("width"):
            yield Finding("img-width", "error", f"image {src} has no width attribute: Outlook "
                          "shows it at its natural size")  # fmt: skip


def links(email: Email, page: _Page) -> Iterator[Finding]:
    local: dict[str, list[str]] = {}  # host -> the links to it (one finding a host)
    for href, text in page.links:
        label = f"link “{text[:40]}”" if text else "a link"
        if href is None or not href.strip():
            yield Finding("link-empty", "error", f"{label} has an empty href")
            continue
        parts = urlsplit(href.strip())
        scheme = parts.scheme.lower()
        if not scheme and not href.startswith("#"):
            yield Finding("link-relative", "error", f"{label} is relative ({href[:80]}): it "
                          "leads nowhere from an inbox; set [newsletter] site_url or use a "
                          "full URL")  # fmt: skip
        elif scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK:
            local.setdefault(parts.hostname or "", []).append(label)
        elif scheme == "http":
            yield Finding("link-http", "warning", f"{label} uses http: ({href[:80]}); "
                          "prefer https")  # fmt: skip
        elif scheme == "javascript":
            yield Finding("link-script", "error", f"{label} runs a script ({href[:40]})")
    for host, labels in local.items():
        lead = "leads" if len(labels) == 1 else "lead"
        yield Finding("link-local", "warning", f"{' and '.join(labels)} {lead} to {host}, which "
                      "only this machine reaches; subscribers cannot follow it")  # fmt: skip


def unsubscribe_link(email: Email, page: _Page) -> Iterator[Finding]:
    if not any(href == email.unsubscribe_url for href, text in page.links if text):
        yield Finding("unsubscribe-link", "error", "no visible unsubscribe link in the HTML "
                      "part (a link to the subscriber's {{ unsubscribe_url }})")  # fmt: skip


def postal_address(email: Email, page: _Page) -> Iterator[Finding]:
    address = " ".join(email.postal_address.split())
    if not address:
        yield Finding("postal-address", "error", "[newsletter] postal_address is empty: the "
                      "law (CAN-SPAM, and others) asks for one in every message")  # fmt: skip
        return
    if address not in page.visible_text:
        yield Finding("postal-address", "error", "the HTML part does not show the postal address")
    if address not in " ".join(email.text.split()):
        yield Finding("postal-address", "error", "the text part does not show the postal address")


def client_support(email: Email, page: _Page) -> Iterator[Finding]:
    for feature in unsupported(email.html):
        yield Finding(_support_rule(feature), _support_severity(feature.slug), _describe(feature))


def _support_rule(feature: Unsupported) -> str:
    return "css-support" if feature.slug.startswith("css-") else "html-support"


def _support_severity(slug: str) -> str:
    """A selector left in the <style> block only refines what is inlined (premailer
    inlines every rule outside @media; what stays are client resets): where it is
    not supported, nothing breaks. ARIA attributes only help assistive technology."""
    if slug in FALLBACK or slug.startswith(("css-selector-", "html-aria-")):
        return "note"
    return "warning" if slug in COSMETIC else "error"


def _describe(feature: Unsupported) -> str:
    where = ", ".join(feature.places) + (f" and {feature.more} more" if feature.more else "")
    return (f"{feature.title} ({feature.slug}) is not supported by "
            f"{', '.join(feature.clients)}; used in {where}; see {feature.url}")  # fmt: skip


PAGE_RULES: list[Callable[[Email, _Page], Iterator[Finding]]] = [
    images,
    links,
    unsubscribe_link,
    postal_address,
    client_support,
]


def links_of(html: str) -> list[str]:
    """Every distinct http(s) link of the HTML part, in order (for --online)."""
    page = _Page()
    page.feed(html)
    page.close()
    seen: dict[str, None] = {}
    for href, _ in page.links:
        if href and re.match(r"https?://", href, re.I):
            seen.setdefault(href, None)
    return list(seen)
