"""What was sent: per issue, counts of each recipient state, from the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.errors import UsageError
from newsletter.project import Project


@dataclass(frozen=True)
class IssueStatus:
    id: str
    list_name: str
    transport: str
    state: str  # sending | done
    started: str
    finished: str | None
    counts: dict[str, int]

    def data(self) -> dict[str, object]:
        return {
            "issue": self.id, "list": self.list_name, "transport": self.transport,
            "state": self.state, "started": self.started, "finished": self.finished,
            "delivered": self.counts["sent"], "failed": self.counts["failed"],
            "refused": self.counts["refused"], "skipped": self.counts["skipped"],
            "pending": self.counts["pending"] + self.counts["in_flight"],
            "ambiguous": self.counts["ambiguous"],
        }  # fmt: skip


def issue_statuses(project: Project, issue_id: str | None = None) -> list[IssueStatus]:
    """Every issue in the ledger (newest first), or the one asked for."""
    ledger = project.ledger()
    try:
        records = ledger.issues()
        if issue_id is not None:
            records = [r for r in records if r.id == issue_id]
            if not records:
                raise UsageError(f"no issue {issue_id!r} in this project's ledger")
        return [
            IssueStatus(
                r.id,
                r.list_name,
                r.transport,
                r.state,
                r.created_at,
                r.finished_at,
                ledger.counts(r.id),
            )
            for r in records
        ]
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
