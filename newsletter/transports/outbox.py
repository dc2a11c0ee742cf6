"""The outbox transport: one RFC 5322 .eml file per recipient under
outbox/<issue-id>/, written to a temporary name, fsynced, then renamed."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from newsletter.clock import Clock
from newsletter.errors import PermanentError
from newsletter.message import MessageMaker
from newsletter.transports.base import Accepted, Batch


class OutboxTransport:
    name = "outbox"
    batch_size = 100

    def __init__(self, root: Path, clock: Clock, shown: Callable[[Path], str] = str) -> None:
        self.root = root
        self.clock = clock
        self.shown = shown

    def folder(self, issue_id: str, test: bool = False) -> Path:
        return self.root / issue_id / "test" if test else self.root / issue_id

    def destination(self, issue_id: str, test: bool = False) -> str:
        return self.shown(self.folder(issue_id, test)) + os.sep

    def send(self, batch: Batch) -> Accepted:
        folder = self.folder(batch.issue.id, batch.test)
        accepted = {}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            maker = MessageMaker(batch.issue, batch.envelope, self.clock.now(), batch.test)
            for recipient in batch.recipients:
                msgid, data = maker.make(recipient)
                _write_atomically(folder / file_name(recipient.email), data)
                accepted[recipient.email] = msgid
            _fsync_dir(folder)
        except OSError as exc:
            where = self.shown(Path(exc.filename)) if exc.filename else self.shown(folder)
            # the files already written are accepted: they must not be written again
            raise PermanentError(
                f"cannot write to the outbox: {exc.strerror}",
                where=where,
                partial=Accepted(accepted),
            ) from None
        return Accepted(accepted)

    def close(self) -> None:
        pass


def file_name(email: str) -> str:
    """A safe, unique file name per address (case-insensitively)."""
    key = email.lower()
    safe = re.sub(r"[^a-z0-9@._+-]", "_", key).lstrip(".")
    if safe != key:
        safe += "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{safe}.eml"


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk or an interrupt: leave no half-written file
        temporary.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
