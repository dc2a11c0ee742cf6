"""Markdown articles (`*.md`): YAML front matter and a CommonMark body.

Raw HTML in the body is not passed through: markdown-it runs with `html=False`, so
`<script>` arrives as text and is escaped when the email is rendered. Links with
unsafe schemes (`javascript:`, `vbscript:`, `file:`, most `data:`) are refused by
markdown-it's link validation and stay plain text.

Typography (typography.py): the body, the title, the subtitle and the summary get the
quotes of the article's language (its own `language`, else the newsletter's), never
inside code or a URL. A quote with a backslash before it stays straight.

Attributes in braces (mdit-py-plugins' attrs) carry only what the model maps: a link
alone in its paragraph with `{.button}` is a call to action (a "button" block), an
image's `{width=600 height=400}` its size; any other attribute is dropped, never
passed on to the HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsletter.articles.model import Article, Block, ListItem, Span
from newsletter.articles.typography import typeset, typography_plugin
from newsletter.errors import ArticleError
from newsletter.settings import canonical_language, known_language
from newsletter.text import LANGUAGE_TAG, squash, text_direction

STRING_FIELDS = (
    "subtitle",
    "author",
    "image",
    "image_alt",
    "image_credit",
    "image_credit_label",
    "url",
    "summary",
    "language",
)
KNOWN_FIELDS = frozenset({"title", "date", "tags", *STRING_FIELDS})


def parse_markdown(path: Path, text: str, language: str = "en") -> Article:
    """The article; `language` is the newsletter's, for an article that names none."""
    meta, body = _split_front_matter(text)
    title = _string(meta, "title")
    if not title:  # an article that starts with its `# Title`, as many editors write one
        heading = _TITLE_HEADING.match(body)
        if heading:
            title, body = squash(heading["title"]), body[heading.end() :]
    if not title:
        raise ArticleError(
            "no title: start the article with a `# Title` line, or add `title: ...` to a "
            "YAML front matter between --- lines"
        )
    strings = {name: _string(meta, name) for name in STRING_FIELDS}
    for name in ("url", "image"):
        _check_link(name, strings[name])
    if strings["language"] and not LANGUAGE_TAG.fullmatch(strings["language"]):
        raise ArticleError(
            f"front matter `language` must be a tag like en or pt-BR, got {strings['language']!r}"
        )
    if strings["language"] and not known_language(strings["language"]):
        raise ArticleError(
            f"front matter `language`: {strings['language']!r} is not a language CLDR knows "
            "(its dates could not be written)"
        )
    strings["language"] = canonical_language(strings["language"]) if strings["language"] else ""
    language = strings["language"] or language
    for name in ("subtitle", "summary"):
        strings[name] = typeset(strings[name], language)
    title = typeset(title, language)
    blocks = tuple(_blocks(body, language))
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
        image_credit_label=strings["image_credit_label"],
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
        raise _yaml_error(exc) from None
    except yaml.YAMLError as exc:
        raise ArticleError(f"broken YAML front matter: {exc}") from None
    except ValueError as exc:  # front matter that is not a mapping
        raise ArticleError(f"broken YAML front matter: {exc}") from None
    except RecursionError:  # YAML's parser recurses once per level of nesting
        raise ArticleError("broken YAML front matter: nested too deeply", line=2) from None
    if not isinstance(post.metadata, dict):
        raise ArticleError("broken YAML front matter: expected `key: value` lines")
    return dict(post.metadata), post.content


_OPENED = re.compile(r"flow (sequence|mapping)|quoted scalar")
_UNCLOSED = {"flow sequence": "a [ that is never closed", "flow mapping": "a { that is never "
             "closed", "quoted scalar": "a quote that is never closed"}  # fmt: skip
# the first line of the body, when it is a level-1 ATX heading (`# Title`, `# Title #`)
_TITLE_HEADING = re.compile(r"\A\s*^ {0,3}#[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*(?:\n|\Z)", re.M)


def _yaml_error(exc: Any) -> ArticleError:
    """A YAML error at the line to fix: for a bracket or a quote never closed, the line
    that opened it (YAML finds it missing only where a later line starts)."""
    opened = _OPENED.search(exc.context or "")
    if exc.context_mark is not None and opened:
        what = f"{_UNCLOSED[opened.group(0)]} ({exc.problem})"
        return ArticleError(f"broken YAML front matter: {what}", line=exc.context_mark.line + 1)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None  # the text YAML reads starts at line 1
    return ArticleError(f"broken YAML front matter: {exc.problem or exc}", line=line)


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


def _parser(language: str = "en") -> Any:
    """CommonMark with what editors write beyond it: GFM tables, ~~strikethrough~~,
    bare URLs as links (linkify-it), footnotes, task lists and attributes in braces
    (mdit-py-plugins: only those the model maps are kept), and the typographer in
    `language`'s quotes."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.attrs import attrs_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    parser = MarkdownIt("commonmark", {"html": False, "linkify": True})
    parser.enable(["strikethrough", "table", "linkify"])
    parser.use(footnote_plugin).use(tasklists_plugin).use(attrs_plugin, allowed=_ATTRS)
    return parser.use(typography_plugin, language=language)


_ATTRS = ("class", "width", "height")  # a button's class, an image's size


def _blocks(markdown: str, language: str = "en") -> list[Block]:
    """The body's blocks; its headings moved so the highest one used is h2 (the title
    is the email's h1): an article of `##` and `###` sections gets h2 and h3, and
    no level is skipped after the title."""
    from markdown_it.tree import SyntaxTreeNode

    tokens = _parser(language).parse(markdown)
    used = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    shift = 1 - min(used) if used else 0
    return _children(SyntaxTreeNode(tokens), shift)


def _children(node: Any, shift: int = 1) -> list[Block]:
    """The blocks of a node of markdown-it's syntax tree, in document order."""
    blocks: list[Block] = []
    for child in node.children:
        kind = child.type
        if kind == "paragraph":
            blocks.extend(_paragraph(child.children[0].token.children or []))
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


def _paragraph(children: list[Any]) -> list[Block]:
    """A paragraph (its images after it), or the button it is."""
    button = _button(children)
    if button is not None:
        return [button]
    spans, images = _inline(children)
    return [Block("paragraph", spans), *images] if spans else images


def _button(children: list[Any]) -> Block | None:
    """A paragraph that is one link and nothing else, marked `{.button}`: a call to
    action. The class on a link inside other text is ignored (a button is a block)."""
    if len(children) < 3 or children[0].type != "link_open" or children[-1].type != "link_close":
        return None
    if "button" not in str(children[0].attrGet("class") or "").split():
        return None
    label = children[1:-1]
    if any(token.type in ("link_open", "image") for token in label):
        return None  # two links, or a linked image
    spans, _ = _inline(label)
    href = _href(children[0])
    if not href or not "".join(span.text for span in spans).strip():
        return None
    return Block("button", spans, href=href)


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
    for child in _without_guesses(children):
        kind = child.type
        if kind == "text" and child.content:  # markdown-it leaves empty ones before `**`
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
            images.append(_image(child, href))
    return _merge(spans), images


def _image(token: Any, href: str | None) -> Block:
    alt = "".join(c.content for c in token.children or [] if c.type == "text")
    src = str(token.attrGet("src") or "")
    width, height = (_size(token.attrGet(name)) for name in ("width", "height"))
    return Block("image", src=src, alt=alt, href=href, width=width, height=height)


MAX_SIZE = 2000  # pixels: wider than any email client shows an image


def _size(value: Any) -> int:
    """`{width=300}`: whole pixels, 1 to MAX_SIZE; anything else (300px, 50%, -1, 0,
    huge) is ignored (0: unknown), so the email never asks for what cannot hold."""
    text = str(value or "")
    if not re.fullmatch(r"[0-9]{1,5}", text):
        return 0
    return int(text) if 0 < int(text) <= MAX_SIZE else 0


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
    as https, not linkify's http: every site an editor names has it. Other bare
    names linkify would guess a site from stay text: `README.md`, `setup.py` and
    `main.rs` are files (.md, .py and .rs are countries' domains too), and only
    an address written with its scheme or its www. is one an editor meant."""
    href = str(token.attrGet("href") or "") or None
    if href and token.markup == "linkify" and href.startswith("http://www."):
        return "https://" + href.removeprefix("http://")
    return href


_WRITTEN = re.compile(r"(?i)(https?://|www\.|mailto:)|[^\s@]+@[^\s@]+$")


def _without_guesses(children: list[Any]) -> list[Any]:
    """The inline tokens with the links linkify only guessed taken out (their text
    stays): a bare name such as `README.md` or `setup.py` is a file, not a site in
    Moldova or Paraguay; an address written with its scheme, its www. or an @ is one."""
    kept: list[Any] = []
    dropping = False
    for n, child in enumerate(children):
        if child.type == "link_open" and child.markup == "linkify":
            following = children[n + 1] if n + 1 < len(children) else None
            text = following.content if following is not None else ""
            dropping = not _WRITTEN.match(text)
            if dropping:
                continue
        elif child.type == "link_close" and dropping:
            dropping = False
            continue
        kept.append(child)
    return kept


def _apart(span: Span) -> bool:
    """A line break or a footnote's mark: a span of its own, never joined."""
    return span.br or bool(span.note)


def _same_style(a: Span, b: Span) -> bool:
    return (a.href, a.strong, a.em, a.code, a.strike) == (b.href, b.strong, b.em, b.code, b.strike)


__all__ = ["parse_markdown", "text_direction"]
