"""Placeholders in a rendered issue and their per-recipient values.

An issue is rendered once with placeholder tokens where subscriber values go; each
recipient's copy is made by substitution, never by running Jinja or premailer again.

Tokens are plain ASCII without spaces, so they survive CSS inlining (lxml would
percent-encode spaces in `href`) and can be used as SendGrid `substitutions` keys.
The HTML part and the text part use different tokens for the same field, because
values are HTML-escaped in the one and raw in the other, and SendGrid substitutes
one value per key in both parts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

from newsletter.whitespace import squash

Part = Literal["html", "text"]
RESERVED = "%%nl"
_PREFIX = {"html": "%%nlh.", "text": "%%nlt."}
TOKEN = re.compile(r"%%nl([ht])\.([a-z0-9_]+)%%")

EMAIL = "email"
UNSUBSCRIBE_URL = "unsubscribe_url"
BUILTINS = (EMAIL, UNSUBSCRIBE_URL)


def token(key: str, part: Part) -> str:
    return f"{_PREFIX[part]}{key}%%"


@dataclass(frozen=True)
class Field:
    """A subscriber value a template asked for: a CSV column with a fallback."""

    key: str
    column: str  # lower-cased CSV header; a built-in name for built-ins
    default: str = ""


class Placeholders:
    """The fields used while rendering one issue; hands out their tokens."""

    def __init__(self) -> None:
        self.fields: dict[str, Field] = {key: Field(key, key) for key in BUILTINS}
        self._by_use: dict[tuple[str, str], str] = {}

    def key_for(self, column: str, default: str = "") -> str:
        column = squash(column).lower()
        if column in BUILTINS and not default:
            return column
        use = (column, default)
        if use not in self._by_use:
            base = re.sub(r"[^a-z0-9]+", "_", column).strip("_") or "field"
            key, n = f"f_{base}", 1
            while key in self.fields:
                n += 1
                key = f"f_{base}_{n}"
            self.fields[key] = Field(key, column, default)
            self._by_use[use] = key
        return self._by_use[use]

    def subscriber(self, part: Part) -> SubscriberTokens:
        return SubscriberTokens(self, part)


class SubscriberTokens:
    """What templates see as `subscriber`: each field access yields a token.

    `subscriber.name`, `subscriber["First Name"]`, `subscriber.get("name", "there")`.
    """

    def __init__(self, placeholders: Placeholders, part: Part) -> None:
        self._placeholders = placeholders
        self._part = part

    def get(self, column: str, default: str = "") -> str:
        tok = token(self._placeholders.key_for(column, str(default)), self._part)
        return Markup(tok) if self._part == "html" else tok

    def __getitem__(self, column: str) -> str:
        return self.get(column)

    def __getattr__(self, column: str) -> str:
        if column.startswith("_"):
            raise AttributeError(column)
        return self.get(column)


@dataclass(frozen=True)
class Template:
    """A rendered part split at its tokens: literals[0] key[0] literals[1] ... literals[-1]."""

    literals: tuple[str, ...]
    keys: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, part: Part) -> Template:
        literals, keys, pos = [], [], 0
        kind = part[0]
        for match in TOKEN.finditer(text):
            if match.group(1) != kind:
                raise ValueError(f"a {part} part holds a {match.group(0)} token")
            literals.append(text[pos : match.start()])
            keys.append(match.group(2))
            pos = match.end()
        literals.append(text[pos:])
        return cls(tuple(literals), tuple(keys))

    def fill(self, values: Mapping[str, str]) -> str:
        if not self.keys:
            return self.literals[0]
        out = [self.literals[0]]
        for key, literal in zip(self.keys, self.literals[1:], strict=True):
            out.append(values[key])
            out.append(literal)
        return "".join(out)

    def source(self, part: Part) -> str:
        """The part with its tokens, as SendGrid gets it."""
        return self.fill({key: token(key, part) for key in self.keys})


def field_values(
    fields: Mapping[str, Field], email: str, columns: Mapping[str, str], unsubscribe_url: str
) -> dict[str, str]:
    """Raw values of every field for one recipient (text part, headers)."""
    values = {EMAIL: email, UNSUBSCRIBE_URL: unsubscribe_url}
    for key, spec in fields.items():
        if key not in values:
            values[key] = squash(columns.get(spec.column, "")) or spec.default
    return values


def html_values(values: Mapping[str, str]) -> dict[str, str]:
    return {key: str(escape(value)) for key, value in values.items()}


@dataclass(frozen=True)
class Recipient:
    """A subscriber of one issue's send, with the raw values of every field."""

    email: str
    name: str
    values: dict[str, str]


@dataclass(frozen=True)
class Copy:
    """One recipient's personalised subject and parts."""

    subject: str
    html: str
    text: str


def personalise(subject: Template, html: Template, text: Template, recipient: Recipient) -> Copy:
    raw = recipient.values
    return Copy(subject.fill(raw), html.fill(html_values(raw)), text.fill(raw))


def recipient_for(
    email: str,
    name: str,
    columns: Mapping[str, str],
    fields: Mapping[str, Field],
    unsubscribe_url: str,
) -> Recipient:
    return Recipient(email, name, field_values(fields, email, columns, unsubscribe_url))
