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
    """CommonMark with what editors write beyond it: GFM tables, ~~strikethrough~~,
    bare URLs as links (linkify-it), footnotes and task lists (mdit-py-plugins)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    parser = MarkdownIt("commonmark", {"html": False, "linkify": True})
    parser.enable(["strikethrough", "table", "linkify"])
    return parser.use(footnote_plugin).use(tasklists_plugin)


def _blocks(markdown: str) -> list[Block]:
    """The body's blocks; its headings moved so the highest one used is h2 (the title
    is the email's h1): an article of `##` and `###` sections gets h2 and h3, and
    no level is skipped after the title."""
    from markdown_it.tree import SyntaxTreeNode

    tokens = _parser().parse(markdown)
    used = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    shift = 1 - min(used) if used else 0
    return _children(SyntaxTreeNode(tokens), shift)


def _children(node: Any, shift: int = 1) -> list[Block]:
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
            level = min(max(int(child.tag[1]) + shift, 1) + 1, 6)
            blocks.append(Block("heading", spans, level=level))
            blocks.extend(images)
        elif kind == "blockquote":
            blocks.append(Block("quote", children=tuple(_children(child, shift))))
        elif kind in ("bullet_list", "ordered_list"):
            items = tuple(_list_item(item) for item in child.children)
            start = int(child.attrs.get("start", 1)) if kind == "ordered_list" else 1
            blocks.append(Block("list", items=items, ordered=kind == "ordered_list", start=start))
        elif kind == "table":
            blocks.append(_table(child))
        elif kind == "footnote_block":
            notes = tuple(ListItem(tuple(_children(note))) for note in child.children)
            blocks.append(Block("notes", items=notes))
        elif kind in ("fence", "code_block"):
            blocks.append(Block("code", code=child.content.rstrip("\n")))
        elif kind == "hr":
            blocks.append(Block("rule"))
    return blocks


def _list_item(node: Any) -> ListItem:
    """An item; a task list's (`- [x] done`) says whether it is checked (the plugin
    puts a checkbox before its text, which is taken out here)."""
    checked = None
    if "task-list-item" in str(node.attrs.get("class", "")):
        inline = node.children[0].children[0].token if node.children else None
        box = inline.children[0] if inline is not None and inline.children else None
        if inline is not None and box is not None and box.type == "html_inline":
            checked = 'checked="checked"' in box.content
            inline.children = inline.children[1:]
            if inline.children and inline.children[0].type == "text":
                inline.children[0].content = inline.children[0].content.lstrip()
    return ListItem(tuple(_children(node)), checked=checked)


def _table(node: Any) -> Block:
    """A GFM table: its header row, its body rows, each column's alignment."""

    def cells(row: Any) -> tuple[tuple[Span, ...], ...]:
        return tuple(_inline(cell.children[0].token.children or [])[0] if cell.children
                     else () for cell in row.children)  # fmt: skip

    head = next((part for part in node.children if part.type == "thead"), None)
    body = next((part for part in node.children if part.type == "tbody"), None)
    header_row = head.children[0] if head is not None and head.children else None
    aligns: list[Any] = []
    for cell in header_row.children if header_row is not None else []:
        style = str(cell.attrs.get("style", ""))
        aligns.append(style.removeprefix("text-align:") if style.startswith("text-align:") else "")
    return Block(
        "table",
        header=cells(header_row) if header_row is not None else (),
        rows=tuple(cells(row) for row in body.children) if body is not None else (),
        aligns=tuple(aligns),
    )


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
        elif kind == "footnote_ref":
            spans.append(Span("", note=int(child.meta.get("id", 0)) + 1))
        elif kind in _STYLES:
            style[_STYLES[kind]] = kind.endswith("_open")
        elif kind == "link_open":
            href = _href(child)
        elif kind == "link_close":
            href = None
        elif kind == "image":
            alt = "".join(c.content for c in child.children or [] if c.type == "text")
            src = str(child.attrGet("src") or "")
            images.append(Block("image", src=src, alt=alt, href=href))
    return _merge(spans), images


_STYLES = {f"{tag}_{edge}": name for tag, name in (("strong", "strong"), ("em", "em"),
           ("s", "strike")) for edge in ("open", "close")}  # fmt: skip
_SPACES = re.compile(r" {2,}")


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    """Join neighbouring spans with the same style, trim the ends."""
    merged: list[Span] = []
    for span in spans:
        if merged and not _apart(span) and not _apart(merged[-1]) and _same_style(merged[-1], span):
            last = merged.pop()
            span = Span(
                last.text + span.text, last.href, last.strong, last.em, last.code, last.strike
            )
        merged.append(span)
    # An image taken out of a line leaves the spaces on both sides of it: keep one.
    merged = [s if s.code or s.br or s.note else replace(s, text=_SPACES.sub(" ", s.text))
              for s in merged]  # fmt: skip
    while merged and not (merged[-1].br or merged[-1].note) and not merged[-1].text.strip():
        merged.pop()
    if merged and not (merged[-1].br or merged[-1].note):
        last = merged[-1]
        merged[-1] = Span(
            last.text.rstrip(), last.href, last.strong, last.em, last.code, last.strike
        )
    return tuple(merged)


def _href(token: Any) -> str | None:
    """A link's target. A bare `www.` address found in the text (linkify) is taken
    as https, not linkify's http: every site an editor names has it."""
    href = str(token.attrGet("href") or "") or None
    if href and token.markup == "linkify" and href.startswith("http://www."):
        return "https://" + href.removeprefix("http://")
    return href


def _apart(span: Span) -> bool:
    """A line break or a footnote's mark: a span of its own, never joined."""
    return span.br or bool(span.note)


def _same_style(a: Span, b: Span) -> bool:
    return (a.href, a.strong, a.em, a.code, a.strike) == (b.href, b.strong, b.em, b.code, b.strike)


__all__ = ["parse_markdown", "text_direction"]
