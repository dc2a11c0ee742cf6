"""Markdown articles (`*.md`): YAML front matter and a CommonMark body.

Raw HTML in the body is not passed through: markdown-it runs with `html=False`, so
`<script>` arrives as text and is escaped when the email is rendered. Links with
unsafe schemes (`javascript:`, `vbscript:`, `file:`, most `data:`) are refused by
markdown-it's link validation and stay plain text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsletter.articles.model import Article, Block, ListItem, Span
from newsletter.errors import ArticleError
from newsletter.text import LANGUAGE_TAG, squash, text_direction

STRING_FIELDS = (
    "subtitle",
    "author",
    "image",
    "image_alt",
    "image_credit",
    "url",
    "summary",
    "language",
)
KNOWN_FIELDS = frozenset({"title", "date", "tags", *STRING_FIELDS})


def parse_markdown(path: Path, text: str) -> Article:
    meta, body = _split_front_matter(text)
    title = _string(meta, "title")
    if not title:
        raise ArticleError("no title: add `title: ...` to the YAML front matter between --- lines")
    strings = {name: _string(meta, name) for name in STRING_FIELDS}
    for name in ("url", "image"):
        _check_link(name, strings[name])
    if strings["language"] and not LANGUAGE_TAG.fullmatch(strings["language"]):
        raise ArticleError(
            f"front matter `language` must be a tag like en or pt-BR, got {strings['language']!r}"
        )
    blocks = tuple(_blocks(body))
    all_text = title + " ".join(block.plain_text for block in blocks)
    article = Article(
        path=path,
        title=title,
        body=blocks,
        date=_date(meta.get("date")),
        tags=_tags(meta.get("tags")),
        direction=text_direction(all_text),
        extra={k: v for k, v in meta.items() if k not in KNOWN_FIELDS},
        subtitle=strings["subtitle"],
        author=strings["author"],
        image=strings["image"],
        image_alt=strings["image_alt"],
        image_credit=strings["image_credit"],
        url=strings["url"],
        summary=strings["summary"],
        language=strings["language"],
    )
    return article


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    import frontmatter
    import yaml

    if not text.startswith("---"):
        return {}, text
    if not re.search(r"^(---|\.\.\.)[ \t]*$", text.split("\n", 1)[-1], re.MULTILINE):
        raise ArticleError("front matter starts with --- but has no closing --- line")
    try:
        post = frontmatter.loads(text, handler=_front_matter_handler())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None  # the text YAML reads starts at line 1
        raise ArticleError(f"broken YAML front matter: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise ArticleError(f"broken YAML front matter: {exc}") from None
    except ValueError as exc:  # front matter that is not a mapping
        raise ArticleError(f"broken YAML front matter: {exc}") from None
    except RecursionError:  # YAML's parser recurses once per level of nesting
        raise ArticleError("broken YAML front matter: nested too deeply", line=2) from None
    if not isinstance(post.metadata, dict):
        raise ArticleError("broken YAML front matter: expected `key: value` lines")
    return dict(post.metadata), post.content


def _front_matter_handler() -> Any:
    """python-frontmatter's YAML handler with YAML's safe loader, except that dates stay
    text, so `_date` can say what is wrong with one (`date: 2026-13-45` would otherwise
    fail inside YAML, with neither the field nor the line named)."""
    import frontmatter
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # PyYAML keeps its resolvers in a class attribute (its stubs say an instance one).
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    class Handler(frontmatter.YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            return yaml.load(fm, Loader=Loader)  # a SafeLoader

    return Handler()


def _string(meta: dict[str, Any], name: str) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return squash(str(value))
    raise ArticleError(f"front matter `{name}` must be text, got {type(value).__name__}")


def _check_link(name: str, value: str) -> None:
    """http(s) URLs, or paths on the site (made absolute with `site_url` when rendered)."""
    scheme = urlsplit(value).scheme.lower()
    if value and scheme not in ("", "http", "https"):
        raise ArticleError(
            f"front matter `{name}` must be an http(s) URL or a path on the site, got {value!r}"
        )


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ArticleError(f"front matter `date` must be YYYY-MM-DD, got {value!r}") from None


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise ArticleError("front matter `tags` must be a list or comma-separated text")
    return tuple(str(tag).strip() for tag in value if str(tag).strip())


# --- the body: markdown-it tokens -> Blocks ---


def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")


def _blocks(markdown: str) -> list[Block]:
    from markdown_it.tree import SyntaxTreeNode

    return _children(SyntaxTreeNode(_parser().parse(markdown)))


def _children(node: Any) -> list[Block]:
    """The blocks of a node of markdown-it's syntax tree, in document order."""
    blocks: list[Block] = []
    for child in node.children:
        kind = child.type
        if kind == "paragraph":
            spans, images = _inline(child.children[0].token.children or [])
            if spans:
                blocks.append(Block("paragraph", spans))
            blocks.extend(images)
        elif kind == "heading":
            spans, images = _inline(child.children[0].token.children or [])
            blocks.append(Block("heading", spans, level=min(int(child.tag[1]) + 1, 6)))
            blocks.extend(images)
        elif kind == "blockquote":
            blocks.append(Block("quote", children=tuple(_children(child))))
        elif kind in ("bullet_list", "ordered_list"):
            items = tuple(ListItem(tuple(_children(item))) for item in child.children)
            start = int(child.attrs.get("start", 1)) if kind == "ordered_list" else 1
            blocks.append(Block("list", items=items, ordered=kind == "ordered_list", start=start))
        elif kind in ("fence", "code_block"):
            blocks.append(Block("code", code=child.content.rstrip("\n")))
        elif kind == "hr":
            blocks.append(Block("rule"))
    return blocks


def _inline(children: list[Any]) -> tuple[tuple[Span, ...], list[Block]]:
    """Inline tokens -> spans; images become blocks of their own after the text."""
    spans: list[Span] = []
    images: list[Block] = []
    style = {"strong": False, "em": False, "strike": False}
    href: str | None = None
    for child in children:
        kind = child.type
        if kind == "text":
            spans.append(Span(child.content, href=href, **style))
        elif kind == "code_inline":
            spans.append(Span(child.content, href=href, code=True, **style))
        elif kind == "softbreak":
            spans.append(Span(" ", href=href, **style))
        elif kind == "hardbreak":
            spans.append(Span("", br=True))
        elif kind in ("strong_open", "strong_close"):
            style["strong"] = kind == "strong_open"
        elif kind in ("em_open", "em_close"):
            style["em"] = kind == "em_open"
        elif kind in ("s_open", "s_close"):
            style["strike"] = kind == "s_open"
        elif kind == "link_open":
            href = str(child.attrGet("href") or "") or None
        elif kind == "link_close":
            href = None
        elif kind == "image":
            alt = "".join(c.content for c in child.children or [] if c.type == "text")
            src = str(child.attrGet("src") or "")
            images.append(Block("image", src=src, alt=alt, href=href))
    return _merge(spans), images


_SPACES = re.compile(r" {2,}")


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    """Join neighbouring spans with the same style, trim the ends."""
    merged: list[Span] = []
    for span in spans:
        if merged and not span.br and not merged[-1].br and _same_style(merged[-1], span):
            last = merged.pop()
            span = Span(
                last.text + span.text, last.href, last.strong, last.em, last.code, last.strike
            )
        merged.append(span)
    # An image taken out of a line leaves the spaces on both sides of it: keep one.
    merged = [s if s.code or s.br else replace(s, text=_SPACES.sub(" ", s.text)) for s in merged]
    while merged and not merged[-1].br and not merged[-1].text.strip():
        merged.pop()
    if merged and not merged[-1].br:
        last = merged[-1]
        merged[-1] = Span(
            last.text.rstrip(), last.href, last.strong, last.em, last.code, last.strike
        )
    return tuple(merged)


def _same_style(a: Span, b: Span) -> bool:
    return (a.href, a.strong, a.em, a.code, a.strike) == (b.href, b.strong, b.em, b.code, b.strike)


__all__ = ["parse_markdown", "text_direction"]
