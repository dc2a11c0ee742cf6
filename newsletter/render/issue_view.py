"""What an issue says of itself beyond its articles: its subject, preheader and
number (the first article's front matter, or the command line), and how a digest
shows an article (whole, or its summary and a button to the rest)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from newsletter.articles.issue import Issue
from newsletter.articles.model import Article
from newsletter.errors import ArticleError
from newsletter.files import shown
from newsletter.text import squash

PREHEADER_CHARS = 90  # what inbox lists show, at most
SENTENCE_MIN = 40  # a sentence shorter than this makes too thin a preheader
SUBJECT_CHARS = 200
MAX_NUMBER = 1_000_000
DISPLAYS = ("full", "summary")
_TRAILING = ",;:-–—·  "  # what a cut line does not end in, before its "…"
# a sentence ends at . ! ? … before a space (after any closing quote or bracket), or
# at a CJK full stop, exclamation or question mark, which need no space after them
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s|$)|[。！？][」』”’）]*")
# a full stop that ends a short form, not a sentence: "Dr. Jones", "see v. 2", "e.g."
_SHORT_FORM = re.compile(
    r"(?:^|[\s(])(?:[A-Za-z]|Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr|Mt|No|Nr|Vol|vs|cf|ca|approx|etc"
    r"|e\.g|i\.e|z\.B|Inc|Ltd|Co|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$"
)


@dataclass(frozen=True)
class IssueFields:
    """The issue's own subject, preheader and number ("" and None: the defaults)."""

    subject: str = ""
    preheader: str = ""
    number: int | None = None

    def options(self) -> dict[str, Any]:
        """The fields that are set, as JSON values (a schedule entry keeps them)."""
        found: dict[str, Any] = {"subject": self.subject, "preheader": self.preheader,
                                 "number": self.number}  # fmt: skip
        return {k: v for k, v in found.items() if v not in ("", None)}

    @classmethod
    def of(cls, options: dict[str, Any]) -> IssueFields | None:
        """The fields a schedule entry kept (None when it kept none)."""
        if not options:
            return None
        number = options.get("number")
        return cls(str(options.get("subject", "")), str(options.get("preheader", "")),
                   int(number) if number is not None else None)  # fmt: skip

    def typeset(self, language: str) -> IssueFields:
        """The subject and preheader with the language's quotes, like the articles'."""
        from newsletter.articles.typography import typeset

        return IssueFields(typeset(self.subject, language), typeset(self.preheader, language),
                           self.number)  # fmt: skip

    def over(self, other: IssueFields | None) -> IssueFields:
        """These fields with `other`'s set ones (the command line's) over them."""
        if other is None:
            return self
        return IssueFields(
            other.subject or self.subject,
            other.preheader or self.preheader,
            other.number if other.number is not None else self.number,
        )


def issue_fields(issue: Issue) -> IssueFields:
    """`subject`, `preheader` and `number` from the first article's front matter."""
    first = issue.articles[0]
    extra = first.extra
    return IssueFields(
        subject=_line(first, "subject", extra.get("subject")),
        preheader=_line(first, "preheader", extra.get("preheader")),
        number=_number(first, extra.get("number")),
    )


def archived(issue: Issue) -> bool:
    """Whether the issue goes into the web archive once sent: not when one of its
    articles says `archive: false` in its front matter."""
    for article in issue.articles:
        value = article.extra.get("archive")
        if value is None:
            continue
        if not isinstance(value, bool):
            raise _error(article, f"front matter `archive` must be true or false, got {value!r}")
        if not value:
            return False
    return True


def check_subject(value: str) -> str:
    """A --subject given on the command line: one line, not empty, not too long."""
    text = squash(value)
    if not text:
        raise ValueError("must not be empty")
    if len(text) > SUBJECT_CHARS:
        raise ValueError(f"at most {SUBJECT_CHARS} characters, got {len(text)}")
    return text


def summary_only(article: Article) -> bool:
    """Whether the article shows as its summary and a "Read more" button to its
    `url` (front matter `display: summary`) rather than whole."""
    value = article.extra.get("display")
    if value is None or value == "full":
        return False
    if value not in DISPLAYS:
        raise _error(article, f"front matter `display` must be full or summary, got {value!r}")
    if not article.summary or not article.url:
        missing = " and ".join(f"`{n}`" for n in ("summary", "url") if not getattr(article, n))
        raise _error(article, f"front matter `display: summary` needs a {missing} too")
    return True


def preheader_of(issue: Issue) -> str:
    """The line inbox lists show after the subject: a digest's headlines; else the
    article's summary, subtitle or opening words, cut where a sentence or word ends."""
    if issue.is_digest:
        return _cut(" · ".join(squash(a.title) for a in issue.articles))
    article = issue.articles[0]
    text = article.summary or article.subtitle
    if not text:
        text = next((b.plain_text for b in article.body if b.kind == "paragraph"), "")
    return _cut(squash(text))


def _cut(text: str) -> str:
    if len(text) <= PREHEADER_CHARS:
        return text
    head = text[: PREHEADER_CHARS + 1]
    ends = [
        m.end()
        for m in _SENTENCE_END.finditer(head)
        if m.end() <= PREHEADER_CHARS and not _SHORT_FORM.search(head[: m.start() + 1])
    ]
    if ends and ends[-1] >= SENTENCE_MIN:
        return head[: ends[-1]]
    from newsletter.render.linebreak import last_break

    at = last_break(text, PREHEADER_CHARS)  # between words, in any script
    cut = text[:at] if at >= SENTENCE_MIN else text[:PREHEADER_CHARS]
    return cut.rstrip(_TRAILING) + "…"


def _line(article: Article, name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _error(article, f"front matter `{name}` must be text, got {type(value).__name__}")
    text = squash(str(value))
    if len(text) > SUBJECT_CHARS:
        raise _error(article, f"front matter `{name}` is {len(text)} characters; at most "
                     f"{SUBJECT_CHARS}")  # fmt: skip
    return text


def _number(article: Article, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NUMBER:
        raise _error(article, f"front matter `number` must be a whole number from 1, got {value!r}")
    return value


def _error(article: Article, message: str) -> ArticleError:
    return ArticleError(message, file=shown(article.path))
