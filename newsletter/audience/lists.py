"""Subscriber lists: `subscribers/<list>.csv`, streamed row by row.

A header row names the columns; `email` is required, every other column is a
field templates may use. UTF-8 with or without BOM; comma or semicolon. A bad row
(invalid or missing address, a duplicate, broken encoding, a ragged row) is
reported with its line number and skipped; only a file that cannot be read as a
list at all is an error.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from newsletter.addresses import BadAddress, normalise_address
from newsletter.errors import ListError
from newsletter.files import open_text
from newsletter.text import squash

csv.field_size_limit(1 << 20)


@dataclass(slots=True)  # not frozen: made twice per recipient of a send (read, then
class Subscriber:  # claimed), and frozen dataclasses cost 3x to make; nothing changes one
    email: str  # checked and normalised; the domain in ASCII
    name: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # lower-cased column -> value
    line: int = 0  # 0: not from the file (a confirmed signup kept in the state)
    form: bool = False  # a confirmed signup from the web form, not yet in the file

    @property
    def key(self) -> str:
        """Addresses are compared case-insensitively."""
        return self.email.lower()


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    value: str = ""
    broken: bool = False  # the file's quoting is broken here: rows near it may be wrong
    file: str = ""  # the list it is in, as shown, when an audience reads several

    def describe(self, shown: str) -> str:
        value = f" {self.value!r}" if self.value else ""
        return f"{self.file or shown}:{self.line}:{value} {self.reason}"


@dataclass(frozen=True)
class Header:
    """A CSV file's header row: its cells as written, the column names as templates
    know them (squashed, lower-cased), and the delimiter it uses."""

    cells: list[str]
    columns: list[str]
    delimiter: str

    def index(self, names: tuple[str, ...], keys: list[str] | None = None) -> int | None:
        """Where the first of `names` is among the columns (or among `keys`, the
        columns named some other way)."""
        found = keys if keys is not None else self.columns
        return next((found.index(name) for name in names if name in found), None)

    def email_at(
        self, shown: str, names: tuple[str, ...] = ("email",), keys: list[str] | None = None
    ) -> int:
        """Where the email column is; a file without one is not a list."""
        at = self.index(names, keys)
        if at is None:
            raise ListError(
                f"no email column in the header (found: {', '.join(self.cells) or 'none'})",
                file=shown,
                line=1,
            )
        return at


def parse_header(line: str, shown: str) -> Header:
    """The one check of a CSV file's first line, for lists, list edits and imports."""
    if not line.strip():
        raise ListError(
            "the file is empty: expected a header row with an email column", file=shown, line=1
        )
    if broken_text(line):
        raise ListError("the header row is not UTF-8 text", file=shown, line=1)
    delimiter = delimiter_of(line)
    cells = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
    columns = [squash(name).lower() for name in cells]
    seen: dict[str, int] = {}
    for at, name in enumerate(columns, 1):
        if name and (earlier := seen.setdefault(name, at)) != at:
            raise ListError(
                f"the header has the column {cells[at - 1]!r} twice (columns {earlier} and "
                f"{at}): which one holds the value? Rename or remove one",
                file=shown,
                line=1,
            )
    return Header(cells, columns, delimiter)


def read_list(path: Path, shown: str | None = None) -> Iterator[Subscriber | BadRow]:
    """Yield each row as a Subscriber or a BadRow, in file order; duplicates are BadRows."""
    shown = shown or str(path)
    with open_text(path, shown, ListError, "no such list file") as handle:
        header = parse_header(handle.readline(), shown)
        header.email_at(shown)
        yield from _rows(handle, header.columns, header.delimiter)


def list_columns(path: Path, shown: str | None = None) -> list[str]:
    """The list's column names as templates know them (lower-cased)."""
    shown = shown or str(path)
    with open_text(path, shown, ListError, "no such list file") as handle:
        header = parse_header(handle.readline(), shown)
        header.email_at(shown)
        return header.columns


QUOTED_LINES = 20  # the most physical lines one row may span (quoted line breaks)


class _RunAway(Exception):
    """A row went on past QUOTED_LINES lines: raised through csv.reader to stop it."""


class _Lines:
    """The lines after the header, for csv.reader; the lines of the row being read are
    kept (at most QUOTED_LINES), so that when a row turns out broken the lines after
    its first are read again as rows of their own. Lines are numbered by position:
    the row's first is `first`, and lines read again keep their numbers."""

    def __init__(self, handle: TextIO) -> None:
        self._readline = handle.readline
        self._again: deque[str] = deque()
        self._next = 2  # the number of the next line (the header is line 1)
        self.first = 2
        self.row: list[str] = []
        self.ended = False  # the file ended inside the row being read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        row = self.row
        if len(row) >= QUOTED_LINES:
            raise _RunAway
        line = self._again.popleft() if self._again else self._readline()
        if not line:
            self.ended = bool(row)
            raise StopIteration
        self._next += 1
        row.append(line)
        return line

    def start(self) -> int:
        """A new row begins: the number of its first line."""
        self.row, self.ended, self.first = [], False, self._next
        return self.first

    def again(self) -> None:
        """The row was broken: its lines after the first are read again."""
        self._again.extendleft(reversed(self.row[1:]))
        self._next = self.first + 1
        self.row = []


def csv_records(
    handle: TextIO, delimiter: str
) -> Iterator[tuple[int, list[str], list[str] | BadRow]]:
    """(first physical line, the row's lines as written, cells or a BadRow) of each
    row after the header (already read), blank ones included. A quoted field that is
    never closed, runs over more than QUOTED_LINES lines, or takes in a line that
    reads as a row of its own (an address in it: a quote not closed, closed by
    another one further on) is a broken BadRow at the line it opens on (its lines:
    that one), and the lines it would have swallowed are read again as rows; so is a
    row csv cannot read."""
    lines = _Lines(handle)
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        first = lines.start()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, _RunAway) as exc:
            yield first, lines.row[:1], _broken(first, exc)
            lines.again()
            reader = csv.reader(lines, delimiter=delimiter)  # its state is the row's
            continue
        if lines.ended:  # the file ended inside a quoted field
            yield first, lines.row[:1], BadRow(first, UNCLOSED, broken=True)
            lines.again()
            continue
        if len(lines.row) > 1 and (swallowed := _row_inside(lines.row, first, delimiter)):
            reason = f"a quoted field opens on this line and takes in line {swallowed}"
            yield first, lines.row[:1], BadRow(first, f"{reason} (a quote not closed?)",
                                               broken=True)  # fmt: skip
            lines.again()
            continue
        yield first, lines.row, row


_ADDRESS = re.compile(r"[^@\s\"',;<>]+@[^@\s\"',;<>]+\.[^@\s\"',;<>]+")


def _row_inside(row: list[str], first: int, delimiter: str) -> int | None:
    """The number of the first line after the row's first (line `first`) that, read
    alone, holds an address in a cell of its own: a row swallowed by a quote that was
    not closed."""
    for number, line in enumerate(row[1:], first + 1):
        cells = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        if any(_ADDRESS.fullmatch(cell.strip()) for cell in cells):
            return number
    return None


def csv_rows(handle: TextIO, delimiter: str) -> Iterator[tuple[int, list[str] | BadRow]]:
    """(first physical line, cells or a BadRow) of each non-blank row after the header
    (already read): unreadable CSV and undecodable bytes are BadRows, never errors."""
    for first, _, row in csv_records(handle, delimiter):
        if isinstance(row, BadRow):
            yield first, row
            continue
        joined = "".join(row)
        if not joined.strip():
            continue
        if broken_text(joined):
            yield first, BadRow(first, "not UTF-8 text")
            continue
        yield first, row


UNCLOSED = "a quoted field opens on this line and is never closed"


def _broken(first: int, exc: Exception) -> BadRow:
    if isinstance(exc, _RunAway):
        reason = f"a quoted field opens on this line and runs over {QUOTED_LINES} lines"
        return BadRow(first, f"{reason} (a quote not closed?)", broken=True)
    return BadRow(first, f"unreadable CSV: {exc}", broken=True)


def delimiter_of(header_line: str) -> str:
    """Semicolon when the header has more of them than commas (a European export)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _rows(handle: TextIO, columns: list[str], delimiter: str) -> Iterator[Subscriber | BadRow]:
    email_at = columns.index("email")
    seen: dict[str, int] = {}
    for first, row in csv_rows(handle, delimiter):
        if isinstance(row, BadRow):
            yield row
            continue
        if len(row) > len(columns):
            yield BadRow(first, f"{len(row)} values for {len(columns)} columns")
            continue
        raw = row[email_at].strip() if email_at < len(row) else ""
        if not raw:
            yield BadRow(first, "missing email")
            continue
        try:
            email = normalise_address(raw)
        except BadAddress as exc:
            yield BadRow(first, f"invalid address: {exc}", raw)
            continue
        key = email.lower()
        if (earlier := seen.get(key)) is not None:
            yield BadRow(first, f"duplicate of line {earlier}", raw)
            continue
        seen[key] = first
        values = dict(zip(columns, map(str.strip, row), strict=False))
        name = squash(values.get("name", ""))
        yield Subscriber(email=email, name=name, fields=values, line=first)


_SURROGATE = re.compile("[\udc80-\udcff]")


def broken_text(text: str) -> bool:
    """Undecodable bytes arrive as lone surrogates (errors='surrogateescape')."""
    return not text.isascii() and _SURROGATE.search(text) is not None
