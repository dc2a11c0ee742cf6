"""A Project: a newsletter folder, its settings and state. The composition root
that commands build once and take everything else from."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.audience.lists import check_list_name
from newsletter.clock import Clock, SystemClock
from newsletter.errors import ListError, LockHeld, SettingsError, StateError, UsageError
from newsletter.paths import shown
from newsletter.settings import SETTINGS_FILE, Settings, load_settings
from newsletter.unsubscribe import SECRET_BYTES

if TYPE_CHECKING:
    from newsletter.ledger import Ledger

STATE_DIR = ".newsletter"
SECRET_FILE = "secret"


@dataclass
class Project:
    root: Path
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def open(cls, root: Path, clock: Clock | None = None) -> Project:
        root = root.resolve()
        if not root.is_dir():
            raise SettingsError("no such project folder", where=str(root))
        return cls(root, load_settings(root / SETTINGS_FILE), clock or SystemClock())

    # --- paths ---

    def shown(self, path: Path) -> str:
        """A path as the user should see it: relative to where they are, if inside."""
        return shown(path)

    def find(self, path: Path) -> Path:
        """A path as given on the command line; a relative one that is not found from
        the current folder is looked up in the project (`--project` from elsewhere)."""
        if path.is_absolute() or path.exists() or not (self.root / path).exists():
            return path
        return self.root / path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        folder = self.root / "templates"
        return (folder,) if folder.is_dir() else ()

    @property
    def outbox_dir(self) -> Path:
        return self.root / self.settings.outbox.dir

    def list_path(self, name: str) -> Path:
        return self.root / "subscribers" / f"{check_list_name(name)}.csv"

    def list_lock(self, name: str) -> Path:
        """The lock that commands changing a list's file take turns on."""
        return self.state_dir / "locks" / f"list-{check_list_name(name)}.lock"

    def list_names(self) -> list[str]:
        folder = self.root / "subscribers"
        return sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []

    def resolve_list(self, name: str | None) -> str | None:
        """The list a command works on: the one named (its file must exist), else the
        project's only list, else None when it has none."""
        if name is not None:
            path = self.list_path(name)
            if not path.is_file():
                raise ListError("no such list file", where=self.shown(path))
            return name
        names = self.list_names()
        if len(names) > 1:
            raise UsageError(f"say which list with --list (lists here: {', '.join(names)})")
        return names[0] if names else None

    # --- state ---

    def ledger(self) -> Ledger:
        from newsletter.ledger import Ledger

        return Ledger(self.state_dir / "state.db")

    @contextlib.contextmanager
    def send_lock(
        self, issue_id: str, wait: bool = False, what: str = "newsletter send"
    ) -> Iterator[None]:
        """One sender at a time per issue (a send, or a cron run). The lock is the
        operating system's (filelock), so a killed process leaves none behind; who
        holds it is written beside it, for the message the next run gets (LockHeld)."""
        from filelock import FileLock, Timeout

        folder = self.state_dir / "locks"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = FileLock(folder / f"{issue_id}.lock")
        holder = folder / f"{issue_id}.json"
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            try:
                info = json.loads(holder.read_text())
                who = f"process {info['pid']}, {info['what']}, since {info['since']}"
            except (OSError, ValueError, KeyError):
                who = "another process"
            raise LockHeld(
                f"issue {issue_id} is being sent by another run ({who}); wait for it, "
                "or run again with --wait",
                where=self.shown(self.state_dir),
            ) from None
        try:
            holder.write_text(
                json.dumps({"pid": os.getpid(), "what": what,
                            "since": self.clock.now().isoformat(timespec="seconds")})
            )  # fmt: skip
            yield
        finally:
            holder.unlink(missing_ok=True)
            lock.release()

    # --- secrets ---

    def unsubscribe_secret(self) -> bytes:
        """From the environment variable named in settings, else a random secret made
        once and kept in .newsletter/secret (mode 0600). Never printed."""
        name = self.settings.unsubscribe.secret_env
        if name and name in os.environ:
            value = os.environ[name]
            if len(value) < 16:
                raise SettingsError(
                    f"[unsubscribe] secret_env: the variable {name} is set but shorter than "
                    "16 characters; use a long random value",
                    where=self.shown(self.settings.path),
                )
            return value.encode()
        return self._stored_secret()

    def _stored_secret(self) -> bytes:
        path = self.state_dir / SECRET_FILE
        try:
            self.state_dir.mkdir(mode=0o700, exist_ok=True)
            if not path.exists():
                self._create_secret(path)
            value = path.read_text().strip()
        except OSError as exc:
            raise StateError(
                f"cannot keep the unsubscribe secret: {exc.strerror}", where=self.shown(path)
            ) from None
        if len(value) < 32:
            raise StateError(
                "the stored unsubscribe secret is damaged; delete the file to "
                "make a new one (old unsubscribe links stop working)",
                where=self.shown(path),
            )
        return value.encode()

    @staticmethod
    def _create_secret(path: Path) -> None:
        """Write to a private temporary file, then link it into place: two processes
        racing here both end up with the one secret that won."""
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(SECRET_BYTES) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
