"""The schedule: issues queued to be sent at a time.

An entry is queued until its issue is frozen (started, in the transaction that
freezes it, by `cron` or by a `send` of the same issue) or the editor cancels it
(cancelled): an issue is queued or in the ledger, never both. At most one entry per
issue is queued at a time (a partial unique index says so). Times are kept in UTC,
to the second, as text that sorts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from newsletter.state.engine import Conflict, Engine

COLUMNS = "n, issue_id, list, articles, transport, send_at, given, state, reason, force, options"


def stamp(moment: datetime) -> str:
    """UTC, to the second, in a form that sorts as text: the schedule's key."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Queued:
    """An entry of the schedule."""

    n: int
    issue_id: str
    list_name: str
    articles: list[str]
    transport: str | None  # None: the project's [transport] kind when it is sent
    send_at: datetime
    given: str  # the time as the editor meant it, with its offset
    state: str  # queued | started | cancelled
    reason: str | None  # why its send could not start yet
    force: bool = False  # send even if `check` finds errors then
    options: dict[str, Any] = field(default_factory=dict)  # --subject, --number; audience

    @property
    def fields(self) -> dict[str, Any]:
        """The options the render takes (subject, preheader, number)."""
        return {k: v for k, v in self.options.items() if k != "audience"}

    def data(self) -> dict[str, object]:
        return {
            "issue": self.issue_id, "list": self.list_name, "articles": self.articles,
            "transport": self.transport, "send_at": stamp(self.send_at), "given": self.given,
            "state": self.state, "reason": self.reason, **self.options,
        }  # fmt: skip


def _queued(row: tuple) -> Queued:
    n, issue_id, list_name, articles, transport, send_at, given, state, reason, force, opts = row
    return Queued(n, issue_id, list_name, json.loads(articles), transport,
                  datetime.fromisoformat(send_at), given, state, reason, bool(force),
                  json.loads(opts or "{}"))  # fmt: skip


def start_queued(engine: Engine, issue_id: str, list_name: str, now: datetime) -> None:
    """The issue is being frozen for `list_name` (in the caller's transaction): its
    queued entry for that list, if it has one, is started."""
    engine.execute(
        "UPDATE schedule SET state = 'started', reason = NULL, updated_at = ? "
        "WHERE issue_id = ? AND list = ? AND state = 'queued'",
        (now.isoformat(), issue_id, list_name),
    )


class AlreadyQueued(Conflict):
    """The issue has an entry queued already."""


class Queue:
    """The schedule table: the queue of issues to send at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        issue_id: str,
        list_name: str,
        articles: list[str],
        transport: str | None,
        send_at: datetime,
        given: str,
        now: datetime,
        force: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Queued:
        """`options`: what the send renders with (subject, number), as JSON values."""
        try:
            n = self.engine.value(
                "INSERT INTO schedule (issue_id, list, articles, transport, send_at, given, "
                "state, reason, force, options, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', NULL, ?, ?, ?, ?) RETURNING n",
                (issue_id, list_name, json.dumps(articles), transport, stamp(send_at), given,
                 int(force), json.dumps(options or {}, sort_keys=True), now.isoformat(),
                 now.isoformat()),
            )  # fmt: skip
        except Conflict:
            raise AlreadyQueued(f"issue {issue_id} is queued already") from None
        found = self.get(int(n))
        assert found is not None
        return found

    def get(self, n: int) -> Queued | None:
        row = self.engine.one(f"SELECT {COLUMNS} FROM schedule WHERE n = ?", (n,))
        return _queued(row) if row else None

    def queued(self, issue_id: str | None = None) -> list[Queued]:
        """Queued entries, soonest first (of one issue, or all)."""
        if issue_id is None:
            rows = self.engine.all(
                f"SELECT {COLUMNS} FROM schedule WHERE state = 'queued' ORDER BY send_at, n"
            )
        else:
            rows = self.engine.all(
                f"SELECT {COLUMNS} FROM schedule WHERE state = 'queued' AND issue_id = ? "
                "ORDER BY send_at, n",
                (issue_id,),
            )
        return [_queued(row) for row in rows]

    def cancelled(self) -> list[Queued]:
        """Entries taken off the schedule, the latest first."""
        rows = self.engine.all(
            f"SELECT {COLUMNS} FROM schedule WHERE state = 'cancelled' ORDER BY updated_at DESC, n"
        )
        return [_queued(row) for row in rows]

    def due(self, now: datetime) -> list[Queued]:
        rows = self.engine.all(
            f"SELECT {COLUMNS} FROM schedule{{schedule_due}} "
            "WHERE state = 'queued' AND send_at <= ? ORDER BY send_at, n",
            (stamp(now),),
        )
        return [_queued(row) for row in rows]

    def mark(self, n: int, state: str, now: datetime, reason: str | None = None) -> bool:
        """Move a queued entry on (compare-and-set: only from queued)."""
        return (
            self.engine.changed(
                "UPDATE schedule SET state = ?, reason = ?, updated_at = ? "
                "WHERE n = ? AND state = 'queued'",
                (state, reason, now.isoformat(), n),
            )
            == 1
        )

    def note(self, n: int, reason: str, now: datetime) -> None:
        """Why a due entry could not be sent yet; it stays queued."""
        self.engine.execute(
            "UPDATE schedule SET reason = ?, updated_at = ? WHERE n = ? AND state = 'queued'",
            (reason, now.isoformat(), n),
        )
