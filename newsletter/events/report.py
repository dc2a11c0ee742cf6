"""`newsletter report ISSUE`: what became of an issue's copies, from the ledger and the
events recorded since (record.py).

Every accepted copy is in one fate at most: delivered (also when the reader later
reported it as spam or unsubscribed: it arrived), deferred (still trying), bounced
(hard or soft), dropped, or none yet (no event came: an outbox or SMTP send without
delivery status notifications, or SendGrid's events not set up). Spam reports and
unsubscribes are counted again on their own. The rates are those the big mailbox
providers judge a sender by: spam reports over delivered copies against Gmail's
0.3 %, bounces over accepted copies against the 2 % most providers tolerate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsletter.errors import IssueError
from newsletter.project import Project

COMPLAINT_LIMIT = 0.003  # Gmail's bulk sender guidelines: keep spam reports under 0.3 %
BOUNCE_LIMIT = 0.02  # bounces over 2 % of what was accepted: a list that needs cleaning


@dataclass(frozen=True)
class Rate:
    count: int
    of: int
    limit: float

    @property
    def value(self) -> float | None:
        return self.count / self.of if self.of else None

    @property
    def over(self) -> bool:
        value = self.value
        return value is not None and value > self.limit

    def data(self) -> dict[str, Any]:
        value = self.value
        return {"rate": round(value, 6) if value is not None else None,
                "limit": self.limit, "over": self.over}  # fmt: skip


@dataclass(frozen=True)
class Engagement:
    """Opens and clicks ([tracking] on), people and machines apart."""

    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    links: tuple[tuple[str, int, int], ...] = ()  # (url, clicks by people, by machines)
    people: dict[str, int] | None = None  # per recipient, with per_subscriber

    def data(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "opens": self.opens, "machine_opens": self.machine_opens,
            "clicks": self.clicks, "machine_clicks": self.machine_clicks,
            "links": [{"url": u, "clicks": p, "machine_clicks": m} for u, p, m in self.links],
        }  # fmt: skip
        if self.people is not None:
            found |= self.people
        return found


@dataclass(frozen=True)
class IssueReport:
    issue: str
    subject: str
    list_name: str
    started: str
    ledger: dict[str, int]  # the ledger's states (sent = accepted)
    fates: dict[str, int]  # record.py's fates, hard and soft, settled
    tracking: Engagement | None = None  # None: [tracking] counts neither

    @property
    def complaints(self) -> Rate:
        return Rate(self.fates["spam report"], self.delivered, COMPLAINT_LIMIT)

    @property
    def bounces(self) -> Rate:
        return Rate(self.fates["bounced"], self.accepted, BOUNCE_LIMIT)

    @property
    def accepted(self) -> int:
        return self.ledger["sent"]

    @property
    def delivered(self) -> int:
        f = self.fates
        return f["delivered"] + f["spam report"] + f["unsubscribed"]

    @property
    def no_event(self) -> int:
        f = self.fates
        reached = self.delivered + f["deferred"] + f["bounced"] + f["dropped"]
        return max(0, self.accepted - reached)

    def counts(self) -> dict[str, int]:
        f, ledger = self.fates, self.ledger
        return {
            "accepted": self.accepted, "delivered": self.delivered,
            "deferred": f["deferred"], "bounced": f["bounced"], "bounced_hard": f["hard"],
            "bounced_soft": f["soft"], "dropped": f["dropped"],
            "spam_reports": f["spam report"], "unsubscribed": f["unsubscribed"],
            "no_event_yet": self.no_event, "settled_by_events": f["settled"],
            "refused": ledger["refused"], "skipped": ledger["skipped"],
            "ambiguous": ledger["ambiguous"],
            "pending": ledger["pending"] + ledger["in_flight"],
        }  # fmt: skip

    def data(self) -> dict[str, Any]:
        return {
            "issue": self.issue, "subject": self.subject, "list": self.list_name,
            "started": self.started, **self.counts(),
            "complaint_rate": self.complaints.data(), "bounce_rate": self.bounces.data(),
            "tracking": self.tracking.data() if self.tracking else None,
        }  # fmt: skip


def issue_report(project: Project, issue_id: str) -> IssueReport:
    state = project.state
    record = state.issues.get(issue_id)
    key = state.issues.key(issue_id)
    if record is None or key is None:
        raise IssueError(f"no issue {issue_id!r} was sent from this project's state")
    ledger = state.ledger.counts(issue_id)
    fates = state.events.tally(key[0])
    tracking = project.settings.tracking
    engaged = None
    if tracking.opens or tracking.clicks:
        engaged = _engagement(project, key[0], tracking.per_subscriber)
    return IssueReport(record.id, record.rendered().shown_subject(), record.list_name,
                       record.created_at, ledger, fates, engaged)  # fmt: skip


def _engagement(project: Project, issue: int, per_subscriber: bool) -> Engagement:
    rows = project.state.events.engagement(issue)
    opens = [(p, m) for kind, _, p, m in rows if kind == "open"]
    links = tuple((url, p, m) for kind, url, p, m in rows if kind == "click")
    return Engagement(
        opens=sum(p for p, _ in opens), machine_opens=sum(m for _, m in opens),
        clicks=sum(p for _, p, _ in links), machine_clicks=sum(m for _, _, m in links),
        links=links, people=project.state.events.people(issue) if per_subscriber else None,
    )  # fmt: skip
