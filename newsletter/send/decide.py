"""What a send of a plan does, decided from the ledger and the queue as they are now:
resume the issue's frozen send, find it done, or start it (as the send it was queued
for). The send and its dry run both ask this one function, so a dry run says what
the send will do and refuses what it refuses, with the same words and exit."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.audience.targeting import Targeting
from newsletter.clock import show
from newsletter.errors import IssueError
from newsletter.send.plan import SendPlan, frozen_audience
from newsletter.state.issues import IssueRecord
from newsletter.state.schedule import Queued


@dataclass(frozen=True)
class Decision:
    record: IssueRecord | None  # frozen by an earlier send: this one resumes it
    queued_for: str | None = None  # a fresh send of a queued issue: when it was for, shown

    @property
    def done(self) -> bool:
        """Sent to everyone already: a send now sends nothing more."""
        return self.record is not None and self.record.state == "done"


def decide(plan: SendPlan) -> Decision:
    """Raises IssueError for a send that must not go: an issue started, or queued,
    for another list than the plan's."""
    record = plan.frozen()
    if record is not None:
        same_list(plan, record)
        return Decision(record)
    return Decision(None, _queued_for(plan))


def same_list(plan: SendPlan, record: IssueRecord) -> None:
    """The plan's audience is the one the issue was frozen with (its list, when one
    list alone said who it goes to)."""
    frozen = frozen_audience(record)
    if frozen.plain and plan.audience.plain and record.list_name != plan.list_name:
        raise IssueError(
            f"issue {plan.id} was started for list {record.list_name}, not "
            f"{plan.list_name}; give it another --id to send it to this list"
        )
    if frozen != plan.audience:
        shown = (record.audience_data() or {}).get("shown") or frozen.shown()
        raise IssueError(
            f"issue {plan.id} was started for {_named(shown, frozen)}, not "
            f"{_named(plan.audience_shown, plan.audience)} (the {frozen.differs(plan.audience)} "
            "differ); give it another --id to send it to this audience"
        )


def _named(shown: str, audience: Targeting) -> str:
    return f"list {shown}" if audience.plain else shown


def _queued_for(plan: SendPlan) -> str | None:
    """When the issue is queued (for this list: this send starts it, and cron will not
    send it again), the time it was queued for; queued for another list, an error."""
    project = plan.project
    for entry in project.state.queue.queued(plan.id):
        queued = queued_audience(entry)
        if entry.list_name != plan.list_name or queued != plan.audience:
            what = f"list {entry.list_name}" if queued.plain else queued.shown()
            raise IssueError(
                f"issue {plan.id} is queued for {what} "
                f"({show(entry.send_at, project.settings.newsletter.timezone)}); give this "
                f"send another --id, or cancel that (newsletter schedule --cancel {plan.id})"
            )
        return show(entry.send_at, project.settings.newsletter.timezone)
    return None


def queued_audience(entry: Queued) -> Targeting:
    """The audience a queued issue was queued for (its list alone, unless its options
    say more)."""
    data = entry.options.get("audience")
    if isinstance(data, dict):
        return Targeting.from_data(data)
    return Targeting(lists=(entry.list_name,))
