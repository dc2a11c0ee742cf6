"""Which HTML and CSS features an email uses, and which of them the major clients do
not support, from caniemail's data (caniemail.json, refreshed by
scripts/refresh_caniemail.py). Pure: HTML text in, findings out.

What counts as used: elements, attributes and inline styles outside MSO conditional
comments (Outlook-only code is written for Outlook), and rules of <style> blocks.
Not reported: declarations inside @media blocks (progressive enhancement: a client
that ignores the block keeps the base styles) and styles of elements hidden with
display:none (the preheader's tricks), whose failure nobody sees.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

DATA = Path(__file__).with_name("caniemail.json")

# The clients `check` speaks for: (family, platforms or None for all), as named to users.
CLIENTS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "Gmail": ("gmail", None),
    "Outlook (Windows)": ("outlook", ("windows",)),
    "Apple Mail": ("apple-mail", None),
    "Yahoo Mail": ("yahoo", None),
}
MAX_PLACES = 3

SEMANTIC = {"article", "aside", "details", "figcaption", "figure", "footer", "header", "main",
            "mark", "nav", "section", "summary", "time"}  # fmt: skip
ATTRIBUTES = {"align": "html-align", "valign": "html-valign", "width": "html-width",
              "height": "html-height", "cellpadding": "html-cellpadding",
              "cellspacing": "html-cellspacing", "background": "html-background",
              "role": "html-role", "lang": "html-lang", "dir": "html-dir",
              "target": "html-target", "srcset": "html-srcset",
              "loading": "html-loading-attribute", "hidden": "html-hidden",
              "required": "html-required", "aria-hidden": "html-aria-hidden",
              "aria-label": "html-aria-label", "aria-labelledby": "html-aria-labelledby",
              "aria-describedby": "html-aria-describedby", "aria-live": "html-aria-live",
              "inert": "css-inert-attribute", "popover": "html-popover"}  # fmt: skip
UNITS = re.compile(r"(?<![\w#-])-?[\d.]+(rem|vh|vw|vmin|vmax|ch|ex|cm|mm|in|pc)\b")
FUNCTIONS = {"var(": "css-variables", "calc(": "css-unit-calc", "clamp(": "css-function-clamp",
             "min(": "css-function-min", "max(": "css-function-max",
             "linear-gradient(": "css-linear-gradient", "radial-gradient(": "css-radial-gradient",
             "conic-gradient(": "css-conic-gradient", "light-dark(": "css-function-light-dark",
             "rgba(": "css-rgba"}  # fmt: skip
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})  # fmt: skip
RESETS = {"auto", "initial", "inherit", "unset", "normal", "none"}
IMAGE_TYPES = {"webp", "avif", "svg", "gif", "png", "jpg", "jpeg", "bmp", "tiff", "ico", "apng",
               "heif", "heic"}  # fmt: skip


@dataclass(frozen=True)
class Unsupported:
    slug: str
    title: str
    url: str
    clients: tuple[str, ...]  # the clients that do not support it, by name
    places: tuple[str, ...]  # where it is used (the first few)
    more: int  # places not shown


@dataclass
class Usage:
    """Features used, each with where (e.g. "td.content", "<style> .body")."""

    places: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, slug: str, where: str) -> None:
        self.counts[slug] = self.counts.get(slug, 0) + 1
        kept = self.places.setdefault(slug, [])
        if len(kept) < MAX_PLACES and where not in kept:
            kept.append(where)


@functools.cache
def features() -> dict[str, dict]:
    return {f["slug"]: f for f in json.loads(DATA.read_text(encoding="utf-8"))["features"]}


def data_date() -> str:
    return json.loads(DATA.read_text(encoding="utf-8"))["last_update_date"][:10]


def _rule_place(selector: str) -> str:
    """A rule of a <style> block as a finding names it: its first selector (a list of
    them joined with commas would read as several places), and how many more it has."""
    group = [" ".join(part.split()) for part in selector.split(",") if part.strip()]
    first = group[0] if group else selector
    first = first if len(first) <= 40 else first[:39] + "…"
    more = f" (+{len(group) - 1} selectors)" if len(group) > 1 else ""
    return f"<style> {first}{more}"


def unsupported(html: str) -> list[Unsupported]:
    """Features the HTML uses that one of CLIENTS does not support at its latest
    tested version, each with the clients named; sorted by feature."""
    usage = scan(html)
    found = []
    for slug in sorted(usage.places):
        feature = features().get(slug)
        if feature is None:
            continue
        clients = tuple(name for name, client in CLIENTS.items() if _lacks(feature, *client))
        if clients:
            places = tuple(usage.places[slug])
            found.append(Unsupported(slug, feature["title"], feature["url"], clients, places,
                                     usage.counts[slug] - len(places)))  # fmt: skip
    return found


def _lacks(feature: dict, family: str, platforms: tuple[str, ...] | None) -> bool:
    """True when the latest tested version of any of the platforms says "n"."""
    stats = feature["stats"].get(family, {})
    for platform, versions in stats.items():
        if platforms is not None and platform not in platforms:
            continue
        latest = max(versions, key=_version_key)
        if versions[latest].split()[0] == "n":
            return True
    return False


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.-]", version))


# --- scanning ---


def scan(html: str) -> Usage:
    usage = Usage()
    parser = _Scanner(usage)
    parser.feed(html)
    parser.close()
    for css, line in parser.styles:
        _scan_stylesheet(css, usage, line)
    return usage


class _Scanner(HTMLParser):
    VOID = VOID

    def __init__(self, usage: Usage) -> None:
        super().__init__(convert_charrefs=True)
        self.usage = usage
        self.hidden: list[bool] = []  # per open element: hidden by display:none here or above
        self.styles: list[tuple[str, int]] = []
        self._in_style = False

    def handle_decl(self, decl: str) -> None:
        self.usage.add("html-doctype", "<!DOCTYPE>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        style = values.get("style", "")
        hidden = bool(self.hidden and self.hidden[-1]) or _hides(style)
        if tag not in self.VOID:
            self.hidden.append(hidden)
        if tag == "style":
            self._in_style = True
            self.usage.add("html-style", "<style>")
            return
        where = _describe(tag, values)
        for slug in _element_features(tag, values):
            self.usage.add(slug, where)
        if style and not hidden:
            for slug in _declaration_features(style):
                self.usage.add(slug, where)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.hidden:
            self.hidden.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag not in self.VOID and self.hidden:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append((data, self.getpos()[0]))


def _hides(style: str) -> bool:
    return bool(re.search(r"(^|;)\s*display\s*:\s*none", style, re.I))


def _describe(tag: str, values: dict[str, str]) -> str:
    classes = values.get("class", "").split()
    return tag + "".join(f".{c}" for c in classes[:2])


# Element names a feature is named for, other than `html-<tag>`.
_TAG_FEATURES = {
    **{f"h{n}": "html-h1-h6" for n in range(1, 7)},
    **dict.fromkeys(("ul", "ol", "li", "dl", "dt", "dd"), "html-lists"),
    **dict.fromkeys(SEMANTIC, "html-semantics"),
    "s": "html-strike",
    "strike": "html-strike",
    "map": "html-image-maps",
}
_TYPED = {"input": "text", "button": "submit"}  # html-input-<type>, with its default


def _element_features(tag: str, values: dict[str, str]) -> Iterator[str]:
    if tag in _TYPED:
        yield f"html-{tag}-{values.get('type', _TYPED[tag]).lower()}"
    else:
        yield _TAG_FEATURES.get(tag, f"html-{tag}")
    yield from (ATTRIBUTES[name] for name in values if name in ATTRIBUTES)
    if tag == "a":
        yield from _link_features(values.get("href", ""))
    if tag == "img":
        yield from _image_features(values.get("src", ""))


def _link_features(href: str) -> Iterator[str]:
    if href.startswith("#") and len(href) > 1:
        yield "html-anchor-links"
    if href.lower().startswith("mailto:"):
        yield "html-mailto-links"


def _image_features(src: str) -> Iterator[str]:
    if src.startswith("data:"):
        yield "image-base64"
        return
    extension = src.split("?")[0].rsplit(".", 1)[-1].lower()
    if extension in IMAGE_TYPES:
        yield f"image-{'jpg' if extension == 'jpeg' else extension}"


def _declaration_features(text: str) -> Iterator[str]:
    """Features of a declaration list, e.g. an inline style attribute."""
    import tinycss2

    for item in tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True):
        if item.type != "declaration":
            continue
        value = tinycss2.serialize(item.value).strip()
        yield from _property_features(item.lower_name, value, item.important)


def _property_features(name: str, value: str, important: bool) -> Iterator[str]:
    lowered = value.lower()
    known = features()
    if name == "display" and lowered in ("flex", "inline-flex", "grid", "inline-grid", "none"):
        yield f"css-display-{lowered.removeprefix('inline-')}"
    if lowered in RESETS and name != "display":
        return  # a client that ignores it keeps its default, which is this
    slug = f"css-{name}"
    while slug not in known and slug.count("-") > 1:  # margin-top -> margin
        slug = slug.rsplit("-", 1)[0]
    if slug in known and slug != "css-display":
        yield slug
    elif name == "display":
        yield "css-display"
    if name.startswith("--"):
        yield "css-variables"
    if important:
        yield "css-important"
    for function, feature in FUNCTIONS.items():
        if function in lowered:
            yield feature
    for unit in UNITS.findall(lowered):
        yield f"css-unit-{unit}"


def _scan_stylesheet(css: str, usage: Usage, line: int) -> None:
    import tinycss2

    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    for rule in rules:
        if rule.type == "at-rule":
            where = f"<style> @{rule.lower_at_keyword} (line {line})"
            usage.add(f"css-at-{rule.lower_at_keyword}", where)
            if rule.lower_at_keyword == "media":
                query = tinycss2.serialize(rule.prelude).lower()
                for feature in ("prefers-color-scheme", "prefers-reduced-motion", "orientation",
                                "hover", "device-pixel-ratio"):  # fmt: skip
                    if feature in query:
                        usage.add(f"css-at-media-{feature}", where)
            continue  # the block inside: progressive enhancement, not reported
        if rule.type != "qualified-rule":
            continue
        selector = tinycss2.serialize(rule.prelude).strip()
        where = _rule_place(selector)
        for slug in _selector_features(selector):
            usage.add(slug, where)
        for slug in _declaration_features(tinycss2.serialize(rule.content)):
            usage.add(slug, where)


# A selector feature, and how to see it in one of a group's selectors.
_SELECTOR_PARTS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("css-selector-child", lambda part: ">" in part),
    ("css-selector-adjacent-sibling", lambda part: "+" in part),
    ("css-selector-general-sibling", lambda part: "~" in part),
    ("css-selector-attribute", lambda part: "[" in part),
    ("css-selector-id", lambda part: "#" in part),
    ("css-selector-universal", lambda part: part.startswith("*") or " *" in part),
    ("css-selector-descendant", lambda part: bool(re.search(r"\w\s+[\w.#\[]", part))),
    ("css-selector-chaining", lambda part: bool(re.search(r"\.[\w-]+\.[\w-]+", part))),
)


def _selector_features(selector: str) -> Iterator[str]:
    for pseudo in re.findall(r"(?<!:):([a-z-]+)", selector):
        yield f"css-pseudo-class-{pseudo}"
    for pseudo in re.findall(r"::([a-z-]+)", selector):
        yield f"css-pseudo-element-{pseudo}"
    if "," in selector:
        yield "css-selector-grouping"
    for part in (p.strip() for p in selector.split(",")):
        yield from (feature for feature, seen in _SELECTOR_PARTS if seen(part))
