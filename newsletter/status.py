"""What was sent, and what is queued: per issue, counts of each recipient state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.errors import UsageError
from newsletter.ledger import STATES
from newsletter.project import Project
from newsletter.queue import Queue
from newsletter.when import show, stamp


@dataclass(frozen=True)
class IssueStatus:
    id: str
    list_name: str
    transport: str | None  # None: queued for the project's [transport] kind
    state: str  # queued | sending | done
    started: str | None  # when its send started; None while queued
    finished: str | None
    counts: dict[str, int]
    send_at: str | None = None  # queued: when cron sends it (UTC)

    def data(self) -> dict[str, object]:
        return {
            "issue": self.id, "list": self.list_name, "transport": self.transport,
            "state": self.state, "send_at": self.send_at, "started": self.started,
            "finished": self.finished,
            "delivered": self.counts["sent"], "failed": self.counts["failed"],
            "refused": self.counts["refused"], "skipped": self.counts["skipped"],
            "pending": self.counts["pending"] + self.counts["in_flight"],
            "ambiguous": self.counts["ambiguous"],
        }  # fmt: skip

    def when(self, zone: str) -> str:
        """When it started, or for a queued issue when it will, in the project's zone."""
        moment = self.started or self.send_at
        return show(datetime.fromisoformat(moment), zone) if moment else ""


def issue_statuses(project: Project, issue_id: str | None = None) -> list[IssueStatus]:
    """Queued issues (soonest first), then every issue in the ledger (newest first);
    or the one asked for."""
    ledger = project.ledger()
    try:
        none = dict.fromkeys(STATES, 0)
        found = [
            IssueStatus(
                e.issue_id, e.list_name, e.transport, "queued", None, None, none, stamp(e.send_at)
            )
            for e in Queue(ledger).queued(issue_id)
        ]
        found += [
            IssueStatus(
                r.id,
                r.list_name,
                r.transport,
                r.state,
                r.created_at,
                r.finished_at,
                ledger.counts(r.id),
            )
            for r in ledger.issues()
            if issue_id is None or r.id == issue_id
        ]
        if issue_id is not None and not found:
            raise UsageError(f"no issue {issue_id!r} in this project's ledger or schedule")
        return found
    finally:
        ledger.close()


def recipient_states(project: Project, issue_id: str) -> list[dict[str, str | None]]:
    ledger = project.ledger()
    try:
        return [
            {"email": email, "state": state, "message_id": msgid, "reason": reason}
            for email, state, msgid, reason in ledger.recipients(issue_id)
        ]
    finally:
        ledger.close()
