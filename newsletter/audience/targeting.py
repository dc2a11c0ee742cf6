"""Who an issue goes to: its audience. One list, as ever; or several (`--list` again:
each address once, the first list's row for its fields), less the addresses of
exclusion lists (`--exclude-list`), kept to the rows an expression holds for
(`--where`, where.py), less those accepted for an earlier issue (`--not-sent ISSUE`);
or a segment named in newsletter.toml (`--segment NAME`) that says some of these.

With a segment, its lists come first, then those of --list; its exclusions and
--exclude-list both apply; its `where` and --where must both hold.

`Targeting` is what the command line (or the schedule, or the ledger) says; `target`
checks it against the project (the lists exist, the fields are theirs, the issue is
in the ledger) and `select` streams its subscribers, counting each step (`Steps`)
for the dry run. Every row is read through rows.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from newsletter.audience.lists import BadRow, Subscriber
from newsletter.audience.rows import Kept, kept, list_fields, list_rows
from newsletter.errors import IssueError, ListError, SettingsError, UsageError
from newsletter.project import Project, check_list_name
from newsletter.settings import LIST_NAME
from newsletter.where import Expression, WhereError, both, parse_where

MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class Targeting:
    """An audience as given: lists, exclusion lists, an expression, a segment and an
    earlier issue, each as written (nothing checked against the project yet)."""

    lists: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    where: str | None = None
    segment: str | None = None
    not_sent: str | None = None

    @classmethod
    def of(cls, given: Targeting | str | None) -> Targeting:
        """A list's name is the audience of that list alone; None, no audience yet."""
        if isinstance(given, Targeting):
            return given
        return cls(lists=(given,)) if given is not None else cls()

    @property
    def first_list(self) -> str | None:
        return self.lists[0] if self.lists else None

    @property
    def plain(self) -> bool:
        """One list (or none) and nothing else: a send as before targeting."""
        return len(self.lists) <= 1 and not (
            self.exclude or self.where or self.segment or self.not_sent
        )

    @property
    def empty(self) -> bool:
        return self == Targeting()

    def data(self) -> dict[str, Any]:
        """As JSON keeps it (the schedule's options, the issue's record): what was given."""
        found: dict[str, Any] = {"lists": list(self.lists)}
        if self.exclude:
            found["exclude"] = list(self.exclude)
        for key in ("where", "segment", "not_sent"):
            if getattr(self, key):
                found[key] = getattr(self, key)
        return found

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Targeting:
        return cls(tuple(data.get("lists", ())), tuple(data.get("exclude", ())),
                   data.get("where"), data.get("segment"), data.get("not_sent"))  # fmt: skip

    def shown(self) -> str:
        """`news + extra − old, where plan == "paid", not sent for 2026-11`."""
        text = " + ".join(self.lists)
        text += "".join(f" {MINUS} {name}" for name in self.exclude)
        if self.segment:
            text = f"segment {self.segment}" + (f" + {text}" if text else "")
        if self.where:
            text += f", where {self.where}"
        if self.not_sent:
            text += f", not sent for {self.not_sent}"
        return text

    def differs(self, other: Targeting) -> str:
        """What differs from `other`, in a few words ('' when nothing does)."""
        words = {"lists": "lists", "exclude": "exclusions", "where": "--where",
                 "segment": "segment", "not_sent": "--not-sent"}  # fmt: skip
        return ", ".join(w for k, w in words.items() if getattr(self, k) != getattr(other, k))


def check_names(audience: Targeting) -> None:
    """The lists' names, as the command line gives them: letters, digits, '.', '_', '-'."""
    for name in audience.lists:
        check_list_name(name)
    for name in audience.exclude:
        if not LIST_NAME.fullmatch(name):
            raise UsageError(
                f"--exclude-list {name!r}: use letters, digits, '.', '_' or '-' (the file is "
                "subscribers/<list>.csv)"
            )


@dataclass(frozen=True)
class Target:
    """An audience checked against the project: its segment spelled out, its lists
    found, its expressions parsed and their fields found on the lists."""

    given: Targeting
    lists: tuple[str, ...]
    exclude: tuple[str, ...]
    where: Expression | None
    not_sent: str | None

    @property
    def first_list(self) -> str:
        return self.lists[0]

    def shown(self) -> str:
        """The audience spelled out: a segment as its lists and expression."""
        spelled = Targeting(self.lists, self.exclude, self.where.text if self.where else None,
                           None, self.not_sent).shown()  # fmt: skip
        return f"segment {self.given.segment}: {spelled}" if self.given.segment else spelled

    def data(self) -> dict[str, Any]:
        """As the issue's record keeps it: as given, and as shown."""
        return {**self.given.data(), "shown": self.shown()}


def target(project: Project, audience: Targeting) -> Target:
    """`audience` as the project has it; raises what it lacks: a segment (usage), a
    list (ListError), a field the lists lack (usage), the issue of --not-sent."""
    check_names(audience)
    lists, exclude, seg_where = audience.lists, audience.exclude, None
    if audience.segment is not None:
        segments = project.settings.segments
        segment = segments.get(audience.segment)
        if segment is None:
            known = ", ".join(sorted(segments)) or "none; add [segments.NAME] to newsletter.toml"
            raise UsageError(f"--segment {audience.segment!r}: no such segment (segments: "
                             f"{known})")  # fmt: skip
        lists = tuple(dict.fromkeys(segment.lists + lists))
        exclude = tuple(dict.fromkeys(segment.exclude + exclude))
        seg_where = parse_where(segment.where) if segment.where else None
    if not lists:
        named = f" (segment {audience.segment} names none)" if audience.segment else ""
        raise UsageError(f"missing --list LIST{named}")
    for name in lists + exclude:
        project.resolve_list(name)  # its file must exist
    where = _parse_option(audience.where)
    columns = {name: list_fields(project, name) for name in lists}
    _check_fields(project, where, columns, None)
    _check_fields(project, seg_where, columns, audience.segment)
    if audience.not_sent is not None and project.state.issues.get(audience.not_sent) is None:
        raise IssueError(f"no issue {audience.not_sent!r} in the ledger, so nobody to leave "
                         "out for --not-sent (see newsletter status)")  # fmt: skip
    return Target(audience, lists, exclude, both(seg_where, where), audience.not_sent)


def _parse_option(text: str | None) -> Expression | None:
    if text is None:
        return None
    try:
        return parse_where(text)
    except WhereError as exc:
        raise UsageError(f"--where: {exc}") from None


def _check_fields(
    project: Project,
    where: Expression | None,
    columns: dict[str, list[str]],
    segment: str | None,
) -> None:
    if where is None:
        return
    known = {column for found in columns.values() for column in found}
    missing = sorted(where.fields - known)
    if not missing:
        return
    shown = "; ".join(f"{name}: {', '.join(c for c in found if c)}"
                      for name, found in columns.items())  # fmt: skip
    what = f"no list has the field {missing[0]!r} (the lists' columns: {shown})"
    if segment is None:
        raise UsageError(f"--where: {what}")
    raise SettingsError(what, file=project.shown(project.settings.path),
                        setting=f"[segments.{segment}] where")  # fmt: skip


@dataclass
class Steps:
    """How many each step of the selection leaves: after each list (each address
    once), each exclusion list, the expression, and the earlier issue."""

    lists: list[tuple[str, int]] = field(default_factory=list)
    exclude: list[tuple[str, int]] = field(default_factory=list)
    where: tuple[str, int] | None = None
    not_sent: tuple[str, int] | None = None

    def data(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = [{"list": n, "count": c} for n, c in self.lists]
        found += [{"exclude": n, "count": c} for n, c in self.exclude]
        if self.where:
            found.append({"where": self.where[0], "count": self.where[1]})
        if self.not_sent:
            found.append({"not_sent": self.not_sent[0], "count": self.not_sent[1]})
        return found

    def shown(self) -> str:
        """`news 1,204 · + extra 1,530 · − old 1,401 · where … 512`."""
        parts = [f"{'+ ' * (n > 0)}{name} {count:,}" for n, (name, count) in enumerate(self.lists)]
        parts += [f"{MINUS} {name} {count:,}" for name, count in self.exclude]
        if self.where:
            parts.append(f"where {self.where[0]} {self.where[1]:,}")
        if self.not_sent:
            parts.append(f"not sent for {self.not_sent[0]} {self.not_sent[1]:,}")
        return " · ".join(parts)


def select(
    project: Project,
    found: Target,
    on_bad: Callable[[BadRow], None],
    refuse_broken: bool = True,
    steps: Steps | None = None,
) -> Iterator[Subscriber]:
    """The audience's subscribers, each address once, in the order of its lists (the
    first list's row wins); bad rows go to `on_bad`. With `refuse_broken`, a row
    whose quoting is broken (in any list read, exclusions too) is an error. The
    exclusion lists and the earlier issue's addresses are read now, before the
    first subscriber is asked for (the freeze streams them inside its transaction,
    where the state cannot be read meanwhile)."""
    steps = steps if steps is not None else Steps()
    excluded = [_keys(project, name, refuse_broken) for name in found.exclude]
    sent = _sent(project, found.not_sent)
    states = {name: kept(project, name) for name in found.lists}  # the signups, the leaves
    good = functools.partial(_good, project, on_bad=on_bad, refuse_broken=refuse_broken,
                             states=states)  # fmt: skip
    return _selected(found, good, steps, excluded, sent)


def _selected(
    found: Target,
    good: Callable[[str], Iterator[Subscriber]],
    steps: Steps,
    excluded: list[set[str]],
    sent: set[str],
) -> Iterator[Subscriber]:
    if len(found.lists) == 1 and not (excluded or found.where or sent):  # one list alone
        yield from _one_list(found.lists[0], good, steps)
        return
    seen: set[str] | None = set() if len(found.lists) > 1 else None  # one list: its own check
    passed = [0] * len(excluded)  # through each exclusion list
    kept = [0, 0]  # through the expression; through --not-sent
    steps.lists = [(name, 0) for name in found.lists]
    total, n = 0, 0
    try:
        for n, name in enumerate(found.lists):
            for subscriber in good(name):
                key = subscriber.key
                if seen is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                total += 1
                if excluded and not _through(key, excluded, passed):
                    continue
                if found.where is not None and not found.where(subscriber.fields):
                    continue
                kept[0] += 1
                if key in sent:
                    continue
                kept[1] += 1
                yield subscriber
            steps.lists[n] = (name, total)
    finally:  # what was counted, even when the caller stops early
        steps.lists[n] = (found.lists[n], total)
        steps.exclude = list(zip(found.exclude, passed, strict=True))
        steps.where = (found.where.text, kept[0]) if found.where is not None else None
        steps.not_sent = (found.not_sent, kept[1]) if found.not_sent else None


def _one_list(
    name: str, good: Callable[[str], Iterator[Subscriber]], steps: Steps
) -> Iterator[Subscriber]:
    """A list alone, as a send has always read it (its reader lets each address
    through once), counted."""
    total = 0
    try:
        for subscriber in good(name):
            total += 1
            yield subscriber
    finally:
        steps.lists = [(name, total)]


def _through(key: str, excluded: list[set[str]], passed: list[int]) -> bool:
    """Whether `key` is on none of the exclusion lists, counting it through each it
    is not on (in order, until the one that has it)."""
    for n, keys in enumerate(excluded):
        if key in keys:
            return False
        passed[n] += 1
    return True


def _good(
    project: Project,
    name: str,
    on_bad: Callable[[BadRow], None],
    refuse_broken: bool,
    states: dict[str, Kept] | None = None,
) -> Iterator[Subscriber]:
    """A list's subscribers; its bad rows (marked with the list) to `on_bad`.
    `states`: the lists' parts kept in the state, read before (see rows.kept)."""
    path = project.list_path(name)
    shown = project.shown(path)
    for row in list_rows(project, name, (states or {}).get(name)):
        if isinstance(row, BadRow):
            if row.broken and refuse_broken:
                raise ListError(
                    f"{row.reason}, so the rows near it may be wrong: nothing is sent to "
                    "this list until it is fixed (or --force skips that row)",
                    file=shown,
                    line=row.line,
                )
            on_bad(replace(row, file=shown))
        else:
            yield row


def _keys(project: Project, name: str, refuse_broken: bool) -> set[str]:
    """The addresses of an exclusion list (its bad rows exclude nobody)."""
    return {s.key for s in _good(project, name, lambda row: None, refuse_broken)}


def _sent(project: Project, issue_id: str | None) -> set[str]:
    if issue_id is None:
        return set()
    keys = project.state.ledger.sent_keys(issue_id)
    if keys is None:
        raise IssueError(f"no issue {issue_id!r} in the ledger (--not-sent)")
    return set(keys)


def first_of(project: Project, found: Target) -> Subscriber | None:
    """The audience's first subscriber (a preview's, a check's), bad rows aside."""
    return next(select(project, found, lambda row: None, refuse_broken=False), None)


def find_in(project: Project, found: Target, email: str) -> Subscriber | None:
    """The subscriber `email` of the audience, if it is in it."""
    key = email.lower()
    rows = select(project, found, lambda row: None, refuse_broken=False)
    return next((s for s in rows if s.key == key), None)
