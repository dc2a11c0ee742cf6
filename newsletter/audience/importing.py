"""`subscribers import`: merge another tool's export into a list and the suppressions.

Rows the export marks as unsubscribed, bounced, complained or blocklisted become
suppressions (never list rows); every other row is added to subscribers/<list>.csv, or
updates the row with the same address (case-insensitive) in place. An address already
suppressed in the project state is not added back, and an address asked to be
forgotten is neither added nor recorded (its row is skipped, with why).

What is written, and in which order (the two live in different files, so there is no one
transaction over both):

1. Everything is read and checked first: the export, the list (its header and every row),
   the suppressions. Any error here changes nothing.
2. The export's suppressions, in one SQLite transaction (all or none).
3. The list, through ListFile.rewrite (a temporary file, fsynced, renamed over the old
   one: the old list or the new one, never half).

If step 3 fails, the suppressions of step 2 stay recorded and the list is as it was. That
is the safe way round: a suppression only ever stops mail, and these are the old tool's
own records of people who left or bounced; running the import again completes it (both
steps are idempotent). The other order could leave new rows in the list whose removal
from the old tool had not yet been recorded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.audience.imports import ImportedRow, SkippedRow, field_name, read_export
from newsletter.audience.listfile import ListFile, Record
from newsletter.audience.lists import BadRow
from newsletter.audience.suppressions import forgotten
from newsletter.errors import ListError

if TYPE_CHECKING:
    from newsletter.project import Project
    from newsletter.state.suppressions import Suppressions

FORGOTTEN_ROW = "asked to be forgotten (subscribers forget)"
SHOWN_ROWS = 20  # rejected and skipped rows kept in the summary, in file order


@dataclass
class ImportSummary:
    list_name: str
    list_file: str  # as shown
    file: str  # the export, as shown
    format: str
    created: bool = False  # the list did not exist before
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0  # rows the export marks (unsubscribed, bounced...): suppressions now
    new_suppressions: int = 0  # of those, how many the project did not have yet
    skipped: int = 0  # rows not imported on purpose (see `skipped_rows`)
    rejected: int = 0  # rows with no valid address, duplicates, unreadable
    rejected_rows: list[BadRow] = field(default_factory=list)
    skipped_rows: list[SkippedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # the list has no column for

    @property
    def imported(self) -> int:
        return self.added + self.updated + self.unchanged + self.suppressed

    def data(self) -> dict[str, object]:
        """The summary for --json."""
        return {
            "list": self.list_name,
            "list_file": self.list_file,
            "file": self.file,
            "format": self.format,
            "created": self.created,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "suppressed": self.suppressed,
            "new_suppressions": self.new_suppressions,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "rejected_rows": [
                {"line": r.line, "reason": r.reason, "value": r.value} for r in self.rejected_rows
            ],
            "skipped_rows": [
                {"line": r.line, "email": r.email, "reason": r.reason} for r in self.skipped_rows
            ],
            "ignored_columns": self.ignored_columns,
        }


def import_list(project: Project, list_name: str, file: Path, fmt: str = "auto") -> ImportSummary:
    """Merge the export `file` (format `fmt`, or "auto") into list `list_name`."""
    list_path = project.list_path(list_name)
    shown_list = project.shown(list_path)
    export = read_export(file, project.shown(file), fmt)
    summary = ImportSummary(list_name, shown_list, export.shown, export.format)
    summary.rejected_rows = export.rejected[:SHOWN_ROWS]
    summary.rejected = len(export.rejected)
    usable = export.usable
    if not usable and not export.skipped and export.rejected:
        first = export.rejected[0]
        value = f" {first.value!r}" if first.value else ""
        raise ListError(
            f"no row could be imported: {len(export.rejected)} rejected, the first at line "
            f"{first.line}:{value} {first.reason}",
            file=export.shown,
        )
    usable, skipped = _not_forgotten(project, usable, export.skipped)
    suppressions = project.state.suppressions
    marked = [row for row in usable if row.suppression]
    active = _active(usable, skipped, suppressions, summary)

    # Step 1: the list, checked and planned before anything is written.
    existed = list_path.exists()
    if existed:
        listfile = ListFile.open(list_path, shown_list)
    else:
        names = ["email", "name", *(f for f in export.fields if f != "name")]
        listfile = ListFile.create(list_path, shown_list, names)
    listfile.lock = project.list_lock(list_name)
    columns = _column_map(listfile, export.fields)
    summary.ignored_columns = [
        f for f in export.fields if f not in columns and _has_value(active.values(), f)
    ]
    plan = _Plan(listfile, columns, active)
    if existed:
        for record in listfile.records():  # reads (and checks) the whole file now
            plan.line(record)
    _count(summary, plan, active)
    summary.suppressed = len(marked)

    # Step 2: the suppressions, in one transaction.
    if marked:
        source = f"import:{export.format}"
        rows = [(row.email, row.suppression or "", source) for row in marked]
        summary.new_suppressions = suppressions.add_many(rows, project.clock.now())

    # Step 3: the list, atomically (only when something changes).
    if summary.added or summary.updated:
        final = _Plan(listfile, columns, active)
        _write(listfile, final)
        summary.created = not existed
        _count(summary, final, active)
    return summary


def _not_forgotten(
    project: Project, usable: list[ImportedRow], skipped: list[SkippedRow]
) -> tuple[list[ImportedRow], list[SkippedRow]]:
    """The rows of addresses asked to be forgotten are skipped: neither a list row nor
    a suppression in clear brings one back."""
    gone = forgotten(project)
    if not gone:
        return usable, skipped
    kept, skipped = [], list(skipped)
    for row in usable:
        if row.email in gone:
            skipped.append(SkippedRow(row.line, row.email, FORGOTTEN_ROW))
        else:
            kept.append(row)
    return kept, skipped


def _active(
    usable: list[ImportedRow],
    skipped: list[SkippedRow],
    suppressions: Suppressions,
    summary: ImportSummary,
) -> dict[str, ImportedRow]:
    """The rows that go on the list, by address: not marked by the export, not
    suppressed here (those are skipped, with why)."""
    suppressed_before = suppressions.keys()
    active: dict[str, ImportedRow] = {}
    skipped = list(skipped)
    for row in usable:
        if row.suppression:
            continue
        if (found := row.email.lower()) in suppressed_before:
            why = suppressions.get(found)
            reason = "suppressed in the project state"
            if why is not None:
                reason += f" ({why.reason}, from {why.source})"
            skipped.append(SkippedRow(row.line, row.email, reason))
            continue
        active[found] = row
    skipped.sort(key=lambda r: r.line)
    summary.skipped, summary.skipped_rows = len(skipped), skipped[:SHOWN_ROWS]
    return active


def _count(summary: ImportSummary, plan: _Plan, active: dict[str, ImportedRow]) -> None:
    summary.updated, summary.unchanged = plan.updated, plan.unchanged
    summary.added = len(active) - plan.updated - plan.unchanged


def _write(listfile: ListFile, plan: _Plan) -> None:
    folder = listfile.path.parent
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ListError(f"cannot create the folder: {exc.strerror}",
                            file=listfile.shown) from None  # fmt: skip
    listfile.rewrite(plan.rewrite)


def _has_value(rows: Iterable[ImportedRow], name: str) -> bool:
    """Whether any row going to the list has a value for this field."""
    return any((row.name if name == "name" else row.fields.get(name, "")) for row in rows)


def _column_map(listfile: ListFile, fields: list[str]) -> dict[str, str]:
    """Our field name -> the list's column it fills (matched by field_name, so a list's
    "Phone Number" column takes an export's phone_number)."""
    by_name = {field_name(c): c for c in reversed(listfile.columns) if c != "email"}
    return {f: by_name[f] for f in fields if f in by_name}


class _Plan:
    """The merge, row by row: an existing row whose address the export has is updated
    (rewritten only if a value changes; an empty value in the export leaves the list's
    value alone), every other row is kept byte for byte, new addresses go at the end."""

    def __init__(
        self, listfile: ListFile, columns: dict[str, str], active: dict[str, ImportedRow]
    ) -> None:
        self.listfile = listfile
        self.columns = columns
        self.active = active
        self.done: set[str] = set()
        self.updated = 0
        self.unchanged = 0

    def line(self, record: Record) -> str:
        key = self.listfile.key_of(record)
        if key is None or key in self.done or key not in self.active:
            return record.raw
        if len(record.cells) > len(self.listfile.columns):
            return record.raw  # a ragged row: left for `subscribers check` to report
        self.done.add(key)
        before = self.listfile.values(record)
        after = {**before, **self._values(self.active[key], blank=False)}
        changed = self.listfile.format(after)
        if changed == self.listfile.format(before):
            self.unchanged += 1
            return record.raw
        self.updated += 1
        return changed

    def rewrite(self, records: Iterator[Record]) -> Iterator[str]:
        for record in records:
            yield self.line(record)
        for key, row in self.active.items():
            if key not in self.done:
                yield self.listfile.format({"email": row.email, **self._values(row, blank=True)})

    def _values(self, row: ImportedRow, blank: bool) -> dict[str, str]:
        values = {"name": row.name, **row.fields}
        return {
            self.columns[f]: v
            for f, v in values.items()
            if f in self.columns and (blank or v.strip())
        }
