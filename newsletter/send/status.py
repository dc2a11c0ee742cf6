"""What was sent, and what is queued: per issue, counts of each recipient state."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.clock import show
from newsletter.errors import UsageError
from newsletter.project import Project
from newsletter.state.recipients import STATES
from newsletter.state.schedule import stamp


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
        c = self.counts
        return {
            "issue": self.id, "list": self.list_name, "transport": self.transport,
            "state": self.state, "send_at": self.send_at, "started": self.started,
            "finished": self.finished, "accepted": c["sent"], "refused": c["refused"],
            "skipped": c["skipped"], "pending": c["pending"] + c["in_flight"],
            "ambiguous": c["ambiguous"],
            # kept for scripts written against earlier releases: `delivered` is what was
            # accepted; `failed` was never written by anything (refusals are counted in
            # `refused`), so it stays 0
            "delivered": c["sent"], "failed": 0,
        }  # fmt: skip

    def when(self, zone: str) -> str:
        """When it started, or for a queued issue when it will, in the project's zone."""
        moment = self.started or self.send_at
        return show(moment, zone) if moment else ""


def issue_statuses(project: Project, issue_id: str | None = None) -> list[IssueStatus]:
    """Queued issues (soonest first), then every issue in the ledger (newest first);
    or the one asked for."""
    state = project.state
    none = dict.fromkeys(STATES, 0)
    found = [
        IssueStatus(
            e.issue_id, e.list_name, e.transport, "queued", None, None, none, stamp(e.send_at)
        )
        for e in state.queue.queued(issue_id)
    ]
    found += [
        IssueStatus(
            r.id,
            r.list_name,
            r.transport,
            r.state,
            r.created_at,
            r.finished_at,
            state.ledger.counts(r.id),
        )
        for r in state.issues.all()
        if issue_id is None or r.id == issue_id
    ]
    if issue_id is not None and not found:
        raise UsageError(f"no issue {issue_id!r} in this project's ledger or schedule")
    return found


def recipient_states(project: Project, issue_id: str) -> list[dict[str, str | None]]:
    return [r._asdict() for r in project.state.ledger.recipients(issue_id)]
