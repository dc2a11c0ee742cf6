"""`subscribers sync` (and every `cron` run with the SendGrid transport): pull
SendGrid's unsubscribes, group unsubscribes, bounces, spam reports, blocks and invalid
addresses into the project's suppressions, only what is new since the last sync.

Each list's cursor (the time it was pulled up to) is kept in the state and moved in
the same transaction as the suppressions it brought, so a sync that fails half way
pulls the rest next time and never skips anything. Each pull starts an hour before
the cursor: an entry SendGrid records late is still seen (a repeat changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.audience.suppressions import UNSUBSCRIBED, forgotten
from newsletter.project import Project

OVERLAP = 3600


@dataclass
class SyncReport:
    pulled: dict[str, int] = field(default_factory=dict)  # SendGrid's list -> entries seen
    new: int = 0  # suppressions recorded now

    def data(self) -> dict[str, object]:
        return {"pulled": self.pulled, "new_suppressions": self.new}


def sync(project: Project) -> SyncReport:
    from newsletter.transports.sendgrid.suppressions import KINDS, SuppressionReader

    settings = project.settings.sendgrid
    reader = SuppressionReader(settings, _api_key(project), project.clock, settings.timeout)
    report = SyncReport()
    until = int(project.clock.now().timestamp())
    for kind, (reason, _) in KINDS.items():
        source = f"sendgrid {kind}"
        cursor = project.state.cursors.get(source)
        since = max(0, cursor - OVERLAP) if cursor is not None else 0
        entries = list(reader.entries(kind, since, until))
        report.pulled[kind] = len(entries)
        report.new += _record(project, source, until, [(e.email, reason) for e in entries])
    group = settings.unsubscribe_group
    if group:
        emails = reader.group(group)
        report.pulled[f"group {group}"] = len(emails)
        report.new += _record(project, f"sendgrid group {group}", until,
                              [(e, UNSUBSCRIBED) for e in emails])  # fmt: skip
    return report


def _api_key(project: Project) -> str:
    from newsletter.transports import sendgrid_api_key

    return sendgrid_api_key(project.settings, project.place)


def _record(project: Project, source: str, until: int, rows: list[tuple[str, str]]) -> int:
    """The suppressions and the moved cursor, in one transaction; how many are new."""
    state, now = project.state, project.clock.now()
    gone = forgotten(project)  # its hash is suppressed: never again in clear
    rows = [(e, why) for e, why in rows if e not in gone] if gone else rows
    with state.transaction():
        new = state.suppressions.insert(((e, why, source) for e, why in rows), now)
        state.cursors.move(source, until, now)
        return new
