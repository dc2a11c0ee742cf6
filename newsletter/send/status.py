"""What was sent, and what is queued: per issue, its subject and counts of each
recipient state. A send the editor stopped (`schedule --cancel`) is *cancelled*, and
so is a queued issue taken off the schedule before it started."""

from __future__ import annotations

from dataclasses import dataclass, replace

from newsletter.audience.targeting import Targeting
from newsletter.clock import show
from newsletter.errors import IssueError, NewsletterError
from newsletter.project import Project
from newsletter.render.issue_view import IssueFields
from newsletter.state.issues import IssueRecord
from newsletter.state.recipients import STATES
from newsletter.state.schedule import Queued, stamp


@dataclass(frozen=True)
class IssueStatus:
    id: str
    list_name: str
    transport: str | None  # None: queued for the project's [transport] kind
    state: str  # queued | sending | done | cancelled
    started: str | None  # when its send started; None while queued
    finished: str | None
    counts: dict[str, int]
    send_at: str | None = None  # queued: when cron sends it (UTC)
    subject: str | None = None  # None: the queued articles cannot be rendered now
    problem: str | None = None  # why not (cron would fail the same way)
    audience: str | None = None  # who it goes to, when not its list alone (as shown)
    # what the provider's events said since (state/events.py's tally): None while queued
    fates: dict[str, int] | None = None

    @property
    def delivered(self) -> int:
        """Copies the provider's events say arrived (a later spam report or
        unsubscribe included: they arrived)."""
        f = self.fates or {}
        return f.get("delivered", 0) + f.get("spam report", 0) + f.get("unsubscribed", 0)

    def data(self) -> dict[str, object]:
        c, f = self.counts, self.fates or {}
        return {
            "issue": self.id, "subject": self.subject, "list": self.list_name,
            "transport": self.transport, "state": self.state, "problem": self.problem,
            "send_at": self.send_at, "started": self.started,
            "finished": self.finished, "accepted": c["sent"], "refused": c["refused"],
            "skipped": c["skipped"], "pending": c["pending"] + c["in_flight"],
            "ambiguous": c["ambiguous"],
            # kept for scripts written against earlier releases: `delivered` is what was
            # accepted; `failed` was never written by anything (refusals are counted in
            # `refused`), so it stays 0
            "delivered": c["sent"], "failed": 0,
            **({"audience": self.audience} if self.audience else {}),
            # what the provider's events said of the accepted copies (delivery events:
            # SendGrid's Event Webhook, `bounces read`)
            "events": {"delivered": self.delivered, "bounced": f.get("bounced", 0),
                       "bounced_hard": f.get("hard", 0), "deferred": f.get("deferred", 0),
                       "dropped": f.get("dropped", 0), "spam_reports": f.get("spam report", 0),
                       "unsubscribed": f.get("unsubscribed", 0),
                       "settled": f.get("settled", 0)},
        }  # fmt: skip

    def when(self, zone: str) -> str:
        """When it started, or for a queued issue when it will, in the project's zone."""
        moment = self.started or self.send_at
        return show(moment, zone) if moment else ""


def issue_statuses(project: Project, issue_id: str | None = None) -> list[IssueStatus]:
    """Queued issues (soonest first), then every issue in the ledger (newest first),
    then issues taken off the schedule before they started; or the one asked for."""
    state = project.state
    found = [_queued(project, e) for e in state.queue.queued(issue_id)]
    records = [r for r in state.issues.all() if issue_id is None or r.id == issue_id]
    found += [_started(project, r) for r in records]
    seen = {s.id for s in found}
    for entry in state.queue.cancelled():
        if entry.issue_id not in seen and issue_id in (None, entry.issue_id):
            seen.add(entry.issue_id)
            found.append(replace(_queued(project, entry), state="cancelled"))
    if issue_id is not None and not found:
        raise IssueError(f"no issue {issue_id!r} in this project's ledger or schedule")
    return found


def _started(project: Project, record: IssueRecord) -> IssueStatus:
    ledger = project.state.ledger
    frozen = project.state.issues.get(record.id)
    subject = frozen.rendered().shown_subject() if frozen is not None else None
    shown = "cancelled" if ledger.cancelled(record.id) else record.state
    audience = frozen.audience_data() if frozen is not None else None
    key = project.state.issues.key(record.id)
    fates = project.state.events.tally(key[0]) if key else None
    return IssueStatus(record.id, record.list_name, record.transport, shown, record.created_at,
                       record.finished_at, ledger.counts(record.id), subject=subject,
                       audience=_shown(audience), fates=fates)  # fmt: skip


def _queued(project: Project, entry: Queued) -> IssueStatus:
    """A queued issue, with the subject its articles render now (as cron will)."""
    subject, problem = None, None
    try:
        paths = [project.root / a for a in entry.articles]
        rendered = project.render(project.read_issue(paths, entry.issue_id),
                                  IssueFields.of(entry.fields))  # fmt: skip
        subject = rendered.shown_subject()
    except NewsletterError as exc:
        problem = str(exc)
    none = dict.fromkeys(STATES, 0)
    return IssueStatus(entry.issue_id, entry.list_name, entry.transport, "queued", None, None,
                       none, stamp(entry.send_at), subject, problem,
                       _shown(entry.options.get("audience")))  # fmt: skip


def _shown(audience: object) -> str | None:
    """An audience kept as JSON, as shown (None: the issue's list alone)."""
    if not isinstance(audience, dict):
        return None
    return str(audience.get("shown") or Targeting.from_data(audience).shown())


def recipient_states(project: Project, issue_id: str) -> list[dict[str, str | None]]:
    return [r._asdict() for r in project.state.ledger.recipients(issue_id)]
