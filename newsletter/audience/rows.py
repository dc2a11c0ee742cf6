"""A list's rows as every command sees them: the one place a list is read for a
send, a count, a preview or a check. Today that is its CSV file; the confirmed
signups kept in the state join here (so no caller reads a list's file for its
subscribers directly)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from newsletter.audience.lists import BadRow, Subscriber, list_columns, read_list
from newsletter.project import Project


def list_rows(project: Project, name: str) -> Iterator[Subscriber | BadRow]:
    """Every row of list `name`, in order, as Subscribers and BadRows (duplicates
    are BadRows)."""
    path = project.list_path(name)
    return read_list(path, project.shown(path))


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
