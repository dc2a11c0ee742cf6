"""RENDER a notice to one reader, not an issue: the double opt-in mail today. It is
made per reader (its link is theirs), from templates/confirm.html and confirm.txt (a
project's own first, then the package's), in the newsletter's language and look
(email.css, the theme), CSS inlined like an issue's; no unsubscribe link or
List-Unsubscribe (the reader is on no list yet)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from newsletter.render import (
    PACKAGE_TEMPLATES,
    TIME_LIMIT,
    RenderedIssue,
    _environment,
    _render,
)
from newsletter.render.html import button_html
from newsletter.render.inline import inline_css
from newsletter.render.placeholders import Template
from newsletter.render.theme import ThemeView
from newsletter.render.words import words
from newsletter.settings import NewsletterSettings, ThemeSettings
from newsletter.text import squash


def render_confirmation(
    newsletter: NewsletterSettings,
    theme: ThemeSettings,
    template_dirs: tuple[Path, ...],
    list_title: str,
    email: str,
    confirm_url: str,
    hours: int,
    notice_id: str,
    today: date | None = None,
) -> RenderedIssue:
    """The confirmation mail for `email`'s signup to the list called `list_title`,
    with its link (valid for `hours`)."""
    env = _environment(template_dirs)
    said = words(newsletter.language, template_dirs, PACKAGE_TEMPLATES)
    day = today or date.today()
    context: dict[str, Any] = {
        "newsletter": newsletter,
        "theme": ThemeView.of(theme),
        "lang": newsletter.language,
        "dir": newsletter.direction,
        "list_title": list_title,
        "email": email,
        "confirm_url": confirm_url,
        "hours": hours,
        "year": day.year,
        "words": said,
    }
    subject = squash(said.text("confirm_subject", list=list_title))
    html = _render(
        env,
        "confirm.html",
        {**context, "subject": subject, "t": said.html,
         "button": button_html(said.html("confirm_button"), confirm_url)},
        TIME_LIMIT,
    )  # fmt: skip
    text = _render(env, "confirm.txt", {**context, "t": said.text}, TIME_LIMIT)
    return RenderedIssue(
        id=notice_id,
        subject=_plain(subject),
        html=_plain(inline_css(html)),
        text=_plain(text.strip() + "\n"),
        preheader=said.text("confirm_preheader", list=list_title),
        language=newsletter.language,
    )


def _plain(text: str) -> Template:
    """A part with no subscriber fields in it (made for one reader already)."""
    return Template((text,), (), "")
