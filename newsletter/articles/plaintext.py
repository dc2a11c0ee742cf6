"""The plain-text news format (`*.txt`).

First line the headline; a `Photo: CREDIT` line is the image credit; every other
non-empty line is a paragraph; short lines without sentence punctuation after the
last paragraph are site navigation ("More from Pop Culture") and are dropped.

Extractions without a headline line (the first line is already a sentence of the
story) are read too: every line stays a paragraph and the title is taken from the
first sentence, with a note saying so.

The headline and the paragraphs get the newsletter's quotes, as Markdown does
(typography.py): straight quotes turn curly, curly ones and URLs stay as they are.
Text written the other way (Arabic in an English newsletter) keeps its quotes: a file
cannot say its language, and English marks are not Arabic ones.
"""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.articles.model import Article, Block, Span
from newsletter.articles.typography import typeset
from newsletter.errors import ArticleError
from newsletter.text import language_direction, squash, text_direction

CREDIT = re.compile(
    r"^(?:photo(?:graph)?|image|picture)(?:\s+credit)?\s*:\s*(?P<credit>\S.*)$", re.IGNORECASE
)
CLOSERS = "\"'”’»)]"
SENTENCE_END = re.compile(rf"[.!?…:;][{re.escape(CLOSERS)}]*$")
STATEMENT_END = re.compile(rf"[.…][{re.escape(CLOSERS)}]*$")
NAV_MAX_CHARS = 60
NAV_MAX_WORDS = 8
HEADLINE_MAX_CHARS = 200
DERIVED_TITLE_CHARS = 90


def parse_plaintext(path: Path, text: str, language: str = "en") -> Article:
    """The article; `language` is the newsletter's (a .txt file cannot name one)."""
    lines = [squash(line) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ArticleError("is empty")

    title, notes = "", []
    if _is_headline(lines[0]):
        title = lines.pop(0)

    credits: list[str] = []
    paragraphs: list[str] = []
    for line in lines:
        match = CREDIT.match(line)
        if match:
            credits.append(match["credit"])
        else:
            paragraphs.append(line)
    credit = "; ".join(dict.fromkeys(credits))

    while len(paragraphs) > 1 and _is_navigation(paragraphs[-1]):
        paragraphs.pop()

    if not paragraphs:
        raise ArticleError("has no paragraphs after the headline")
    direction = text_direction(title + " ".join(paragraphs))
    if direction == language_direction(language):  # else not in the newsletter's language
        paragraphs = [typeset(paragraph, language) for paragraph in paragraphs]
        title = typeset(title, language)
    if not title:
        title = _title_from(paragraphs[0])
        notes.append(
            "no headline line; the subject is taken from the first sentence (add a headline "
            "as the first line to choose it)"
        )

    body = tuple(Block("paragraph", (Span(p),)) for p in paragraphs)
    return Article(
        path=path,
        title=title,
        body=body,
        image_credit=credit,
        credit_in_text=bool(credit),
        direction=direction,
        notes=tuple(notes),
        title_from_body=bool(notes),
    )


def _is_headline(line: str) -> bool:
    """A headline is short and does not end like a statement (a question may)."""
    return len(line) <= HEADLINE_MAX_CHARS and not STATEMENT_END.search(line)


def _is_navigation(line: str) -> bool:
    return (
        len(line) <= NAV_MAX_CHARS
        and len(line.split()) <= NAV_MAX_WORDS
        and not SENTENCE_END.search(line)
    )


def _title_from(paragraph: str) -> str:
    match = re.match(rf".+?[.!?…][{re.escape(CLOSERS)}]*(?=\s|$)", paragraph)
    sentence = match.group(0) if match else paragraph
    if len(sentence) <= DERIVED_TITLE_CHARS:
        return sentence
    cut = sentence[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-–— ") + "…"
