"""A person's data on request: `subscribers export EMAIL` (everything the project
holds of an address: its rows of every list, its suppression and lifts, every
delivery, its signups) and `subscribers forget EMAIL` (all of it removed; what must
stay, the deliveries that count in each issue's figures, stays under a keyed hash of
the address, and the hash is a suppression, so no later import, add or send reaches
it again).

What the state holds of an address is gathered in one place (state/person.py), and
a list's rows are read through audience/rows.py, so signups kept in the state join
both without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from newsletter.audience.listfile import ListFile
from newsletter.audience.lists import BadRow, Subscriber, read_list
from newsletter.audience.suppressions import address_of, forgotten
from newsletter.errors import SubscriberError
from newsletter.project import Project
from newsletter.signing import FORGOTTEN_PREFIX
from newsletter.state.person import Forgot, Held, held
from newsletter.state.person import forget as forget_rows
from newsletter.transports.outbox import file_name


@dataclass(frozen=True)
class ListRow:
    """A row of a list with the address: every field of it, or, for a row a send
    skips (a duplicate), why."""

    list_name: str
    line: int
    fields: dict[str, str]
    bad: str | None = None

    def data(self) -> dict[str, object]:
        return {"list": self.list_name, "line": self.line, "fields": self.fields,
                "skipped": self.bad}  # fmt: skip


@dataclass
class PersonExport:
    email: str
    rows: list[ListRow]
    state: Held
    outbox: list[str]  # the outbox's copies addressed to it, as shown
    forgotten: bool = False  # asked to be forgotten before: the state holds its hash

    def empty(self) -> bool:
        return not self.rows and self.state.empty() and not self.outbox

    def data(self) -> dict[str, object]:
        s = self.state
        return {
            "email": self.email,
            "held": not self.empty(),
            "forgotten": self.forgotten,
            "lists": [row.data() for row in self.rows],
            "suppression": s.suppression.data() if s.suppression else None,
            "lifts": [lift.data() for lift in s.lifts],
            "issues": [d.data() for d in s.deliveries],
            "signups": s.signups,
            "left": [{"list": name, "at": at} for name, at in sorted(s.left.items())],
            "outbox": self.outbox,
        }


def export(project: Project, email: str) -> PersonExport:
    """Everything the project holds of `email`."""
    address = address_of(email)
    key = address.lower()
    rows = [row for name in project.list_names() for row in _rows_of(project, name, key)]
    gone = address in forgotten(project)
    hashed = project.address_hash(address) if gone else key
    files = [project.shown(path) for path in outbox_files(project, address)]
    return PersonExport(address, rows, held(project.state.engine, hashed), files, gone)


def _rows_of(project: Project, name: str, key: str) -> list[ListRow]:
    """The rows of the list's file with the address (its signups and the lists it left
    are the state's, in `held`: a reader who left a list is still in its file)."""
    found = []
    path = project.list_path(name)
    for row in read_list(path, project.shown(path)):
        if isinstance(row, Subscriber) and row.key == key:
            found.append(ListRow(name, row.line, dict(row.fields)))
        elif isinstance(row, BadRow) and row.value.strip().lower() == key:
            found.append(ListRow(name, row.line, {"email": row.value}, row.reason))
    return found


def outbox_files(project: Project, address: str) -> list[Path]:
    """The outbox's copies of every issue (and test copy) addressed to it."""
    folder = project.outbox_dir
    if not folder.is_dir():
        return []
    name = file_name(address)
    return sorted(p for p in (*folder.glob(f"*/{name}"), *folder.glob(f"*/test/{name}"))
                  if p.is_file())  # fmt: skip


@dataclass
class ForgetReport:
    email: str
    hashed: str
    lists: dict[str, list[int]] = field(default_factory=dict)  # list -> the lines removed
    state: Forgot | None = None
    outbox: int = 0  # files deleted
    before: bool = False  # it had been forgotten before (a row came back since)

    def data(self) -> dict[str, object]:
        state = self.state
        return {
            "email": self.email,
            "hash": self.hashed,
            "forgotten_before": self.before,
            "lists": {name: lines for name, lines in self.lists.items()},
            "suppression_deleted": state.suppression.data() if state and state.suppression
            else None,
            "lifts_hashed": state.lifts if state else 0,
            "recipients_hashed": state.deliveries if state else 0,
            "recipients_skipped": state.skipped if state else 0,
            "signups_and_leaves": state.web if state else 0,
            "outbox_deleted": self.outbox,
        }  # fmt: skip


def lists_with(project: Project, address: str) -> list[ListFile]:
    """The lists whose files have the address, each read whole now (one that cannot
    be read is an error before anything changes)."""
    found = []
    for name in project.list_names():
        path = project.list_path(name)
        listfile = ListFile.open(path, project.shown(path))
        listfile.lock = project.list_lock(name)
        if listfile.has(address.lower()):
            found.append(listfile)
    return found


def forget(project: Project, email: str) -> ForgetReport:
    """Remove `email` from every list file (atomically each, under the list's lock),
    from the state (its suppression deleted, its lifts and deliveries kept under its
    hash, the hash recorded as a suppression) and from the outbox."""
    address = address_of(email)
    if address.startswith(FORGOTTEN_PREFIX):
        raise SubscriberError("is a forgotten address's hash: nothing more to forget",
                              recipient=address)  # fmt: skip
    key = address.lower()
    hashed = project.address_hash(address)
    done = ForgetReport(address, hashed, before=address in forgotten(project))
    for listfile in lists_with(project, address):  # all read before any is changed
        done.lists[listfile.path.stem] = listfile.remove(key)
    engine = project.state.engine
    with engine.erasing():
        done.state = forget_rows(engine, key, hashed, project.clock.now())
    for path in outbox_files(project, address):
        path.unlink(missing_ok=True)
        done.outbox += 1
    return done
