"""A list's rows as every command sees them: the one place a list is read for a
send, a count, a preview or a check. That is its CSV file's rows, then the list's
confirmed signups kept in the state (those `subscribers pull` has not written into
the file yet), marked as coming from the form; an address the file has already is
the file's row. Readers who left the list on the preferences page are left out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from newsletter.audience.lists import BadRow, Subscriber, list_columns, read_list
from newsletter.project import Project
from newsletter.state.signups import Signup
from newsletter.text import squash


@dataclass(frozen=True)
class Kept:
    """What the state adds to a list (its confirmed signups, by key) and takes from
    it (who left it), read at once."""

    signups: dict[str, Signup]
    left: set[str]


def kept(project: Project, name: str) -> Kept:
    """The state's part of list `name`, read now. A caller that streams a list's rows
    into the state (the freeze: COPY on PostgreSQL, where nothing else can be read
    meanwhile) reads it first and passes it to list_rows."""
    state = project.state
    return Kept({s.email_key: s for s in state.signups.confirmed(name)}, state.leaves.keys(name))


def list_rows(
    project: Project, name: str, state: Kept | None = None
) -> Iterator[Subscriber | BadRow]:
    """Every row of list `name`, in order, as Subscribers and BadRows (duplicates
    are BadRows); `state`: its part read before (else it is read now, at the call)."""
    path = project.list_path(name)
    rows = read_list(path, project.shown(path))
    found = state if state is not None else kept(project, name)
    if found.signups:
        rows = _with_signups(rows, dict(found.signups))
    return _without(rows, found.left) if found.left else rows


def _without(rows: Iterator[Subscriber | BadRow], left: set[str]) -> Iterator[Subscriber | BadRow]:
    """The rows but those of readers who left the list on the preferences page."""
    return (row for row in rows if not (isinstance(row, Subscriber) and row.key in left))


def _with_signups(
    rows: Iterator[Subscriber | BadRow], signups: dict[str, Signup]
) -> Iterator[Subscriber | BadRow]:
    for row in rows:
        if isinstance(row, Subscriber):
            signups.pop(row.key, None)
        yield row
    for signup in signups.values():
        fields = {"email": signup.email, **signup.fields}
        name = squash(fields.get("name", ""))
        yield Subscriber(signup.email, name, fields, line=0, form=True)


def find_members(project: Project, name: str, emails: Iterable[str]) -> dict[str, Subscriber]:
    """The subscribers of list `name` with these (normalised) addresses, by key (lower
    case), read in one pass that stops once all are found; those not on it left out."""
    wanted = {email.lower() for email in emails}
    found: dict[str, Subscriber] = {}
    if not wanted:
        return found
    for row in list_rows(project, name):
        if isinstance(row, Subscriber) and row.key in wanted and row.key not in found:
            found[row.key] = row
            if len(found) == len(wanted):
                break
    return found


def first_member(project: Project, name: str) -> Subscriber | None:
    return next((row for row in list_rows(project, name) if isinstance(row, Subscriber)), None)


def list_fields(project: Project, name: str) -> list[str]:
    """The fields the rows of list `name` have (its columns, lower-cased)."""
    path = project.list_path(name)
    return list_columns(path, project.shown(path))
