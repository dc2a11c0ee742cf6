"""The whole state as rows, out and in: what `newsletter state export` writes and
`newsletter state import` reads, the same for either engine, so a state moves from a
laptop's SQLite file to a shared PostgreSQL and back.

The rows are JSON lines: a header (the format, the schema's steps, the state's id),
then per table a line naming it and its columns and one JSON array per row, then an
end line with every table's count (a cut-off file is refused). An export is read in
one transaction, so it is one moment of the state.

An import is one transaction too: all of it or nothing. It merges, and never makes
a row twice: a suppression, a lift, a schedule entry, a cursor or a back-off already
there is kept (and a suppression this state lifted since stays lifted); an address
forgotten in either state is forgotten in the merge (person.ImportForgets: an old
export's rows of it come in under its hash, its clear suppression not at all); an
issue already there must be the same issue, sent as far (else the import
is refused: an issue is never made half of one state and half of another); a new
issue gets its place at the end of the recipients' sequence. An import into an
empty state makes it the exported state (its id and its secret); into one that
signs links with another secret and has sent issues, it is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsletter.errors import StateError
from newsletter.state.engine import Conflict, Engine
from newsletter.state.identity import Identity
from newsletter.state.migrations import STEPS
from newsletter.state.person import ImportForgets
from newsletter.state.secrets import FORGET

FORMAT = 1
CHUNK = 5_000

# every table of the state but migrations and state_meta (the header carries both),
# in an order that keeps references pointing backwards
TABLES: dict[str, tuple[str, ...]] = {
    "secrets": ("name", "value", "created_at"),
    "suppression_lifts": ("email_key", "email", "reason", "source", "suppressed_at",
                          "lifted_at", "lifted_by", "lift_reason"),
    "suppressions": ("email_key", "email", "reason", "source", "created_at"),
    "sync_cursors": ("source", "synced_until", "updated_at"),
    "cron_backoff": ("issue_id", "failures", "retry_at", "updated_at"),
    "issues": ("id", "list", "transport", "articles", "content", "content_hash", "state",
               "created_at", "finished_at", "audience"),
    "issue_keys": ("n", "issue_id", "first_seq", "last_seq", "recipients", "frontier"),
    "deliveries": ("seq", "issue", "email_key", "email", "name", "fields", "state", "batch",
                   "message_id", "reason", "updated_at"),
    "batches": ("issue", "number", "first_seq", "last_seq", "size", "state", "message_id",
                "reason", "claimed_at", "updated_at"),
    "events": ("id", "source", "issue", "seq", "kind", "at", "recorded_at"),
    "fates": ("seq", "issue", "state", "bounce", "reason", "delivered_at", "deferrals", "opens",
              "machine_opens", "clicks", "machine_clicks", "at", "updated_at"),
    "engagement": ("issue", "kind", "url", "people", "machines"),
    "schedule": ("n", "issue_id", "list", "articles", "transport", "send_at", "given", "state",
                 "reason", "created_at", "updated_at", "force", "options"),
    "list_leaves": ("list", "email_key", "email", "source", "created_at"),
    "signups": ("n", "list", "email_key", "email", "fields", "state", "form", "client",
                "asked_at", "mail_due", "mail_claimed_at", "mailed_at", "mail_error",
                "confirmed_at", "confirmed_client", "lifted", "pulled_at", "welcome_due",
                "welcome_issue"),
}  # fmt: skip
ORDER = {
    "issue_keys": "n",
    "deliveries": "seq",
    "batches": "issue, number",
    "schedule": "n",
    "issues": "created_at, id",
    "signups": "n",
    "fates": "seq",
    "engagement": "issue, kind, url",
}
# not moved: the header carries the schema and the id; claims name runs of this
# state's hosts, gone after a move (a batch in flight without one is a dead run's);
# rate limits count the last hour's requests of this state's endpoint
OWN_TABLES = {*TABLES, "migrations", "state_meta", "claims", "rate_limits"}


# --- out ---


def export_lines(engine: Engine, now: datetime) -> Generator[str, None, None]:
    """The state as JSON lines (without their newlines), read as one moment."""
    identity = Identity(engine)
    state_id = identity.ensure(now)
    with engine.transaction():  # writers wait: every table of the same moment
        yield _dump({
            "newsletter_state": FORMAT,
            "schema": [row[0] for row in engine.all("SELECT name FROM migrations ORDER BY name")],
            "id": state_id,
            "engine": engine.name,
            "exported_at": now.isoformat(timespec="seconds"),
        })  # fmt: skip
        counts = {}
        for table, columns in TABLES.items():
            yield _dump({"table": table, "columns": list(columns)})
            order = f" ORDER BY {ORDER[table]}" if table in ORDER else " ORDER BY 1"
            count = 0
            for row in engine.stream(f"SELECT {', '.join(columns)} FROM {table}{order}"):
                yield _dump(list(row))
                count += 1
            counts[table] = count
        yield _dump({"end": counts})


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- in ---


@dataclass
class Imported:
    """What an import did: per kind of row, how many were new and how many were
    there already."""

    state_id: str = ""  # the id of the exported state
    adopted: bool = False  # the state was empty and is the exported one now
    secret: str = "none"  # taken, same, replaced (an empty state's), none
    new: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)

    def data(self) -> dict[str, object]:
        return {"state_id": self.state_id, "adopted": self.adopted, "secret": self.secret,
                "new": self.new, "already": self.already}  # fmt: skip


Numbered = Iterable[tuple[int, str]]  # (line number, the line)
Hashing = Callable[[], Callable[[str], str]] | None


def import_lines(
    engine: Engine, lines: Numbered, where: str, now: datetime, hashing: Hashing = None
) -> Imported:
    """Merge an export into the state, all of it or nothing (one transaction).
    `hashing`: the hash of forgotten addresses (the project's), asked for when an
    address was forgotten in either state (see person.ImportForgets)."""
    reader = _Reader(iter(lines), where)
    header = reader.header()
    identity = Identity(engine)
    identity.ensure(now)
    with engine.transaction():
        merge = _Merge(engine, where, now, empty=not identity.holds_anything())
        merge.forgets = ImportForgets(engine, hashing)
        merge.result.state_id = str(header["id"])
        for table, columns, rows in reader.tables():
            merge.table(table, columns, rows)
        merge.finish()
        if merge.empty:
            identity.replace(str(header["id"]), now)
            merge.result.adopted = True
    return merge.result


class _Reader:
    """The lines of an export, checked as they are read: errors name the line."""

    def __init__(self, lines: Iterator[tuple[int, str]], where: str) -> None:
        self.lines = lines
        self.where = where
        self.line = 0

    def _next(self) -> Any:
        for number, text in self.lines:
            self.line = number
            if text.strip():
                try:
                    return json.loads(text)
                except ValueError:
                    raise self.error("not a line of a newsletter state export") from None
        raise StateError(
            "the export ends before its last line (cut off?); nothing was imported",
            file=self.where,
        )

    def error(self, message: str) -> StateError:
        return StateError(f"{message}; nothing was imported", file=self.where, line=self.line)

    def header(self) -> dict[str, Any]:
        try:
            header = self._next()
        except StateError as exc:
            if self.line > 1 or "newsletter state export" not in exc.message:
                raise
            header = None  # the first line is not JSON: not an export at all
        if not isinstance(header, dict) or "newsletter_state" not in header:
            raise self.error("not a newsletter state export (made by `newsletter state export`)")
        if header["newsletter_state"] != FORMAT or not isinstance(header.get("schema"), list):
            raise self.error("an export of another format; export it again with this version")
        known = [step.name for step in STEPS]
        newer = sorted(set(header["schema"]) - set(known))
        if newer:
            raise self.error(
                f"made by a newer version of newsletter (migrations {', '.join(newer)}); "
                "upgrade this one"
            )
        if sorted(header["schema"]) != known:
            raise self.error(
                "made by an older version of newsletter: open the state with this version "
                "there (any command upgrades it) and export it again"
            )
        if not isinstance(header.get("id"), str) or not header["id"]:
            raise self.error("the export's header has no state id")
        return header

    def tables(self) -> Iterator[tuple[str, tuple[str, ...], Iterator[list[Any]]]]:
        """Each table as (name, columns, its rows); the end line's counts checked."""
        counts: dict[str, int] = {}
        item = self._next()
        while not (isinstance(item, dict) and "end" in item):
            if not isinstance(item, dict) or item.get("table") not in TABLES:
                raise self.error("expected a table of the state here")
            table = str(item["table"])
            if tuple(item.get("columns", ())) != TABLES[table]:
                raise self.error(f"the columns of {table} are not this version's")
            if table in counts:
                raise self.error(f"the table {table} comes twice")
            after: list[Any] = []
            counts[table] = 0
            rows = self._rows(table, counts, after)
            yield table, TABLES[table], rows
            for _ in rows:  # what the caller left unread
                pass
            item = after[0]  # the line after the table's rows
        if item["end"] != counts or set(counts) != set(TABLES):
            raise self.error("the export's counts do not match its rows (damaged or cut off?)")

    def _rows(self, table: str, counts: dict[str, int], after: list[Any]) -> Iterator[list[Any]]:
        width = len(TABLES[table])
        while True:
            item = self._next()
            if not isinstance(item, list):
                after.append(item)
                return
            fits = all(_fits(table, c, v) for c, v in zip(TABLES[table], item, strict=False))
            if len(item) != width or not fits:
                raise self.error(
                    f"a row of {table} that is not {width} values of its columns' kinds"
                )
            counts[table] += 1
            yield item


# the columns that hold whole numbers (SQLite would take any value into them, and
# the merge computes with them); every other one holds text
NUMBERS = {"n", "seq", "issue", "batch", "number", "first_seq", "last_seq", "size",
           "recipients", "frontier", "synced_until", "failures", "force", "mail_due",
           "welcome_due", "at", "delivered_at", "deferrals", "opens", "machine_opens",
           "clicks", "machine_clicks", "people", "machines"}  # fmt: skip
NULLABLE = {  # the columns that may be NULL (the schema's), table by table
    "issues": {"finished_at", "audience"},
    "deliveries": {"state", "batch", "message_id", "reason", "updated_at"},
    "batches": {"message_id", "reason"},
    "fates": {"bounce", "reason", "delivered_at"},
    "schedule": {"transport", "reason"},
    "signups": {"mail_claimed_at", "mailed_at", "mail_error", "confirmed_at",
                "confirmed_client", "lifted", "pulled_at", "welcome_issue"},
}  # fmt: skip


def _options_ok(text: object) -> bool:
    """A schedule entry's options as `schedule` writes them: a JSON object of a
    subject and a preheader (text), a number (a whole number from 1) and an audience."""
    try:
        options = json.loads(str(text))
    except ValueError:
        return False
    known = {"subject", "preheader", "number", "audience"}
    if not isinstance(options, dict) or not set(options) <= known:
        return False
    if "audience" in options and not _audience_ok(options["audience"]):
        return False
    number = options.get("number", 1)
    texts = all(isinstance(options.get(k, ""), str) for k in ("subject", "preheader"))
    return texts and isinstance(number, int) and not isinstance(number, bool) and number >= 1


def _audience_ok(audience: object) -> bool:
    """An audience as targeting writes it: lists and exclusions (lists of names), an
    expression, a segment, an issue and how it is shown (text)."""
    if not isinstance(audience, dict):
        return False
    names = ("lists", "exclude")
    texts = ("where", "segment", "not_sent", "shown")
    if not set(audience) <= {*names, *texts}:
        return False
    lists = [audience.get(k, []) for k in names]
    if not all(isinstance(v, list) and all(isinstance(n, str) for n in v) for v in lists):
        return False
    return all(isinstance(audience.get(k, ""), str) for k in texts)


def _fits(table: str, column: str, value: object) -> bool:
    """A value an export may hold in `column`: its kind, or None where it may be."""
    if value is None:
        return column in NULLABLE.get(table, set())
    if column in NUMBERS:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


@dataclass
class _Key:
    """An exported issue's key and run of recipients, and where they go here."""

    old_first: int
    new_key: int | None = None  # None: the issue is here already (compared, not copied)
    offset: int = 0
    digest: Any = None


class _Merge:
    """The rows of an export merged into the state, in the caller's transaction."""

    def __init__(self, engine: Engine, where: str, now: datetime, empty: bool) -> None:
        self.engine = engine
        self.where = where
        self.now = now
        self.empty = empty
        self.result = Imported()
        self.here: dict[str, list[Any]] = {}  # exported issues the state has already
        self.keys: dict[int, _Key] = {}  # by the exported key
        self.next_seq = int(engine.value("SELECT coalesce(max(seq), 0) + 1 FROM deliveries"))
        self.forgets = ImportForgets(engine, None)

    def _count(self, kind: str, new: int, already: int) -> None:
        self.result.new[kind] = self.result.new.get(kind, 0) + new
        self.result.already[kind] = self.result.already.get(kind, 0) + already

    def table(self, table: str, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        getattr(self, f"_{table}")(columns, rows)

    # --- the small tables: a row here already is kept ---

    def _insert_new(self, table: str, columns: tuple[str, ...], rows: Iterable[list[Any]],
                    on_conflict: str) -> None:  # fmt: skip
        before = self.engine.value(f"SELECT count(*) FROM {table}")
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        total = 0
        for chunk in _chunks(rows):
            total += len(chunk)
            self.engine.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", chunk
            )
        added = int(self.engine.value(f"SELECT count(*) FROM {table}")) - int(before)
        self._count(table, added, total - added)

    def _suppressions(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        """A suppression here already is kept; one this state lifted since the export
        was made (the same address, suppressed at the same time) stays lifted; one of
        an address forgotten here stays out."""
        lifted = {tuple(row) for row in self.engine.all(  # merged first: TABLES' order
            "SELECT email_key, suppressed_at FROM suppression_lifts")}  # fmt: skip
        kept = (
            row
            for row in map(self.forgets.suppression, rows)
            if row is not None and (row[0], row[4]) not in lifted
        )
        self._insert_new("suppressions", columns, kept, "ON CONFLICT (email_key) DO NOTHING")
        self.forgets.after_suppressions(self.now)

    def _suppression_lifts(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        """A lift here already is kept (lifts are not counted: they go with the
        suppressions)."""
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        for chunk in _chunks(self.forgets.row(columns, row) for row in rows):
            self.engine.executemany(
                f"INSERT INTO suppression_lifts ({names}) VALUES ({marks}) "
                "ON CONFLICT (email_key, lifted_at) DO NOTHING",
                chunk,
            )

    def _list_leaves(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        """A leave here already is kept; one of an address forgotten here stays out."""
        kept = (row for row in rows if self.forgets.keeps(row[1]))
        self._insert_new("list_leaves", columns, kept, "ON CONFLICT (list, email_key) DO NOTHING")

    def _signups(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        """A signup here already (the list and address) is kept; a new one gets a
        number of this state's (the exported one may be taken); one of an address
        forgotten here stays out."""
        kept = (row[1:] for row in rows if self.forgets.keeps(row[2]))
        self._insert_new("signups", columns[1:], kept,
                         "ON CONFLICT (list, email_key) DO NOTHING")  # fmt: skip

    def _cron_backoff(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        self._insert_new("cron_backoff", columns, rows, "ON CONFLICT (issue_id) DO NOTHING")

    def _sync_cursors(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        for source, until, updated in rows:  # the further of the two
            self.engine.execute(
                "INSERT INTO sync_cursors (source, synced_until, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET synced_until = excluded.synced_until, "
                "updated_at = excluded.updated_at "
                "WHERE excluded.synced_until > sync_cursors.synced_until",
                (source, until, updated),
            )

    def _secrets(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        for name, value, created in rows:
            kept = self.engine.value("SELECT value FROM secrets WHERE name = ?", (name,))
            if name == FORGET:
                self.forgets.secret(kept, value, created, self.where)
            elif kept is None:
                self.engine.execute(
                    "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)",
                    (name, value, created),
                )
                self.result.secret = "taken"
            elif kept == value:
                self.result.secret = "same"
            elif not self.engine.value("SELECT EXISTS (SELECT 1 FROM issues)"):
                self.engine.execute(  # nothing this state sent was signed with its own
                    "UPDATE secrets SET value = ?, created_at = ? WHERE name = ?",
                    (value, created, name),
                )
                self.result.secret = "replaced"
            else:
                raise StateError(
                    f"this state signs its links with another {name} secret than the "
                    "export's, and has sent issues with it: the links of one or the other "
                    "would stop working; import into a new state instead (an empty "
                    "database, or move .newsletter/state.db away first; nothing was imported)",
                    file=self.where,
                )

    # --- issues: the same issue, or a new one at the end ---

    def _issues(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        new = 0
        for row in rows:
            if self.engine.one("SELECT 1 FROM issues WHERE id = ?", (row[0],)):
                self.here[str(row[0])] = row
                continue
            new += self.engine.insert("issues", columns, [row])
        self._count("issues", new, len(self.here))

    def _issue_keys(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        for n, issue_id, first, last, recipients, frontier in rows:
            key = _Key(old_first=int(first))
            self.keys[int(n)] = key
            if issue_id in self.here:
                key.digest = _Digest(issue_id, self.here[issue_id], self.engine)
                key.digest.add("key", [last - first, recipients, frontier - first])
                continue
            if recipients:  # its run goes after every run here
                key.offset = self.next_seq - int(first)
                self.next_seq = int(last) + key.offset + 1
            key.new_key = int(self.engine.value(
                "INSERT INTO issue_keys (issue_id, first_seq, last_seq, recipients, frontier) "
                "VALUES (?, ?, ?, ?, ?) RETURNING n",
                (issue_id, first + key.offset, last + key.offset, recipients,
                 frontier + key.offset),
            ))  # fmt: skip

    def _key(self, n: Any) -> _Key:
        key = self.keys.get(n)
        if key is None:
            raise StateError(
                f"the export has rows of an issue key {n} it does not list; nothing was imported",
                file=self.where,
            )
        return key

    def _deliveries(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        def copied() -> Iterator[list[Any]]:
            for exported in rows:
                row = self.forgets.row(columns, exported)
                key = self._key(row[1])
                if key.new_key is None:
                    key.digest.add("recipient", [row[0] - key.old_first, *row[2:]])
                    continue
                yield [row[0] + key.offset, key.new_key, *row[2:]]

        if self.engine.insert("deliveries", columns, copied()):
            self.engine.analyse("deliveries")

    def _batches(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        def copied() -> Iterator[list[Any]]:
            for exported in rows:
                row = self.forgets.row(columns, exported)
                key = self._key(row[0])
                first, last = row[2] - key.old_first, row[3] - key.old_first
                if key.new_key is None:
                    key.digest.add("batch", [row[1], first, last, *row[4:]])
                    continue
                yield [key.new_key, row[1], row[2] + key.offset, row[3] + key.offset, *row[4:]]

        self.engine.insert("batches", columns, copied())

    # --- after the send: an issue's events go with it (renumbered as its recipients);
    # those of an issue this state has already are this state's own ---

    def _events(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        self._of_recipients("events", columns, rows, issue_at=2, seq_at=3,
                            on_conflict="ON CONFLICT (id) DO NOTHING")  # fmt: skip

    def _fates(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        self._of_recipients("fates", columns, rows, issue_at=1, seq_at=0,
                            on_conflict="ON CONFLICT (seq) DO NOTHING")  # fmt: skip

    def _engagement(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        self._of_recipients("engagement", columns, rows, issue_at=0, seq_at=None,
                            on_conflict="ON CONFLICT (issue, kind, url) DO NOTHING")  # fmt: skip

    def _of_recipients(self, table: str, columns: tuple[str, ...], rows: Iterator[list[Any]],
                       issue_at: int, seq_at: int | None, on_conflict: str) -> None:  # fmt: skip
        already = 0

        def moved() -> Iterator[list[Any]]:
            nonlocal already
            for exported in rows:
                row = list(exported)
                key = self._key(row[issue_at])
                if key.new_key is None:
                    already += 1
                    continue
                row[issue_at] = key.new_key
                if seq_at is not None:
                    row[seq_at] += key.offset
                yield row

        self._insert_new(table, columns, moved(), on_conflict)
        self._count(table, 0, already)

    def _schedule(self, columns: tuple[str, ...], rows: Iterator[list[Any]]) -> None:
        new = already = 0
        for row in rows:
            entry = dict(zip(columns, row, strict=True))
            if not _options_ok(entry["options"]):
                raise StateError(
                    f"the schedule entry of issue {entry['issue_id']} holds options newsletter "
                    "does not write (subject, preheader: text; number: 1 or more); nothing "
                    "was imported",
                    file=self.where,
                )
            if self.engine.one(
                "SELECT 1 FROM schedule WHERE issue_id = ? AND created_at = ? AND send_at = ?",
                (entry["issue_id"], entry["created_at"], entry["send_at"]),
            ):
                already += 1
                continue
            del entry["n"]  # a number of this state's
            try:
                self.engine.insert("schedule", tuple(entry), [list(entry.values())])
            except Conflict:
                raise StateError(
                    f"issue {entry['issue_id']} is queued here and in the export at "
                    "different times; take one off (newsletter schedule --cancel) and "
                    "import again (nothing was imported)",
                    file=self.where,
                ) from None
            new += 1
        self._count("schedule", new, already)

    # --- the issues both have: the same, or refused ---

    def finish(self) -> None:
        for key in self.keys.values():
            if key.digest is not None and key.digest.exported() != key.digest.here():
                raise StateError(
                    f"issue {key.digest.issue_id} is in this state and in the export, sent "
                    "to a different point: an issue is never merged from two states; import "
                    "into a state without it (nothing was imported)",
                    file=self.where,
                )


class _Digest:
    """An issue's rows, made comparable between two states (its recipients' sequence
    numbers counted from its first; its key left out)."""

    def __init__(self, issue_id: str, exported: list[Any], engine: Engine) -> None:
        self.issue_id = issue_id
        self.engine = engine
        self.hash = hashlib.sha256()
        self.hash.update(_dump(["issue", *exported]).encode())

    def add(self, kind: str, values: list[Any]) -> None:
        self.hash.update(_dump([kind, *values]).encode())

    def exported(self) -> str:
        return self.hash.hexdigest()

    def here(self) -> str:
        """The same digest of this state's rows of the issue."""
        digest = hashlib.sha256()
        row = self.engine.one(
            f"SELECT {', '.join(TABLES['issues'])} FROM issues WHERE id = ?", (self.issue_id,)
        )
        digest.update(_dump(["issue", *row]).encode())  # the same, or not the same issue
        n, first, last, recipients, frontier = self.engine.one(
            "SELECT n, first_seq, last_seq, recipients, frontier FROM issue_keys "
            "WHERE issue_id = ?",
            (self.issue_id,),
        )
        digest.update(_dump(["key", last - first, recipients, frontier - first]).encode())
        columns = ", ".join(c for c in TABLES["deliveries"] if c != "issue")
        for row in self.engine.stream(
            f"SELECT {columns} FROM deliveries WHERE issue = ? ORDER BY seq", (n,)
        ):
            digest.update(_dump(["recipient", row[0] - first, *row[1:]]).encode())
        columns = ", ".join(c for c in TABLES["batches"] if c != "issue")
        for row in self.engine.stream(
            f"SELECT {columns} FROM batches WHERE issue = ? ORDER BY number", (n,)
        ):
            digest.update(_dump(["batch", row[0], row[1] - first, row[2] - first,
                                 *row[3:]]).encode())  # fmt: skip
        return digest.hexdigest()


def _chunks(rows: Iterable[list[Any]]) -> Iterator[list[list[Any]]]:
    chunk: list[list[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
