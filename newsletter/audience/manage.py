"""What `subscribers list|add|remove|check` do, as a library. The CSV files stay the
source of truth for who is on a list; suppressions (in the state) say who is never
sent to again, whatever a list says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.listfile import ListFile, Record
from newsletter.audience.lists import BadRow, Subscriber
from newsletter.audience.rows import list_rows
from newsletter.audience.suppressions import (
    REMOVED,
    RESUBSCRIBABLE_SOURCES,
    forgotten,
    needs_force,
    refuse_forgotten,
    why_suppressed,
)
from newsletter.errors import ListError, SubscriberError, UsageError
from newsletter.project import Project
from newsletter.state.suppressions import Suppression
from newsletter.text import squash


@dataclass
class ListCounts:
    name: str
    shown: str
    active: int = 0  # valid, not suppressed: who a send goes to
    suppressed: int = 0
    bad: int = 0  # rows a send skips: invalid, missing address, duplicates...
    duplicates: int = 0

    def data(self) -> dict[str, object]:
        return {"list": self.name, "file": self.shown, "active": self.active,
                "suppressed": self.suppressed, "bad_rows": self.bad,
                "duplicates": self.duplicates}  # fmt: skip


@dataclass(frozen=True)
class Member:
    subscriber: Subscriber
    suppression: Suppression | None

    def data(self) -> dict[str, object]:
        s = self.subscriber
        return {"email": s.email, "name": s.name, "line": s.line, "fields": s.fields,
                "state": "suppressed" if self.suppression else "active",
                "reason": why_suppressed(self.suppression),
                "source": "form" if s.form else "file"}  # fmt: skip


class _Suppressed:
    """The suppression of each address, forgotten ones by their hash."""

    def __init__(self, project: Project) -> None:
        self.by_key = {s.email.lower(): s for s in project.state.suppressions.all()}
        self.hasher = forgotten(project).hasher  # None: nobody was forgotten

    def get(self, key: str) -> Suppression | None:
        found = self.by_key.get(key)
        if found is None and self.hasher is not None:
            return self.by_key.get(self.hasher(key))
        return found


def list_counts(project: Project) -> list[ListCounts]:
    """Every list of the project, with its counts."""
    suppressed = _Suppressed(project)
    found = []
    for name in project.list_names():
        path = project.list_path(name)
        counts = ListCounts(name, project.shown(path))
        for row in list_rows(project, name):
            if isinstance(row, BadRow):
                counts.bad += 1
                counts.duplicates += row.reason.startswith("duplicate")
            elif suppressed.get(row.key) is not None:
                counts.suppressed += 1
            else:
                counts.active += 1
        found.append(counts)
    return found


def members(project: Project, name: str) -> Iterator[Member]:
    """The valid subscribers of a list, in file order, each with its suppression."""
    _existing(project, name)
    suppressed = _Suppressed(project)
    for row in list_rows(project, name):
        if isinstance(row, Subscriber):
            yield Member(row, suppressed.get(row.key))


def bad_rows(project: Project, name: str) -> tuple[list[BadRow], int]:
    """Every bad row of a list (line and why), and how many rows it has in all."""
    _existing(project, name)
    bad, total = [], 0
    for row in list_rows(project, name):
        total += 1
        if isinstance(row, BadRow):
            bad.append(row)
    return bad, total


RESUBSCRIBED = "they asked to come back (subscribers add --resubscribe)"


@dataclass
class Added:
    email: str
    line: int  # where the row went
    suppression: Suppression | None = None  # still in force: sends skip the address
    lifted: Suppression | None = None  # lifted by --resubscribe


def add(
    project: Project,
    name: str,
    email: str,
    display_name: str = "",
    fields: dict[str, str] | None = None,
    resubscribe: bool = False,
) -> Added:
    """Append a subscriber to a list. A suppressed address is added to the file but
    stays suppressed (sends skip it) unless `resubscribe`, which lifts a suppression
    the subscriber can take back (their own unsubscribe, a manual removal), keeping
    a record of the lift; any other suppression is refused before anything is
    written, and so is an address asked to be forgotten."""
    path = _existing(project, name)
    try:
        address = normalise_address(email)
    except BadAddress as exc:
        raise UsageError(f"EMAIL {email!r}: not a valid address: {exc}") from None
    listfile = ListFile.open(path, project.shown(path))
    listfile.lock = project.list_lock(name)
    values = {"email": address, "name": squash(display_name)}
    for key, value in (fields or {}).items():
        column = squash(key).lower()
        if column not in listfile.columns:
            raise ListError(
                f"has no column {column!r} for --field {key} "
                f"(columns: {', '.join(listfile.columns)})",
                file=listfile.shown,
                line=1,
            )
        values[column] = value
    if display_name and "name" not in listfile.columns:
        raise ListError("has no name column for --name", file=listfile.shown, line=1)
    key = address.lower()
    added = Added(address, 0)
    last_line = 1

    def change(records: Iterator[Record]) -> Iterator[str]:
        nonlocal last_line
        for record in records:
            if listfile.key_of(record) == key:
                raise ListError(f"{address} is on list {name} already", file=listfile.shown,
                                line=record.line)  # fmt: skip
            last_line = record.line + max(record.raw.count("\n") - 1, 0)
            yield record.raw
        yield listfile.format(values)

    refuse_forgotten(project, address, f"adding it to list {name}")
    suppressions = project.state.suppressions
    found = suppressions.get(address)
    if found and resubscribe and found.source not in RESUBSCRIBABLE_SOURCES:
        force = " --force" if needs_force(found) else ""
        raise SubscriberError(
            f"{why_suppressed(found)} is not lifted by --resubscribe (only the reader's own "
            "unsubscribe or a removal is): nothing changed; `newsletter subscribers "
            f"suppressions lift {address} --reason TEXT{force}` lifts it, then add it",
            recipient=address,
        )
    listfile.rewrite(change)
    added.line = last_line + 1
    if found and resubscribe:
        now = project.clock.now()
        added.lifted = suppressions.lift(address, "add --resubscribe", RESUBSCRIBED, now)
    added.suppression = None if added.lifted else found
    return added


@dataclass
class Removed:
    email: str
    rows: list[int]  # the lines removed
    suppressed: bool  # a new suppression was recorded (False: one was there already)


def _on_list(listfile: ListFile, key: str) -> bool | None:
    """Whether a row of the list has the address (None: the list cannot be read to
    the end, so nobody can say; the removal then suppresses it all the same)."""
    try:
        return listfile.has(key)
    except ListError:
        return None


def remove(project: Project, name: str, email: str, anyway: bool = False) -> Removed:
    """Take an address off a list (every row of it) and record a manual suppression,
    so no list brings it back by accident. An address that is not on the list is an
    error (a typo would otherwise suppress somebody else, silently), unless `anyway`."""
    path = _existing(project, name)
    try:
        address = normalise_address(email)
    except BadAddress:
        address = email.strip()  # a bad row can be removed by what it says
    listfile = ListFile.open(path, project.shown(path))
    listfile.lock = project.list_lock(name)
    key = address.lower()
    if not anyway and _on_list(listfile, key) is False:
        raise ListError(
            f"{address} is not on list {name}: nothing changed (subscribers remove "
            f"--suppress suppresses an address that is on no list)",
            file=project.shown(path),
        )

    new = address not in forgotten(project) and project.state.suppressions.add(
        address, REMOVED, "manual", project.clock.now()
    )  # a forgotten address is suppressed by its hash, never again in clear
    try:
        removed = listfile.remove(key)
    except ListError as exc:  # the suppression stands: say so
        raise ListError(
            f"{exc.message}; {address} is suppressed all the same (no send reaches it)",
            where=exc.where,
        ) from None
    return Removed(address, removed, new)


@dataclass
class Pulled:
    shown: str  # the list's file
    added: list[str] = field(default_factory=list)  # the addresses written into it
    there: int = 0  # confirmed signups the file had already
    dropped: set[str] = field(default_factory=set)  # fields the file has no column for


def pull(project: Project, name: str) -> Pulled:
    """Write the list's confirmed signups into its file (appended; every other row
    kept byte for byte), so an editor can commit them; they are then the file's rows
    (`pulled` in the state, with their evidence of consent). A signup whose address
    the file has already is marked pulled and not written again; run twice, or after
    a crash between the file and the state, nothing is written twice."""
    path = _existing(project, name)
    signups = project.state.signups
    waiting = list(signups.confirmed(name))
    listfile = ListFile.open(path, project.shown(path))
    pulled = Pulled(listfile.shown)
    if not waiting:
        return pulled
    listfile.lock = project.list_lock(name)

    def change(records: Iterator[Record]) -> Iterator[str]:
        keys = set()
        for record in records:
            keys.add(listfile.key_of(record))
            yield record.raw
        for signup in waiting:
            if signup.email_key in keys:
                pulled.there += 1
                continue
            pulled.dropped |= set(signup.fields) - set(listfile.columns)
            values = {k: v for k, v in signup.fields.items() if k in listfile.columns}
            pulled.added.append(signup.email)
            yield listfile.format({**values, "email": signup.email})

    listfile.rewrite(change)
    signups.pulled([s.n for s in waiting], project.clock.now())
    return pulled


def _existing(project: Project, name: str) -> Path:
    path = project.list_path(name)
    if not path.exists():  # a folder or a pipe there is named when it is read
        raise ListError("no such list file", file=project.shown(path))
    return path
