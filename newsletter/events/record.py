"""Delivery events into the ledger, in one transaction per call: each event once (by
its id), on the recipient it names, moving that recipient's fate only forward.

    processed                 the provider took the copy: nothing to add, but an
                              ambiguous recipient is settled as accepted (never resent)
    delivered, deferred       the fate; delivered also keeps when (machines' opens and
                              clicks come within [tracking] machine_seconds of it)
    bounce (hard or soft),    the fate, with the provider's words; a hard bounce, a
    dropped, spamreport,      spam report, an unsubscribe and a drop for a suppression
    unsubscribe,              reason become a suppression at once (which a send checks
    group_unsubscribe         at its next batch)
    open, click               counted only when [tracking] opens / clicks is on: per
                              issue (and link), people and machines apart; per
                              recipient too with per_subscriber
    group_resubscribe         ignored: only a double opt-in lifts a suppression here

Every delivery event (all but the engagement and group_resubscribe) proves the
provider took the copy, so each settles an ambiguous recipient.

An event is on a recipient when the issue it names holds that recipient (by its
number, else its address) with that address, in a state a copy was handed over in
(sent, in flight, ambiguous), and when the ledger has its copy's message id, the
event's begins with it. Anything else is unknown: counted, its id logged by the
caller, nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsletter.audience.suppressions import BOUNCED, SPAM_REPORT, UNSUBSCRIBED
from newsletter.events.model import DELIVERY, Event
from newsletter.project import Project
from newsletter.settings import TrackingSettings
from newsletter.state.events import RANK, DeliveryEvents, Fate, Known

HANDED_OVER = ("sent", "in_flight", "ambiguous")
NO_ID = "(no X-Message-Id)"  # what the SendGrid transport records when none came
# SendGrid's reasons for a drop that mean "never write to it again", and ours for them
DROP_REASONS = {
    "bounced address": BOUNCED,
    "unsubscribed address": UNSUBSCRIBED,
    "spam reporting address": SPAM_REPORT,
    "invalid": "invalid",
}
_FATE_OF = {"deferred": "deferred", "delivered": "delivered", "dropped": "dropped",
            "bounce": "bounced", "spamreport": "spam report", "unsubscribe": "unsubscribed",
            "group_unsubscribe": "unsubscribed"}  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    """What a call recorded: events kept (new), repeated (kept before, or twice in
    this call), unknown (on no recipient of ours), ignored (not recorded: opens or
    clicks with [tracking] off, a group resubscribe), suppressed (suppressions
    added), settled (ambiguous recipients now accepted)."""

    kept: int = 0
    repeated: int = 0
    unknown: int = 0
    ignored: int = 0
    suppressed: int = 0
    settled: int = 0
    unknown_ids: tuple[str, ...] = field(default=(), compare=False)  # for the log

    def data(self) -> dict[str, int]:
        return {"kept": self.kept, "repeated": self.repeated, "unknown": self.unknown,
                "ignored": self.ignored, "suppressed": self.suppressed,
                "settled": self.settled}  # fmt: skip


def record_events(
    project: Project, events: Sequence[Event], now: datetime | None = None
) -> Recorded:
    """Record `events` (in one transaction); then an issue whose last ambiguous
    recipients were settled is done."""
    now = now or project.clock.now()
    state = project.state
    with state.transaction():
        work = _Work(state.events, project.settings.tracking, now.isoformat(),
                     _links(project))  # fmt: skip
        work.run(events)
        work.suppressed = state.suppressions.insert(work.suppressions, now)
    for issue_id in sorted(work.settled_issues):
        state.ledger.finish_if_done(issue_id, now)
    return work.recorded()


_Ours = tuple[tuple[str, str], ...]


def _links(project: Project) -> _Ours:
    """(start, name) of our own per-reader links, which a click keeps by name only (their
    query names the reader)."""
    unsubscribe = project.settings.unsubscribe.url.split("?", 1)[0]
    base = unsubscribe.rsplit("/", 1)[0]
    return (
        (base + "/preferences", "(preferences page)"),
        (base + "/subscribe/", "(signup page)"),
        (unsubscribe, "(unsubscribe link)"),
    )


class _Work:
    """One call's events, applied in the order they happened."""

    def __init__(
        self, table: DeliveryEvents, tracking: TrackingSettings, stamp: str, ours: _Ours
    ) -> None:
        self.table = table
        self.tracking = tracking
        self.stamp = stamp
        self.ours = ours
        self.kept = self.repeated = self.ignored = self.settled = self.suppressed = 0
        self.unknown: list[str] = []
        self.suppressions: list[tuple[str, str, str]] = []
        self.settled_issues: set[str] = set()
        self.fates: dict[int, Fate] = {}
        self.moved: set[int] = set()
        self.counts: dict[tuple[int, str, str], list[int]] = {}

    def recorded(self) -> Recorded:
        return Recorded(self.kept, self.repeated, len(self.unknown), self.ignored,
                        self.suppressed, self.settled, tuple(self.unknown))  # fmt: skip

    def run(self, events: Sequence[Event]) -> None:
        fresh = self._fresh(events)
        matched = self._match(fresh)
        self.fates = self.table.fates(known.seq for _, known in matched)
        before = set(self.fates)
        kept = []
        for event, known in sorted(matched, key=lambda pair: pair[0].at):
            self._apply(event, known)
            kept.append((event.id, event.source, known.issue, known.seq, event.kind, event.at))
        self.table.keep(kept, self.stamp)
        moved = (self.fates[seq] for seq in sorted(self.moved))
        self.table.put_fates(moved, before, self.stamp)
        if self.counts:
            self.table.count(self.counts)
        self.kept = len(kept)

    def _fresh(self, events: Sequence[Event]) -> list[Event]:
        """The events to record: each id once, not kept before, of a kind recorded."""
        wanted, ids = [], set()
        for event in events:
            if not self._recorded_kind(event.kind):
                self.ignored += 1
            elif event.id in ids:
                self.repeated += 1
            else:
                ids.add(event.id)
                wanted.append(event)
        seen = self.table.seen([e.id for e in wanted])
        self.repeated += sum(e.id in seen for e in wanted)
        return [e for e in wanted if e.id not in seen]

    def _recorded_kind(self, kind: str) -> bool:
        if kind == "open":
            return self.tracking.opens
        if kind == "click":
            return self.tracking.clicks
        return kind != "group_resubscribe"

    def _match(self, events: list[Event]) -> list[tuple[Event, Known]]:
        """Each event with the recipient it is on; the others counted unknown."""
        issues = self.table.issue_keys(e.issue for e in events if e.issue)
        numbered = self.table.by_number(e.recipient for e in events if e.recipient is not None)
        wanted: dict[str, set[str]] = {}
        for event in events:
            if event.recipient is None and event.issue in issues:
                wanted.setdefault(event.issue, set()).add(event.email.lower())
        by_address = {
            (issue_id, key): known
            for issue_id, keys in wanted.items()
            for key, known in self.table.by_address(*issues[issue_id], keys).items()
        }
        found = []
        for event in events:
            issue = issues.get(event.issue) if event.issue else None
            key = event.email.lower()
            known = (
                (numbered.get(event.recipient) if event.recipient is not None else None)
                or by_address.get((event.issue or "", key))
            )  # fmt: skip
            if issue is None or known is None or not _on(event, known, issue[0]):
                self.unknown.append(event.id)
            else:
                found.append((event, known))
        return found

    def _apply(self, event: Event, known: Known) -> None:
        kind = event.kind
        if kind in DELIVERY and known.state == "ambiguous":
            message_id = (event.message_id or "").split(".", 1)[0] or NO_ID
            if self.table.settle(known, message_id, self.stamp):
                self.settled += 1
                self.settled_issues.add(str(event.issue))
        if kind in ("open", "click"):
            self._engage(event, known)
            return
        new = _FATE_OF.get(kind)
        if new is None:  # processed
            return
        fate = self._fate(known, event.at)
        if kind == "delivered":
            fate.delivered_at = min(fate.delivered_at or event.at, event.at)
        if kind == "deferred":
            fate.deferrals += 1
        if RANK[new] > RANK.get(fate.state, 0) or (
            new == "bounced" and event.bounce == "hard" and fate.bounce == "soft"
        ):
            fate.state, fate.reason, fate.at = new, event.reason or None, event.at
            fate.bounce = (event.bounce or None) if new == "bounced" else None
        elif RANK[new] == RANK[fate.state] and not fate.reason:
            fate.reason = event.reason or None
        self.moved.add(known.seq)
        reason = _suppression(event)
        if reason:
            self.suppressions.append((event.email, reason, f"{event.source} event"))

    def _fate(self, known: Known, at: int) -> Fate:
        """The recipient's fate so far; a new one has no state yet ("": below all)."""
        fate = self.fates.get(known.seq)
        if fate is None:
            fate = self.fates[known.seq] = Fate(known.seq, known.issue, "", at=at)
        return fate

    def _engage(self, event: Event, known: Known) -> None:
        """An open or a click, counted: a machine's when the provider says so, or when
        it came within machine_seconds of the delivery."""
        fate = self.fates.get(known.seq)
        delivered = fate.delivered_at if fate else None
        machine = event.machine or (
            delivered is not None and 0 <= event.at - delivered <= self.tracking.machine_seconds
        )
        url = "" if event.kind == "open" else self._url(event.url)
        counted = self.counts.setdefault((known.issue, event.kind, url), [0, 0])
        counted[machine] += 1
        if not self.tracking.per_subscriber:
            return
        fate = self._fate(known, event.at)
        if not fate.state:  # an open or a click: it arrived
            fate.state = "delivered"
        if event.kind == "open":
            fate.machine_opens += machine
            fate.opens += not machine
        else:
            fate.machine_clicks += machine
            fate.clicks += not machine
        self.moved.add(known.seq)

    def _url(self, url: str) -> str:
        """A clicked link as counted: our per-reader links by name (their query names
        the reader), any other as it is."""
        for start, name in self.ours:
            if url.startswith(start):
                return name
        return url or "(no link)"


def _on(event: Event, known: Known, issue: int) -> bool:
    """Whether `event` is on the recipient `known` of the issue keyed `issue`."""
    if known.issue != issue or known.email_key != event.email.lower():
        return False
    if known.state not in HANDED_OVER:
        return False
    ours = known.message_id
    if ours and ours != NO_ID and event.message_id:
        return event.message_id.strip("<>").startswith(ours.strip("<>"))
    return True


def _suppression(event: Event) -> str | None:
    """The suppression reason an event brings, if it brings one."""
    if event.kind == "bounce":
        return BOUNCED if event.bounce == "hard" else None
    if event.kind == "spamreport":
        return SPAM_REPORT
    if event.kind in ("unsubscribe", "group_unsubscribe"):
        return UNSUBSCRIBED
    if event.kind == "dropped":  # its reason, after the status the webhook may put first
        words = _STATUS.sub("", event.reason).strip().rstrip(".").lower()
        return DROP_REASONS.get(words)
    return None


_STATUS = re.compile(r"^\d\.\d{1,3}\.\d{1,3}\s+")
