"""`newsletter bounces read PATH`: the delivery status notifications an SMTP send
brought back, read from files and recorded like the webhook's events.

Every file is read whole and parsed before anything is recorded, and the events of
every file that could be read are recorded in one call (one transaction): a file
that cannot be read is named, and nothing of it is recorded. Reading the same files
again records nothing new (each event's id is made from its DSN, see dsn.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.events.dsn import Notification, read
from newsletter.events.mailfiles import Mail, MailFileError, mail_files, read_mail
from newsletter.events.model import Event

if TYPE_CHECKING:
    from newsletter.events.record import Recorded
    from newsletter.project import Project


@dataclass
class BounceCounts:
    """What was read. messages: every message; skipped: those that are no DSN (an
    auto-reply, an out-of-office, spam); dsns: the rest; recipients: their
    recipient groups (one event each); not_ours: the events of DSNs whose returned
    headers are missing or carry no X-Newsletter-Issue (never recorded: whose copy
    it was is unknown); dated_by_file: events dated by the file (the DSN had neither
    Arrival-Date nor Date); files: the files read; other_files: files of the folder
    that are no mail; unreadable: one line for each file that could not be read."""

    files: int = 0
    other_files: int = 0
    messages: int = 0
    dsns: int = 0
    skipped: int = 0
    recipients: int = 0
    not_ours: int = 0
    dated_by_file: int = 0
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BouncesRead:
    counts: BounceCounts
    recorded: Recorded | None  # None when there was nothing to record

    @property
    def unknown(self) -> int:
        """Events that name no recipient of ours: not our copies, or no recipient of
        that issue with that address (record.py's)."""
        return self.counts.not_ours + (self.recorded.unknown if self.recorded else 0)

    def data(self) -> dict[str, Any]:
        counts = asdict(self.counts)
        recorded = asdict(self.recorded) if self.recorded is not None else {}
        return {
            "files": counts["files"],
            "other_files": counts["other_files"],
            "messages": counts["messages"],
            "dsns": counts["dsns"],
            "recipients": counts["recipients"],
            "recorded": recorded.get("kept", 0),
            "repeated": recorded.get("repeated", 0),
            "unknown": self.unknown,
            "not_ours": counts["not_ours"],
            "ignored": recorded.get("ignored", 0),
            "skipped": counts["skipped"],
            "suppressed": recorded.get("suppressed", 0),
            "settled": recorded.get("settled", 0),
            "dated_by_file": counts["dated_by_file"],
            "unreadable": counts["unreadable"],
        }


def parse_path(path: Path) -> tuple[BounceCounts, list[Event]]:
    """Every message PATH holds, read into events (those of our copies), and counted."""
    found = mail_files(path)
    counts = BounceCounts(other_files=found.others)
    events: list[Event] = []
    for file in found.files:
        try:
            notes = [_read_one(mail) for mail in read_mail(file)]
        except MailFileError as exc:
            counts.unreadable.append(str(exc))
            continue
        counts.files += 1
        for note in notes:
            counts.messages += 1
            if not note.dsn:
                counts.skipped += 1
                continue
            counts.dsns += 1
            counts.recipients += len(note.events)
            if note.dated == "file":
                counts.dated_by_file += len(note.events)
            if not note.ours:
                counts.not_ours += len(note.events)
                continue
            events.extend(note.events)
    return counts, events


def _read_one(mail: Mail) -> Notification:
    try:
        return read(mail.data, mail.fallback_at)
    except Exception as exc:  # a message so broken the parser gives up on it
        raise MailFileError(
            f"cannot read it as mail ({type(exc).__name__}: {exc})", file=mail.where
        ) from None


def read_bounces(project: Project, path: Path) -> BouncesRead:
    """Read PATH's DSNs and record the events of our copies (record.py)."""
    from newsletter.events.record import record_events

    counts, events = parse_path(path)
    recorded = record_events(project, events) if events else None
    return BouncesRead(counts, recorded)
