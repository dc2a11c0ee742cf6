"""The small expression language of `--where` and a segment's `where`: a test over one
subscriber's fields (the list's columns, lower-cased; `email` and `name` included).

    country in ["DE", "AT"] and plan == "paid"
    not (age < 18) or consent is not empty

Parsed by hand (recursive descent, one token of look-ahead), never evaluated as
Python. Precedence, loosest first: `or`, `and`, `not`, then one comparison:

    value (== | != | < | <= | > | >=) value
    value [not] in [literal, ...]
    value is [not] empty

A value is a field name (letters, digits, `_`, `-`, `.`; or any name in backticks,
`` `signup date` ``), a string in single or double quotes (`\\` escapes a quote or
itself), or a number. Two numbers compare as numbers (a field whose text is a number
is one, a quoted string never is); a number and text that is not one are never
equal, nor in order (`!=` holds); anything else compares as text, exactly (case
counts). A field a row lacks is empty text. An error is one `WhereError` with the
column (from 1) where the expression goes wrong.

It sits in the shared base because newsletter.toml's segments are checked with it
when the settings load (settings.py), before any command runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

KEYWORDS = ("and", "or", "not", "in", "is", "empty")
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_SPACE = re.compile(r"\s+")

Test = Callable[[Mapping[str, str]], bool]


class WhereError(ValueError):
    """What is wrong with an expression, and where: `column 17: expected a value
    after "=="`."""

    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")


@dataclass(frozen=True)
class _Token:
    kind: str  # name | field | string | number | op | end
    text: str  # as written (for a string or a quoted field: its value)
    column: int

    @property
    def shown(self) -> str:
        return "the end" if self.kind == "end" else f'"{self.text}"'

    def keyword(self, *words: str) -> bool:
        return self.kind == "name" and self.text.lower() in words


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while at < len(text):
        space = _SPACE.match(text, at)
        if space:
            at = space.end()
            continue
        column, char = at + 1, text[at]
        two = text[at : at + 2]
        if two in OPERATORS[:4]:
            found.append(_Token("op", two, column))
            at += 2
        elif char in "<>()[],":
            found.append(_Token("op", char, column))
            at += 1
        elif char == "=":
            raise WhereError(column, 'use "==" to compare ("=" alone is not an operator)')
        elif char == "!":
            raise WhereError(column, 'use "!=" or "not" ("!" alone is not an operator)')
        elif char in "\"'`":
            value, at = _quoted(text, at)
            found.append(_Token("field" if char == "`" else "string", value, column))
        elif number := _NUMBER.match(text, at):
            if (follow := number.end()) < len(text) and _NAME.match(text, follow):
                raise WhereError(follow + 1, f"expected a space or an operator after "
                                             f"{number.group()}")  # fmt: skip
            found.append(_Token("number", number.group(), column))
            at = number.end()
        elif name := _NAME.match(text, at):
            found.append(_Token("name", name.group(), column))
            at = name.end()
        else:
            raise WhereError(column, f"unexpected {char!r}")
    found.append(_Token("end", "", len(text) + 1))
    return found


def _quoted(text: str, at: int) -> tuple[str, int]:
    quote, start = text[at], at
    value: list[str] = []
    at += 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text) and text[at + 1] in (quote, "\\"):
            value.append(text[at + 1])
            at += 2
        elif char == quote:
            if quote == "`" and not value:
                raise WhereError(start + 1, "a field name in backticks cannot be empty")
            return "".join(value), at + 1
        else:
            value.append(char)
            at += 1
    what = "field name" if quote == "`" else "string"
    raise WhereError(start + 1, f"this {what} has no closing {quote}")


# --- values: a field's text, or a literal ---


@dataclass(frozen=True)
class _Value:
    text: str
    number: float | None  # a number literal, or (for a field) None: decided per row
    field: str | None = None  # the field it reads, else a literal

    def of(self, row: Mapping[str, str]) -> tuple[str, float | None]:
        if self.field is None:
            return self.text, self.number
        text = row.get(self.field, "") or ""
        found = _NUMBER.fullmatch(text.strip())
        return text, float(text) if found else None


def _equal(a: tuple[str, float | None], b: tuple[str, float | None], numeric: bool) -> bool:
    if a[1] is not None and b[1] is not None:
        return a[1] == b[1]
    if numeric:  # a number literal against text that is not a number
        return False
    return a[0] == b[0]


_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}  # fmt: skip


def _compare(op: str, left: _Value, right: _Value) -> Test:
    numeric = left.number is not None or right.number is not None  # a number literal

    def test(row: Mapping[str, str]) -> bool:
        a, b = left.of(row), right.of(row)
        if op == "==":
            return _equal(a, b, numeric)
        if op == "!=":
            return not _equal(a, b, numeric)
        if a[1] is not None and b[1] is not None:
            c = (a[1] > b[1]) - (a[1] < b[1])
        elif numeric:
            return False
        else:
            c = (a[0] > b[0]) - (a[0] < b[0])
        return _ORDER[op](c)

    return test


def _member(value: _Value, choices: list[_Value], negate: bool) -> Test:
    texts = {c.text for c in choices if c.number is None}
    numbers = {c.number for c in choices if c.number is not None}

    def test(row: Mapping[str, str]) -> bool:
        text, number = value.of(row)
        return ((number is not None and number in numbers) or text in texts) != negate

    return test


def _empty(value: _Value, negate: bool) -> Test:
    def test(row: Mapping[str, str]) -> bool:
        return (not value.of(row)[0].strip()) != negate

    return test


# --- the parser ---


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, the fields it reads, and its test of a row."""

    text: str
    fields: frozenset[str]
    test: Test

    def __call__(self, row: Mapping[str, str]) -> bool:
        return self.test(row)


def parse_where(text: str) -> Expression:
    """The expression `text`, or WhereError saying where it goes wrong."""
    if not text.strip():
        raise WhereError(1, "the expression is empty")
    parser = _Parser(_tokens(text))
    test = parser.expression()
    end = parser.peek
    if end.kind != "end":
        raise WhereError(end.column, f'expected "and", "or" or the end, got {end.shown}')
    return Expression(text, frozenset(parser.fields), test)


def both(a: Expression | None, b: Expression | None) -> Expression | None:
    """Both must hold (a segment's `where` and --where)."""
    if a is None or b is None:
        return a or b
    first, second = a.test, b.test
    return Expression(f"({a.text}) and ({b.text})", a.fields | b.fields,
                      lambda row: first(row) and second(row))  # fmt: skip


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.fields: set[str] = set()

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += min(1, len(self.tokens) - 1 - self.at)
        return token

    def expression(self) -> Test:
        return self._joined("or", self.conjunction, any)

    def conjunction(self) -> Test:
        return self._joined("and", self.negation, all)

    def _joined(self, word: str, term: Callable[[], Test], combine: Callable[..., bool]) -> Test:
        """`term (word term)*`: one test, or all of them combined."""
        terms = [term()]
        while self.peek.keyword(word):
            self.take()
            terms.append(term())
        if len(terms) == 1:
            return terms[0]
        return lambda row: combine(t(row) for t in terms)

    def negation(self) -> Test:
        if self.peek.keyword("not"):
            self.take()
            inner = self.negation()
            return lambda row: not inner(row)
        if self.peek.kind == "op" and self.peek.text == "(":
            opening = self.take()
            inner = self.expression()
            closing = self.take()
            if closing.text != ")" or closing.kind != "op":
                where = f'the "(" at column {opening.column}'
                raise WhereError(closing.column, f'expected ")" to close {where}, got '
                                                 f"{closing.shown}")  # fmt: skip
            return inner
        return self.comparison()

    def comparison(self) -> Test:
        left = self.value('a field, a value, "not" or "("')
        token = self.take()
        if token.kind == "op" and token.text in OPERATORS:
            right = self.value(f'a value after "{token.text}"', after=token)
            return _compare(token.text, left, right)
        if token.keyword("in") or (token.keyword("not") and self.peek.keyword("in")):
            negate = token.keyword("not")
            if negate:
                self.take()
            return _member(left, self.choices(), negate)
        if token.keyword("is"):
            negate = self.peek.keyword("not")
            if negate:
                self.take()
            empty = self.take()
            if not empty.keyword("empty"):
                after = "is not" if negate else "is"
                raise WhereError(empty.column, f'expected "empty" after "{after}", got '
                                               f"{empty.shown}")  # fmt: skip
            return _empty(left, negate)
        raise WhereError(token.column, f"expected an operator (==, !=, <, <=, >, >=, in, not "
                                       f"in, is empty) after {_shown(left)}, got "
                                       f"{token.shown}")  # fmt: skip

    def value(self, expected: str, after: _Token | None = None) -> _Value:
        token = self.take()
        if token.kind == "string":
            return _Value(token.text, None)
        if token.kind == "number":
            return _Value(token.text, float(token.text))
        if token.kind == "field" or (token.kind == "name" and token.text.lower() not in KEYWORDS):
            name = token.text.lower()
            self.fields.add(name)
            return _Value("", None, name)
        raise WhereError(token.column, f"expected {expected}, got {token.shown}")

    def choices(self) -> list[_Value]:
        opening = self.take()
        if opening.kind != "op" or opening.text != "[":
            raise WhereError(opening.column, f'expected "[" to start the values after "in", '
                                             f"got {opening.shown}")  # fmt: skip
        found: list[_Value] = []
        while not (self.peek.kind == "op" and self.peek.text == "]"):
            token = self.peek
            if token.kind not in ("string", "number"):
                raise WhereError(token.column, f'expected a string, a number or "]" in the '
                                               f"list, got {token.shown}")  # fmt: skip
            found.append(self.value("a value"))
            following = self.peek
            if following.kind == "op" and following.text == ",":
                self.take()
            elif not (following.kind == "op" and following.text == "]"):
                raise WhereError(following.column, f'expected "," or "]" in the list, got '
                                                   f"{following.shown}")  # fmt: skip
        self.take()
        return found


def _shown(value: _Value) -> str:
    if value.field is not None:
        return value.field
    return value.text if value.number is not None else f'"{value.text}"'
