"""The endpoint's mailer: a thread that sends the signups' confirmation mails
(audience/confirmations.py) soon after each signup, so a request only records it and
answers at once (the same for every address). A signup wakes it; it also looks every
`every` seconds (a signup taken by another host, a mail left after a failure).
`cron` sends what is left too, so a stopped endpoint loses nothing."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from newsletter.audience.confirmations import send_all_confirmations
from newsletter.errors import NewsletterError
from newsletter.project import Project


class Mailer:
    def __init__(self, project_root: Path, every: float = 30.0) -> None:
        self.root = project_root
        self.every = every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """A signup was recorded: send its mail now (the thread starts on first use)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.once()

    def once(self) -> int:
        """Send what is due; how many were sent. A failure is one line, never the
        thread's end."""
        sent = 0
        try:
            with Project.open(self.root) as project:
                sent = send_all_confirmations(project).sent
        except NewsletterError as exc:
            print(f"error: confirmation mails: {' '.join(str(exc).split())}", file=sys.stderr)
        except Exception as exc:
            print(f"error: confirmation mails: {type(exc).__name__}: {exc}", file=sys.stderr)
        return sent
