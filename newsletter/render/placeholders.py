"""Placeholders: where subscriber values go in an issue rendered once.

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
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn

from markupsafe import escape

from newsletter.text import squash

Part = Literal["html", "text"]

EMAIL = "email"
UNSUBSCRIBE_URL = "unsubscribe_url"
PREFERENCES_URL = "preferences_url"
BUILTINS = (EMAIL, UNSUBSCRIBE_URL, PREFERENCES_URL)


def new_prefix() -> str:
    """A token prefix with a random nonce: no article, template or setting can contain
    a token by accident, and no subscriber value can smuggle one in."""
    return f"%%nl{secrets.token_hex(4)}"


def make_token(prefix: str, key: str, part: Part) -> str:
    return f"{prefix}{part[0]}.{key}%%"


@dataclass(frozen=True)
class Field:
    """A subscriber value a template asked for: a CSV column with a fallback."""

    key: str
    column: str  # lower-cased CSV header; a built-in name for built-ins
    default: str = ""


class FieldUseError(Exception):
    """A template did more with a subscriber field than output it."""


class Placeholders:
    """The fields used while rendering one issue; hands out their tokens."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or new_prefix()
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

    def token(self, key: str, part: Part) -> Token:
        """A key's token as templates get it (see Token)."""
        cls = _HtmlToken if part == "html" else Token
        token = cls(make_token(self.prefix, key, part))
        token._field = self.fields[key]
        token._placeholders = self
        token._part = part
        return token

    def subscriber(self, part: Part) -> SubscriberTokens:
        return SubscriberTokens(self, part)

    def template(self, text: str, part: Part) -> Template:
        """Split a rendered part at its tokens; every token must be one handed out here,
        and no piece of one may be left over (a template cut or changed one)."""
        template = Template.parse(text, part, self.prefix)
        unknown = set(template.keys) - set(self.fields)
        nonce = self.prefix.removeprefix("%%nl").lower()
        if unknown or (nonce and any(nonce in lit.lower() for lit in template.literals)):
            raise FieldUseError(
                "a subscriber field was changed after it was output (a filter on text that "
                "holds one?); output fields as they are, e.g. {{ subscriber.name }}"
            )
        return template


class SubscriberTokens:
    """What templates see as `subscriber`: each field access yields a token.

    `subscriber.name`, `subscriber["First Name"]`, `subscriber.get("name", "there")`.
    """

    def __init__(self, placeholders: Placeholders, part: Part) -> None:
        self._placeholders = placeholders
        self._part = part

    def get(self, column: str, default: str = "") -> Token:
        return self._placeholders.token(
            self._placeholders.key_for(column, str(default)), self._part
        )

    def __getitem__(self, column: str) -> Token:
        return self.get(column)

    def __getattr__(self, column: str) -> Token:
        if column.startswith("_"):
            raise AttributeError(column)
        return self.get(column)


class Token(str):
    """A placeholder as templates see it. Its value is only known per recipient, after
    rendering, so a template may output it and nothing else: testing, comparing,
    measuring, slicing or filtering it would act on the placeholder, not the value.
    (The render environment also refuses it in filters and tests; `default` gives
    the field a fallback.)"""

    _field: Field
    _placeholders: Placeholders
    _part: Part

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise FieldUseError(
            f"subscriber field {self._field.column!r} is filled in per recipient after "
            "rendering: output it as it is, e.g. {{ subscriber.name }}; it cannot be tested, "
            "compared, sliced or changed by a filter (a fallback: "
            'subscriber.get("name", "there") or subscriber.name|default("there"))'
        )

    def _with_default(self, default: object) -> Token:
        placeholders = self._placeholders
        return placeholders.token(
            placeholders.key_for(self._field.column, str(default)), self._part
        )

    __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __mul__ = __mod__ = _refuse
    __hash__ = str.__hash__

    def __getattribute__(self, name: str) -> object:
        if name.startswith("_"):
            return super().__getattribute__(name)
        return self._refuse()


class _HtmlToken(Token):
    def __html__(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Template:
    """A rendered part split at its tokens: literals[0] key[0] literals[1] ... literals[-1]."""

    literals: tuple[str, ...]
    keys: tuple[str, ...]
    prefix: str

    @classmethod
    def parse(cls, text: str, part: Part, prefix: str) -> Template:
        pattern = re.compile(re.escape(prefix) + r"([ht])\.([a-z0-9_]+)%%")
        literals, keys, pos = [], [], 0
        for match in pattern.finditer(text):
            if match.group(1) != part[0]:
                raise ValueError(f"a {part} part holds a {match.group(0)} token")
            literals.append(text[pos : match.start()])
            keys.append(match.group(2))
            pos = match.end()
        literals.append(text[pos:])
        if any(prefix.lower() in literal.lower() for literal in literals):
            raise FieldUseError(
                "a subscriber field was changed after it was output (a filter on a string "
                "that holds one?); output fields as they are"
            )
        return cls(tuple(literals), tuple(keys), prefix)

    def fill(self, values: Mapping[str, str]) -> str:
        if not self.keys:
            return self.literals[0]
        out = [self.literals[0]]
        for key, literal in zip(self.keys, self.literals[1:], strict=True):
            out.append(values[key])
            out.append(literal)
        return "".join(out)

    def token(self, key: str, part: Part) -> str:
        return make_token(self.prefix, key, part)

    def source(self, part: Part) -> str:
        """The part with its tokens, as SendGrid gets it."""
        return self.fill({key: self.token(key, part) for key in self.keys})

    def as_html(self) -> str:
        """A text part (the subject) as HTML: literals escaped, HTML tokens."""
        out = [str(escape(self.literals[0]))]
        for key, literal in zip(self.keys, self.literals[1:], strict=True):
            out.append(self.token(key, "html"))
            out.append(str(escape(literal)))
        return "".join(out)
