"""Writing a list's CSV file: the file stays the source of truth for who is on a list,
so a change keeps its header, column order, delimiter, BOM, line endings and every
unrelated row byte for byte, and lands atomically (a temporary file, fsynced, then
renamed over the old one: a crash leaves the old file or the new, never half)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import BadRow, csv_records, parse_header
from newsletter.errors import ListError
from newsletter.files import atomic, decode, read_bytes

BOM = "\ufeff"


@dataclass(frozen=True)
class Record:
    """One row as it is in the file: its first line number, its raw text (with its
    line ending; quoted cells may span lines) and its cells."""

    line: int
    raw: str
    cells: list[str]


@dataclass
class ListFile:
    path: Path
    shown: str
    header: list[str]  # as written
    columns: list[str]  # lower-cased, as templates know them
    delimiter: str
    newline: str
    bom: bool
    header_raw: str
    lock: Path | None = None  # a lock file: two commands changing the list take turns

    @classmethod
    def open(cls, path: Path, shown: str) -> ListFile:
        text = _read(path, shown)
        bom = text.startswith(BOM)
        text = text.removeprefix(BOM)
        first, _, _ = text.partition("\n")
        header = parse_header(first, shown)
        header.email_at(shown)
        newline = "\r\n" if first.endswith("\r") else "\n"
        header_raw = first + "\n" if "\n" in text else first
        return cls(path, shown, header.cells, header.columns, header.delimiter, newline, bom,
                   header_raw)  # fmt: skip

    @classmethod
    def create(cls, path: Path, shown: str, columns: list[str]) -> ListFile:
        """A new, empty list with these columns (email first if not given)."""
        if "email" not in columns:
            columns = ["email", *columns]
        made = cls(path, shown, columns, columns, ",", "\n", False, "")
        made.header_raw = made.format(dict(zip(columns, columns, strict=True)))
        return made

    def records(self) -> Iterator[Record]:
        """Every row after the header, as in the file (blank lines included, as rows
        with no cells, so a rewrite keeps them)."""
        text = _read(self.path, self.shown).removeprefix(BOM)
        handle = io.StringIO(text, newline="")
        handle.readline()  # the header
        for first, lines, cells in csv_records(handle, self.delimiter):
            if isinstance(cells, BadRow):  # a row added after it would vanish into it
                raise ListError(
                    f"{cells.reason}; fix it before changing the list",
                    file=self.shown,
                    line=first,
                )
            yield Record(first, "".join(lines), cells)

    def key_of(self, record: Record) -> str | None:
        """The row's address, normalised and lower-cased; None when it has none valid."""
        at = self.columns.index("email")
        if at >= len(record.cells) or not record.cells[at].strip():
            return None
        try:
            return normalise_address(record.cells[at].strip()).lower()
        except BadAddress:
            return None

    def values(self, record: Record) -> dict[str, str]:
        return dict(zip(self.columns, (c.strip() for c in record.cells), strict=False))

    def format(self, values: dict[str, str]) -> str:
        """A row in this file's columns, delimiter and line ending."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator=self.newline)
        writer.writerow([_safe(values.get(column, "")) for column in self.columns])
        return out.getvalue()

    def has(self, key: str) -> bool:
        """Whether a row has the address `key` (valid, or as a bad row writes it); the
        whole file read (a row it cannot read is a ListError)."""
        return any(self._is(record, key) for record in self.records())

    def remove(self, key: str) -> list[int]:
        """The file rewritten without the rows of address `key` (valid, or as a bad
        row writes it); the lines they were on."""
        removed: list[int] = []

        def change(records: Iterator[Record]) -> Iterator[str]:
            for record in records:
                if self._is(record, key):
                    removed.append(record.line)
                    continue
                yield record.raw

        self.rewrite(change)
        return removed

    def _is(self, record: Record, key: str) -> bool:
        return self.key_of(record) == key or self.values(record).get("email", "").lower() == key

    def rewrite(self, change: Callable[[Iterator[Record]], Iterator[str]]) -> None:
        """Write the file anew: the header as it was, then what `change` yields for
        the records (their raw text, changed or not, and any new rows), read now. With
        `lock`, under it: a change is never lost to another made at the same time."""
        if self.lock is None:
            return self._rewrite(change)
        from filelock import FileLock, Timeout

        try:
            self.lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with FileLock(self.lock, timeout=60):
                return self._rewrite(change)
        except Timeout:
            raise ListError(
                "another command has been changing this list for a minute; try again",
                file=self.shown,
            ) from None
        except OSError as exc:  # the lock's folder (the list's own errors are ListErrors)
            raise ListError(
                f"cannot take the list's lock in {self.lock.parent}: {exc.strerror}; the "
                "locks folder must be writable (the list was not changed)",
                file=self.shown,
            ) from None

    def _rewrite(self, change: Callable[[Iterator[Record]], Iterator[str]]) -> None:
        existed = self.path.exists()
        try:
            with atomic(self.path, text=True, clean=True) as handle:
                handle.write((BOM if self.bom else "") + self.header_raw)
                last = self.header_raw
                if last and not last.endswith("\n"):
                    handle.write(self.newline)
                for raw in change(self.records() if existed else iter(())):
                    if last and not last.endswith("\n"):
                        handle.write(self.newline)
                    handle.write(raw)
                    last = raw
        except OSError as exc:
            raise ListError(f"cannot write: {exc.strerror}", file=self.shown) from None


def _read(path: Path, shown: str) -> str:
    """The whole list as text, its BOM kept (a rewrite writes it back)."""
    return decode(read_bytes(path, shown, ListError, "no such list file"), shown, ListError)


def _safe(value: str) -> str:
    """A cell that a spreadsheet would run as a formula is kept as text."""
    value = value.replace("\r", " ").replace("\n", " ")
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit() else value
