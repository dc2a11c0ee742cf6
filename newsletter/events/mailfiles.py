"""Mail in files, as `newsletter bounces read PATH` takes it: one message (`.eml`), an
mbox, or a folder of them.

- A FILE whose first line begins with `From ` is an mbox (read with the standard
  library's `mailbox`); any other file is one message.
- A DIR is its `*.eml` files and its mbox files (those beginning with `From `, of
  any name), in name order, not its subfolders: a folder a fetcher or an MTA fills
  is flat. A Maildir (a folder with `cur/` and `new/`) is its messages in both.
  Hidden files and other files are left alone (counted).
"""

from __future__ import annotations

import calendar
import mailbox
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.files import read_bytes, shown

MBOX_START = b"From "


class MailFileError(NewsletterError):
    """A mail file (or a message in an mbox) cannot be read."""


@dataclass(frozen=True)
class Mail:
    """One message: `where` names it (`bounces/mbox: message 3`), `fallback_at` is the
    Unix time to date it by when it says nothing (the mbox's From line, else the
    file's mtime)."""

    where: str
    data: bytes
    fallback_at: int


@dataclass(frozen=True)
class MailFiles:
    """The files PATH names, and how many files of a folder were not mail."""

    files: tuple[Path, ...]
    others: int = 0


def mail_files(path: Path) -> MailFiles:
    """The files to read for PATH (a file, a folder or a Maildir)."""
    if not path.is_dir():
        return MailFiles((path,))
    if (path / "cur").is_dir() and (path / "new").is_dir():
        found = [p for sub in ("new", "cur") for p in sorted((path / sub).iterdir())]
        return MailFiles(tuple(p for p in found if p.is_file() and not p.name.startswith(".")))
    files, others = [], 0
    for item in sorted(path.iterdir()):
        if item.name.startswith(".") or not item.is_file():
            continue
        if item.suffix.lower() == ".eml" or _starts_mbox(item):
            files.append(item)
        else:
            others += 1
    return MailFiles(tuple(files), others)


def read_mail(path: Path) -> list[Mail]:
    """Every message of one file, read whole before any is used (so a file that fails
    half-way gives nothing); MailFileError names the file, and the message within an
    mbox."""
    where = shown(path)
    data = read_bytes(path, where, MailFileError)
    try:
        mtime = int(path.stat().st_mtime)
    except OSError as exc:
        raise MailFileError(f"cannot read: {exc.strerror or exc}", file=where) from None
    if not data.startswith(MBOX_START):
        if not data.strip():
            raise MailFileError("is empty, not a message", file=where)
        return [Mail(where, data, mtime)]
    return list(_mbox(path, where, mtime))


def _mbox(path: Path, where: str, mtime: int) -> Iterator[Mail]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        raise MailFileError(f"cannot read as an mbox: {exc}", file=where) from None
    try:
        for number, key in enumerate(keys, 1):
            try:
                raw = box.get_bytes(key, from_=True)
            except (OSError, mailbox.Error, ValueError) as exc:
                raise MailFileError(
                    f"message {number}: cannot read it: {exc}", file=where
                ) from None
            from_line, _, data = raw.partition(b"\n")
            if not data.strip():
                raise MailFileError(f"message {number}: is empty", file=where)
            at = _from_line_time(from_line.decode("latin-1")) or mtime
            yield Mail(f"{where}: message {number}", data, at)
    finally:
        box.close()


def _from_line_time(line: str) -> int | None:
    """The time on an mbox's `From sender Wed Dec  2 10:15:01 2026` line (taken as
    UTC), if it has one."""
    words = line.split()
    if len(words) < 7:
        return None
    try:
        return calendar.timegm(time.strptime(" ".join(words[-5:]), "%a %b %d %H:%M:%S %Y"))
    except (ValueError, OverflowError):
        return None


def _starts_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MBOX_START)) == MBOX_START
    except OSError:
        return True  # read_mail names it
