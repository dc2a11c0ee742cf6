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
from newsletter.articles.model import Article, Block
from newsletter.errors import TemplateError, Where
from newsletter.files import shown
from newsletter.render.fields import guard
from newsletter.render.html import blocks_html, image_html
from newsletter.render.issue_view import (
    IssueFields,
    archived,
    issue_fields,
    preheader_of,
    summary_only,
)
from newsletter.render.links import absolute, tag_links
from newsletter.render.placeholders import Field, FieldUseError, Part, Placeholders, Template
from newsletter.render.text import LinkList, blocks_text, underline, wrap
from newsletter.render.theme import ThemeView
from newsletter.render.utm import Utm, hrefs
from newsletter.render.words import Words, words
from newsletter.settings import NewsletterSettings, ThemeSettings
from newsletter.text import squash

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
    archived: bool = True  # goes into the web archive once sent (front matter `archive`)

    def shown_subject(self) -> str:
        """The subject as an editor reads it: a subscriber's field as <name>."""
        return self.subject.fill({k: f"<{k}>" for k in self.subject.keys})


def render_issue(
    issue: Issue,
    newsletter: NewsletterSettings,
    template_dirs: tuple[Path, ...] = (),
    today: date | None = None,
    prefix: str | None = None,
    time_limit: float = TIME_LIMIT,
    theme: ThemeSettings | None = None,
    overrides: IssueFields | None = None,
    utm: Utm | None = None,
    archive_url: str = "",
) -> RenderedIssue:
    """Render the issue's subject, HTML and text parts, with CSS inlined.

    `prefix` fixes the placeholder tokens' random prefix (for reproducible output);
    `time_limit` is how long (in seconds) each template may work; `overrides` are the
    command line's --subject and --number, over the issue's own (its first article's
    front matter). `archive_url`: the issue's page in the web archive, its "View in
    browser" link when `[newsletter] web_url` is not set (and it is archived); `utm`:
    the tags of the links of the site ([tracking] utm)."""
    env = _environment(template_dirs)
    issue = replace(issue, articles=tuple(absolute(a, newsletter.site_url) for a in issue.articles))
    tag = (utm or Utm()).tagger(issue.id)
    if tag:
        issue = replace(issue, articles=tuple(tag_links(a, tag) for a in issue.articles))
    language = issue.articles[0].language or newsletter.language
    fields_ = issue_fields(issue).over(overrides).typeset(language)
    placeholders = Placeholders(prefix)
    links = LinkList()
    preheader = fields_.preheader or preheader_of(issue)
    day = today or date.today()
    in_archive = archived(issue)
    issue_url = newsletter.issue_url(issue.id) or (archive_url if in_archive else "")
    said = words(newsletter.language, template_dirs, PACKAGE_TEMPLATES)
    context: dict[str, Any] = {
        "newsletter": newsletter,
        "issue": issue,
        "today": day,
        "lang": newsletter.language,
        "dir": newsletter.direction,
        "preheader": preheader,
        "is_digest": issue.is_digest,
        "theme": ThemeView.of(theme or ThemeSettings()),
        "words": said,
        "issue_subject": fields_.subject,
        "issue_number": fields_.number,
        "issue_date": said.date(day),
        "issue_url": issue_url,
        "year": day.year,
    }

    subject_text = _render(
        env,
        "subject.txt",
        {
            **context,
            "articles": issue.articles,
            "subscriber": placeholders.subscriber("text"),
            "t": said.text,
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
            "articles": _views(issue, said, template_dirs, "html", links),
            "subscriber": placeholders.subscriber("html"),
            "unsubscribe_url": placeholders.token("unsubscribe_url", "html"),
            "preferences_url": placeholders.token("preferences_url", "html"),
            "t": said.html,
        },
        time_limit,
    )
    text = _render(
        env,
        "email.txt",
        {
            **context,
            "subject": subject.source("text"),
            "articles": _views(issue, said, template_dirs, "text", links),
            "links": links.lines(),
            "subscriber": placeholders.subscriber("text"),
            "unsubscribe_url": placeholders.token("unsubscribe_url", "text"),
            "preferences_url": placeholders.token("preferences_url", "text"),
            "t": said.text,
        },
        time_limit,
    )
    html = _inlined(html, placeholders.prefix)
    text = tag.text_lines(_tidy_text(text), hrefs(html)) if tag else _tidy_text(text)
    return RenderedIssue(
        id=issue.id,
        subject=subject,
        html=_parse(placeholders, tag.html(html), "html", "email.html"),
        text=_parse(placeholders, text, "text", "email.txt"),
        preheader=preheader,
        language=newsletter.language,
        fields=dict(placeholders.fields),
        archived=in_archive,
    )


def render_page(
    name: str,
    context: dict[str, Any],
    template_dirs: tuple[Path, ...] = (),
    time_limit: float = TIME_LIMIT,
) -> str:
    """A page template other than the email's (the web archive's index), in the same
    sandboxed environment, a project's own template first, its errors as ours."""
    return _render(_environment(template_dirs), name, context, time_limit)


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
    except TemplateError:  # one that names its own file (a words file's word)
        raise
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


def _views(
    issue: Issue, said: Words, template_dirs: tuple[Path, ...], part: Part, links: LinkList
) -> list[_ArticleView]:
    """The issue's articles as one part's template sees them."""
    views = []
    for article in issue.articles:
        own = _article_words(article, said, template_dirs)
        if issue.is_digest:  # each headline is an h2: the article's sections go under it
            article = replace(article, body=_deeper(article.body))
        if part == "html":
            views.append(_html_view(article, own))
        else:
            views.append(_text_view(article, own, links))
    return views


def _deeper(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """The blocks with every heading a level lower (h2 -> h3, at most h6)."""
    return tuple(
        replace(b, level=min(b.level + 1, 6)) if b.kind == "heading"
        else replace(b, children=_deeper(b.children)) if b.children else b
        for b in blocks
    )  # fmt: skip


def _article_words(article: Article, said: Words, template_dirs: tuple[Path, ...]) -> Words:
    """An article in a language of its own gets its byline and buttons in it."""
    if not article.language or article.language == said.language:
        return said
    return words(article.language, template_dirs, PACKAGE_TEMPLATES)


@dataclass(frozen=True)
class _ArticleView:
    """An article as the templates see it, with its body rendered for one part.

    `words` are in the article's language; `summary_only` says the email shows its
    summary and a button to the rest."""

    article: Article
    body: Any  # Markup for HTML, str for text
    words: Words
    summary_only: bool = False
    image_tag: Markup | None = None
    title_block: str = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.article, name)

    @property
    def date_text(self) -> str:
        return self.words.date(self.article.date) if self.article.date else ""

    @property
    def credit_label(self) -> str:
        return self.article.image_credit_label or self.words.text("photo")


def _html_view(article: Article, said: Words) -> _ArticleView:
    image = None
    if article.image:
        image = image_html(article.image, article.image_alt or article.title, "hero")
    short = summary_only(article)
    body = _summary_html(article) if short else blocks_html(article.body)
    return _ArticleView(article, body, said, short, image)


def _text_view(article: Article, said: Words, links: LinkList) -> _ArticleView:
    short = summary_only(article)
    body = wrap(article.summary) if short else blocks_text(article.body, links)
    return _ArticleView(article, body, said, short, None, underline(article.title))


def _summary_html(article: Article) -> Markup:
    return Markup('<p class="p">{}</p>').format(article.summary)


def _tidy_text(text: str) -> str:
    """Trailing spaces off (but the "-- " signature separator's), at most one blank
    line in a row, CRLF-free, ends in a newline."""
    lines = [
        line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
