"""The filesystem edge: how paths are shown, the one text-file reader (every OS and
decoding error becomes our error, naming the file and line), and the one atomic
write (a temporary file beside the target, fsynced, then renamed over it, or linked
when the target must not exist yet; a crash leaves the old file or the new, never
half, and no temporary file behind).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, TextIO

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


def read_bytes(
    path: Path,
    where: str,
    error: ErrorKind,
    missing: str = "no such file",
    limit: int | None = None,
    too_large: str = "",
) -> bytes:
    """The whole file; with `limit`, one over that many bytes is an error (its size,
    then `too_large`), found without reading more than the limit."""
    try:
        with os.fdopen(_open_regular(path, where, error), "rb") as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise _read_error(exc, where, error, missing) from None
    if limit is not None and len(data) > limit:
        raise error(f"is {size / 1e6:.1f} MB, over {limit / 1e6:g} MB{too_large}", file=where)
    return data


NOT_REGULAR = "not a regular file (a pipe, device or socket); give a file"


def _open_regular(path: Path, where: str, error: ErrorKind) -> int:
    """The file opened for reading, when it is a regular file: a pipe (FIFO), a
    device or a socket would block a send, or never end, so it is refused (it is
    opened without blocking to find out). OSErrors are the caller's to map."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise error(NOT_REGULAR, file=where)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_regular_or_missing(path: Path) -> bool:
    """Whether a path names a regular file, or nothing (for loaders that open it)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True


def read_text(
    path: Path,
    where: str,
    error: ErrorKind,
    missing: str = "no such file",
    limit: int | None = None,
    too_large: str = "",
) -> str:
    """The whole file as text: UTF-8, a BOM dropped, line endings as written."""
    data = read_bytes(path, where, error, missing, limit, too_large)
    return decode(data, where, error).removeprefix("\ufeff")


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
        handle = os.fdopen(_open_regular(path, where, error), "rb")
        try:
            start = b"" if binary else handle.read(8192)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        if b"\x00" in start:
            handle.close()
            line = start[: start.index(b"\x00")].count(b"\n") + 1
            raise error("binary data, not text", file=where, line=line)
        return io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape",
                                newline="")  # fmt: skip
    except OSError as exc:
        raise _read_error(exc, where, error, missing) from None


def open_binary(
    path: Path, where: str, error: ErrorKind, missing: str = "no such file"
) -> BinaryIO:
    """A regular file opened to stream its bytes (buffered, so it can be peeked)."""
    try:
        return os.fdopen(_open_regular(path, where, error), "rb")
    except OSError as exc:
        raise _read_error(exc, where, error, missing) from None


def _read_error(exc: OSError, where: str, error: ErrorKind, missing: str) -> NewsletterError:
    if isinstance(exc, FileNotFoundError):
        return error(missing, file=where)
    if isinstance(exc, IsADirectoryError):
        return error("is a folder, not a file", file=where)
    if exc.errno == errno.ENXIO:  # a Unix socket cannot be opened at all
        return error(NOT_REGULAR, file=where)
    return error(f"cannot read: {exc.strerror or exc}", file=where)


# --- writing ---


@contextlib.contextmanager
def atomic(
    path: Path,
    *,
    text: bool = False,
    mode: int | None = None,
    exclusive: bool = False,
    clean: bool = False,
) -> Iterator[IO]:
    """Write `path` whole or not at all: yields a temporary file beside it; when the
    block ends without an error it is fsynced and renamed over `path` (with the old
    file's permissions, or `mode`, or the umask's for a new one). With `exclusive`,
    it is linked into place instead, and an existing `path` wins (FileExistsError):
    two processes racing to make it end up with the same one. With `clean`, the
    temporary files of writers of `path` that were killed are removed first (a scan
    of the folder: for a list, not for each of an outbox's files). OSErrors are the
    caller's to map."""
    if clean:
        _clean_leftovers(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(temporary, flags, 0o600)  # only ours while it is written (a list's
    try:  # addresses); its mode is set as it goes into place
        opened = os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        with opened as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _final_mode(path, mode))
        if exclusive:
            os.link(temporary, path)
            return
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask, read once (reading it means setting it, so not per write,
    while other threads may be making files)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _umask()


def _final_mode(path: Path, mode: int | None) -> int:
    """`mode`, else the old file's, else what the umask gives a new file."""
    if mode is not None:
        return mode
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def _clean_leftovers(path: Path) -> None:
    """Temporary files a killed writer of `path` left beside it (its process is gone)."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


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
