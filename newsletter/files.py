"""The filesystem edge: how paths are shown, the one text-file reader (every OS and
decoding error becomes our error, naming the file and line), and the one atomic
write (a temporary file beside the target, fsynced, then renamed over it, or linked
when the target must not exist yet; a crash leaves the old file or the new, never
half, and no temporary file behind).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TextIO

from newsletter.errors import NewsletterError

ErrorKind = type[NewsletterError]


def shown(path: Path | str) -> str:
    """A path as the user should see it: relative to the current folder when inside
    it, else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


# --- reading ---


def read_bytes(path: Path, where: str, error: ErrorKind, missing: str = "no such file") -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _read_error(exc, where, error, missing) from None


def read_text(path: Path, where: str, error: ErrorKind, missing: str = "no such file") -> str:
    """The whole file as text: UTF-8, a BOM dropped, line endings as written."""
    return decode(read_bytes(path, where, error, missing), where, error).removeprefix("\ufeff")


def decode(data: bytes, where: str, error: ErrorKind) -> str:
    """UTF-8 bytes of `where` as text (a BOM kept); else an error naming the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            file=where,
            line=line,
        ) from None


def open_text(
    path: Path, where: str, error: ErrorKind, missing: str = "no such file", binary: bool = True
) -> TextIO:
    """The file to stream as text (a CSV list): UTF-8 with or without BOM; bytes that
    are not UTF-8 arrive as lone surrogates, for the reader to report by line. With
    `binary` false, a file that holds NUL bytes in its first 8 KB is refused."""
    try:
        if not binary:
            with path.open("rb") as probe:
                start = probe.read(8192)
            if b"\x00" in start:
                line = start[: start.index(b"\x00")].count(b"\n") + 1
                raise error("binary data, not text", file=where, line=line)
        return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise _read_error(exc, where, error, missing) from None


def _read_error(exc: OSError, where: str, error: ErrorKind, missing: str) -> NewsletterError:
    if isinstance(exc, FileNotFoundError):
        return error(missing, file=where)
    if isinstance(exc, IsADirectoryError):
        return error("is a folder, not a file", file=where)
    return error(f"cannot read: {exc.strerror or exc}", file=where)


# --- writing ---


@contextlib.contextmanager
def atomic(
    path: Path, *, text: bool = False, mode: int | None = None, exclusive: bool = False
) -> Iterator[IO]:
    """Write `path` whole or not at all: yields a temporary file beside it; when the
    block ends without an error it is fsynced and renamed over `path` (with the old
    file's permissions, or `mode`, or the umask's for a new one). With `exclusive`,
    it is linked into place instead, and an existing `path` wins (FileExistsError):
    two processes racing to make it end up with the same one. OSErrors are the
    caller's to map."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(temporary, flags, 0o666 if mode is None else mode)  # less the umask
    try:
        opened = os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        with opened as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)
            return
        if mode is None:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    with atomic(path) as handle:
        handle.write(data)


def fsync_dir(folder: Path) -> None:
    """Make the names written in a folder durable (the files are fsynced already)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
