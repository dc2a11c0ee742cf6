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
from newsletter.files import fsync_dir, write_atomically
from newsletter.message import MessageMaker
from newsletter.transports.base import Batch, BatchResult


class OutboxTransport:
    name = "outbox"
    batch_size = 100

    def __init__(
        self,
        root: Path,
        clock: Clock,
        shown: Callable[[Path], str] = str,
        write: Callable[[Path, bytes], None] = write_atomically,
    ) -> None:
        """`write`: how one file is written (atomically, fsynced)."""
        self.root = root
        self.clock = clock
        self.shown = shown
        self.write = write

    def folder(self, issue_id: str, test: bool = False) -> Path:
        return self.root / issue_id / "test" if test else self.root / issue_id

    def destination(self, issue_id: str, test: bool = False) -> str:
        return self.shown(self.folder(issue_id, test)) + os.sep

    def send(self, batch: Batch) -> BatchResult:
        folder = self.folder(batch.issue.id, batch.test)
        accepted: dict[str, str] = {}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            maker = MessageMaker(batch.issue, batch.envelope, self.clock.now(), batch.test)
            for recipient in batch.recipients:
                msgid, data = maker.make(recipient)
                self.write(folder / file_name(recipient.email), data)
                accepted[recipient.email] = msgid
            fsync_dir(folder)
        except OSError as exc:
            where = self.shown(Path(exc.filename)) if exc.filename else self.shown(folder)
            # the files already written are accepted: they must not be written again
            error = PermanentError(f"cannot write to the outbox: {exc.strerror}", file=where)
            return BatchResult(accepted, error=error)
        return BatchResult(accepted)

    def close(self) -> None:
        pass


def file_name(email: str) -> str:
    """A safe, unique file name per address (case-insensitively)."""
    key = email.lower()
    safe = re.sub(r"[^a-z0-9@._+-]", "_", key).lstrip(".")
    if safe != key:
        safe += "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{safe}.eml"
