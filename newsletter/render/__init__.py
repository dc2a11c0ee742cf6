"""Render an issue once: Jinja2 templates + premailer + the plain-text part.

Subscriber values stay placeholders (see personalise.py), so this runs once per
issue however many recipients there are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from newsletter.articles.issue import Issue
from newsletter.articles.model import Article
from newsletter.errors import TemplateError, Where
from newsletter.files import shown
from newsletter.render.fields import guard
from newsletter.render.html import blocks_html, image_html
from newsletter.render.links import absolute
from newsletter.render.placeholders import Field, FieldUseError, Part, Placeholders, Template
from newsletter.render.text import LinkList, blocks_text, underline, wrap
from newsletter.settings import NewsletterSettings
from newsletter.text import squash

PREHEADER_CHARS = 90
TIME_LIMIT = 5.0  # seconds a template may work
PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # the defaults


@dataclass(frozen=True)
class RenderedIssue:
    """An issue ready to personalise: every part a Template with placeholder tokens."""

    id: str
    subject: Template  # text tokens
    html: Template  # html tokens
    text: Template  # text tokens
    preheader: str
    language: str
    fields: dict[str, Field] = field(default_factory=dict)


def render_issue(
    issue: Issue,
    newsletter: NewsletterSettings,
    template_dirs: tuple[Path, ...] = (),
    today: date | None = None,
    prefix: str | None = None,
    time_limit: float = TIME_LIMIT,
) -> RenderedIssue:
    """Render the issue's subject, HTML and text parts, with CSS inlined.

    `prefix` fixes the placeholder tokens' random prefix (for reproducible output);
    `time_limit` is how long (in seconds) each template may work."""
    env = _environment(template_dirs)
    issue = replace(issue, articles=tuple(absolute(a, newsletter.site_url) for a in issue.articles))
    placeholders = Placeholders(prefix)
    links = LinkList()
    preheader = _preheader(issue.articles[0])
    context: dict[str, Any] = {
        "newsletter": newsletter,
        "issue": issue,
        "today": today or date.today(),
        "lang": newsletter.language,
        "dir": newsletter.direction,
        "preheader": preheader,
        "is_digest": issue.is_digest,
    }

    subject_text = _render(
        env,
        "subject.txt",
        {
            **context,
            "articles": issue.articles,
            "subscriber": placeholders.subscriber("text"),
        },
        time_limit,
    )
    subject = _parse(placeholders, squash(subject_text), "text", "subject.txt")
    if not subject.source("text"):
        raise TemplateError("renders an empty subject", file="subject.txt")

    html = _render(
        env,
        "email.html",
        {
            **context,
            "subject": Markup(subject.as_html()),
            "articles": [_html_view(a) for a in issue.articles],
            "subscriber": placeholders.subscriber("html"),
            "unsubscribe_url": placeholders.token("unsubscribe_url", "html"),
        },
        time_limit,
    )
    text = _render(
        env,
        "email.txt",
        {
            **context,
            "subject": subject.source("text"),
            "articles": [_text_view(a, links) for a in issue.articles],
            "links": links.lines(),
            "subscriber": placeholders.subscriber("text"),
            "unsubscribe_url": placeholders.token("unsubscribe_url", "text"),
        },
        time_limit,
    )
    return RenderedIssue(
        id=issue.id,
        subject=subject,
        html=_parse(placeholders, _inlined(html, placeholders.prefix), "html", "email.html"),
        text=_parse(placeholders, _tidy_text(text), "text", "email.txt"),
        preheader=preheader,
        language=newsletter.language,
        fields=dict(placeholders.fields),
    )


@functools.lru_cache(maxsize=8)
def _environment(template_dirs: tuple[Path, ...]) -> Any:
    """One sandboxed Jinja environment per template search path, kept for the process:
    its templates are compiled once (and recompiled when their file changes)."""
    from newsletter.render.sandbox import environment

    env = environment([*map(str, template_dirs), str(PACKAGE_TEMPLATES)])
    env.filters["wrap"] = wrap
    env.filters["underline"] = underline
    return guard(env)


def _render(env: Any, name: str, context: dict[str, Any], time_limit: float) -> str:
    import jinja2

    from newsletter.render.sandbox import within

    try:
        return within(time_limit, lambda: env.get_template(name).render(context))
    except jinja2.TemplateSyntaxError as exc:
        file = shown(exc.filename) if exc.filename else exc.name
        raise TemplateError(exc.message or "syntax error", file=file, line=exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        where = _template_frame(exc, name)
        if where.line is None:  # the template itself
            if exc.message and exc.message != exc.name:
                raise TemplateError(exc.message, file=shown(_candidate(env, name))) from None
            raise TemplateError(f"template {exc.name!r} not found") from None
        why = exc.message if exc.message != exc.name else "not a template in the template folders"
        raise TemplateError(f"includes {exc.name!r}: {why}", where=where) from None
    except Exception as exc:  # a template is code: any error in it is the template's
        message = str(exc)
        if not isinstance(exc, jinja2.TemplateError | FieldUseError):
            message = f"{type(exc).__name__}: {exc}"
        raise TemplateError(message, where=_template_frame(exc, name)) from None


def _candidate(env: Any, name: str) -> str:
    """Where the template `name` would be read from (the first folder that has it)."""
    for folder in env.loader.searchpath:
        path = Path(folder, name)
        if path.exists():
            return str(path)
    return name


def _template_frame(exc: BaseException, name: str) -> Where:
    """The file and line of the innermost template frame of a render error."""
    where, tb = Where(file=name), exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            where = Where(file=shown(filename), line=tb.tb_lineno)
        tb = tb.tb_next
    return where


def _inlined(html: str, prefix: str) -> str:
    from newsletter.render.inline import inline_css

    inlined = inline_css(html)
    if inlined.count(prefix) != html.count(prefix):
        raise TemplateError(
            "a subscriber field inside CSS (a style attribute or <style>) was lost when the "
            "CSS was inlined; use fields in text and in other attributes only",
            file="email.html",
        )
    return inlined


def _parse(placeholders: Placeholders, text: str, part: Part, name: str) -> Template:
    try:
        return placeholders.template(text, part)
    except FieldUseError as exc:
        raise TemplateError(str(exc), file=name) from None


def _preheader(article: Article) -> str:
    text = article.summary or article.subtitle
    if not text:
        text = next((b.plain_text for b in article.body if b.kind == "paragraph"), "")
    text = squash(text)
    if len(text) <= PREHEADER_CHARS:
        return text
    return text[:PREHEADER_CHARS].rsplit(" ", 1)[0].rstrip(",;:-–— ") + "…"


@dataclass(frozen=True)
class _ArticleView:
    """An article as the templates see it, with its body rendered for one part."""

    article: Article
    body: Any  # Markup for HTML, str for text
    image_tag: Markup | None = None
    title_block: str = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.article, name)


def _html_view(article: Article) -> _ArticleView:
    image = None
    if article.image:
        image = image_html(article.image, article.image_alt or article.title, "hero")
    return _ArticleView(article, blocks_html(article.body), image)


def _text_view(article: Article, links: LinkList) -> _ArticleView:
    return _ArticleView(article, blocks_text(article.body, links), None, underline(article.title))


def _tidy_text(text: str) -> str:
    """Trailing spaces off (but the "-- " signature separator's), at most one blank
    line in a row, CRLF-free, ends in a newline."""
    lines = [
        line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
