"""Everything the state holds of one address, gathered in one place: what `subscribers
export EMAIL` shows, and what `subscribers forget EMAIL` rewrites: its suppression,
the lifts of its suppressions, its deliveries (a recipient row per issue), its web
signups with their evidence of consent, and the lists it left on the preferences
page. Forgetting deletes the signups and the leaves (they are no record of a send).

Forgetting replaces the address by its keyed hash (signing.AddressHash, computed by
the caller: the state does not hold the key) wherever it stays, and records the
hash as a suppression (reason 'forgotten'). A delivery's row keeps its issue and its
state, so the counts of every issue stay as they were; its email_key becomes the
hash, the hash of the suppression, so a claim of a batch still waiting skips it. Its
name, fields and own message id go (our Message-IDs are an unkeyed hash of issue and
address: kept, they would let anyone confirm a guessed address).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsletter.errors import StateError
from newsletter.state.engine import Engine
from newsletter.state.leaves import Leaves
from newsletter.state.secrets import FORGET
from newsletter.state.signups import Signups
from newsletter.state.suppressions import FORGOTTEN, Lift, Suppression, Suppressions

FORGET_SOURCE = "forget"  # the source of a forgotten address's suppression

# A recipient's state is its row's, else its live batch's, else pending
# (recipients.py); deliveries has no index on email_key (a freeze of a million pays
# for one), so this reads the table once: a command run rarely, by hand.
_DELIVERIES = (
    "SELECT i.id, i.list, d.seq, d.email, d.name, d.fields, d.state, d.message_id, "
    "d.reason, d.updated_at, b.state, b.message_id, b.reason, b.updated_at, "
    "f.state, f.bounce, f.reason, f.opens, f.machine_opens, f.clicks, f.machine_clicks "
    "FROM deliveries AS d JOIN issue_keys AS k ON k.n = d.issue "
    "JOIN issues AS i ON i.id = k.issue_id "
    "LEFT JOIN batches AS b ON d.state IS NULL AND b.issue = d.issue "
    "AND b.state != 'released' AND d.seq BETWEEN b.first_seq AND b.last_seq "
    "LEFT JOIN fates AS f ON f.seq = d.seq "
    "WHERE d.email_key = ? ORDER BY d.seq"
)


@dataclass(frozen=True)
class Delivery:
    """One issue's recipient row of the address: its state, when, the provider's id
    and the reason, and the row of the list as it was frozen."""

    issue: str
    list_name: str
    email: str
    name: str
    fields: dict[str, str]
    state: str
    at: str | None
    message_id: str | None
    reason: str | None
    # what the provider's events said of the copy (events.py's fate), if they did
    after: dict[str, object] | None = None

    def data(self) -> dict[str, object]:
        return {"issue": self.issue, "list": self.list_name, "state": self.state,
                "at": self.at, "message_id": self.message_id, "reason": self.reason,
                "email": self.email, "name": self.name, "fields": self.fields,
                "after": self.after}  # fmt: skip


@dataclass
class Held:
    """What the state holds of an address."""

    suppression: Suppression | None = None
    lifts: list[Lift] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    signups: list[dict[str, Any]] = field(default_factory=list)  # with their consent
    left: dict[str, str] = field(default_factory=dict)  # lists left: list -> when

    def empty(self) -> bool:
        return not (self.suppression or self.lifts or self.deliveries or self.signups
                    or self.left)  # fmt: skip


def held(engine: Engine, email: str) -> Held:
    """Everything the state holds of `email` (an address, or a forgotten one's hash)."""
    key = email.strip().lower()
    suppressions = Suppressions(engine)
    found = Held(suppressions.get(key), suppressions.lifts(key))
    found.signups = [signup.data() for signup in Signups(engine).of_address(key)]
    found.left = Leaves(engine).of_address(key)
    for row in engine.all(_DELIVERIES, (key,)):
        issue, list_name, _, address, name, fields, state, msgid, reason, at = row[:10]
        if state is None and row[10] is not None:  # as its batch
            state, msgid, reason, at = row[10:14]
        fate = row[14:]
        after = None if fate[0] is None else dict(zip(
            ("state", "bounce", "reason", "opens", "machine_opens", "clicks", "machine_clicks"),
            fate, strict=True))  # fmt: skip
        found.deliveries.append(Delivery(
            issue, list_name, address, name,
            json.loads(fields) if fields else {"email": address, "name": name},
            state or "pending", at, msgid, reason, after,
        ))  # fmt: skip
    return found


@dataclass
class Forgot:
    """What forgetting an address changed in the state."""

    suppression: Suppression | None  # its suppression, deleted (the hash's stands instead)
    lifts: int  # lift records kept under the hash
    deliveries: int  # recipient rows kept under the hash
    recorded: bool  # the hash's suppression is new (False: forgotten before)
    skipped: int = 0  # of those, still waiting in a send not finished: skipped now
    web: int = 0  # signups and list leaves deleted


def forget(engine: Engine, email: str, hashed: str, now: datetime) -> Forgot:
    """Replace `email` by `hashed` everywhere the state holds it, in one transaction:
    its suppression goes, the hash's is recorded; its lifts and deliveries keep their
    rows under the hash (a refusal's words that quote the address too)."""
    key = email.strip().lower()
    suppressions = Suppressions(engine)
    with engine.transaction():
        found = suppressions.get(key)
        engine.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
        recorded = suppressions.add(hashed, FORGOTTEN, FORGET_SOURCE, now)
        lifts, deliveries = rewrite(engine, key, hashed)
        skipped = _skip_waiting(engine, hashed, now)
        signups = _forget_web(engine, key)
    return Forgot(found, lifts, deliveries, recorded, skipped, signups)


def _forget_web(engine: Engine, key: str) -> int:
    """Its signups (and their consent) and the lists it left: deleted. How many."""
    gone = engine.changed("DELETE FROM signups WHERE email_key = ?", (key,))
    return gone + engine.changed("DELETE FROM list_leaves WHERE email_key = ?", (key,))


def _skip_waiting(engine: Engine, hashed: str, now: datetime) -> int:
    """Its recipients still waiting in a send not finished (pending alone, or in no
    live batch): skipped now, as a claim would skip them, so that a send never hands a
    transport the hash, even if the suppression is lifted later."""
    return engine.changed(
        "UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ? "
        "WHERE email_key = ? AND (state = 'pending' OR (state IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM batches AS b WHERE b.issue = deliveries.issue "
        "AND b.state != 'released' AND deliveries.seq BETWEEN b.first_seq AND b.last_seq)))",
        (f"{FORGOTTEN} ({FORGET_SOURCE})", now.isoformat(), hashed),
    )


def rewrite(engine: Engine, key: str, hashed: str) -> tuple[int, int]:
    """The lifts and deliveries of `key` kept under `hashed`, in the caller's
    transaction, and the address taken out of every reason that quotes it; how many
    lifts and deliveries."""
    lifts = engine.changed(
        "UPDATE suppression_lifts SET email_key = ?, email = ? WHERE email_key = ?",
        (hashed, hashed, key),
    )
    deliveries = engine.changed(
        "UPDATE deliveries SET email_key = ?, email = ?, name = '', fields = '', "
        "message_id = NULL WHERE email_key = ?",
        (hashed, hashed, key),
    )
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", key) + "%"
    # a bounce's words often quote the address: a fate's reason too
    for table, where in (("deliveries", "seq"), ("batches", "issue, number"), ("fates", "seq")):
        columns = [c.strip() for c in where.split(",")]
        rows = engine.all(
            f"SELECT {where}, reason FROM {table} WHERE lower(reason) LIKE ? ESCAPE '\\'",
            (pattern,),
        )
        engine.executemany(
            f"UPDATE {table} SET reason = ? WHERE " + " AND ".join(f"{c} = ?" for c in columns),
            [(scrub(row[-1], key, hashed), *row[:-1]) for row in rows],
        )
    return lifts, deliveries


def scrub(text: str | None, key: str, hashed: str) -> str | None:
    """`text` with the address `key` (in any case) replaced by its hash."""
    if not text or key not in text.lower():
        return text
    return re.sub(re.escape(key), hashed, text, flags=re.IGNORECASE)


def forget_known(
    engine: Engine, hashes: Iterable[str], hasher: Callable[[str], str], now: datetime
) -> int:
    """The addresses this state holds in clear whose hash is one of `hashes` (an
    import brought their forgetting from another state): forgotten here too, in the
    caller's transaction. Reads every address the state holds, so only called with
    hashes that are new here. Returns how many."""
    wanted = set(hashes)
    if not wanted:
        return 0
    keys: set[str] = set()
    for statement in (
        "SELECT email_key FROM suppressions",
        "SELECT DISTINCT email_key FROM suppression_lifts",
        "SELECT DISTINCT email_key FROM deliveries",
        "SELECT DISTINCT email_key FROM signups",
        "SELECT DISTINCT email_key FROM list_leaves",
    ):
        keys.update(row[0] for row in engine.stream(statement))
    found = {key: hasher(key) for key in keys if "@" in key}
    done = 0
    for key, hashed in found.items():
        if hashed in wanted:
            engine.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
            rewrite(engine, key, hashed)
            _forget_web(engine, key)
            done += 1
    return done


class ImportForgets:
    """An import's rows seen through the forgets of both states (state/transfer.py):
    a row of an address forgotten here, from an export made before, comes in under
    its hash, and its clear suppression not at all; an address the export's state
    forgot is forgotten here too. Without `hashing` (the project's AddressHash, asked
    for only when someone was forgotten), rows come in as they are."""

    def __init__(self, engine: Engine, hashing: Callable[[], Callable[[str], str]] | None) -> None:
        self.engine = engine
        self.hashing = hashing
        self.hashes = set(Suppressions(engine).forgotten()) if hashing else set()
        self.exported: set[str] = set()  # the export's forgotten hashes
        self.clear: dict[str, str] = {}  # addresses met in clear, and their hashes
        self.changed = 0  # rows kept out or rewritten
        self._hasher: Callable[[str], str] | None = None

    def _hashed(self, key: str) -> str | None:
        """The hash of `key` when it is forgotten; nothing computed when nobody is."""
        if not self.hashes or "@" not in key:
            return None
        if self._hasher is None:
            assert self.hashing is not None
            self._hasher = self.hashing()
        hashed = self._hasher(key)
        if hashed not in self.hashes:
            return None
        self.clear[key] = hashed
        self.changed += 1
        return hashed

    def secret(self, kept: str | None, value: str, created: str, where: str) -> None:
        """The export's key of forgotten addresses' hashes (its secret `forget`) is
        this state's from now on, unless this state forgot addresses under a key of
        its own: two keys cannot be merged (refused)."""
        if kept == value:
            return
        if kept is not None and Suppressions(self.engine).forgotten():
            raise StateError(
                "this state and the export each forgot addresses under a key of their own "
                "(the forget secret), which cannot be merged; import into a new state "
                "instead (nothing was imported)",
                file=where,
            )
        self.engine.execute(
            "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT "
            "(name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
            (FORGET, value, created),
        )

    def suppression(self, row: list[Any]) -> list[Any] | None:
        """An exported suppression (email_key, email, reason, ...), or None to leave out."""
        if row[2] == FORGOTTEN:
            self.exported.add(row[0])
            return row
        return None if self._hashed(row[0]) else row

    def after_suppressions(self, now: datetime) -> None:
        """The export's forgets applied to what this state holds in clear."""
        new = self.exported - self.hashes
        if new and self.hashing is not None:
            self.hashes |= new
            if self._hasher is None:
                self._hasher = self.hashing()
            self.changed += forget_known(self.engine, new, self._hasher, now)

    def keeps(self, key: str) -> bool:
        """Whether a signup's or a leave's row of `key` may come in (not forgotten)."""
        return self._hashed(key) is None

    def row(self, columns: tuple[str, ...], row: list[Any]) -> list[Any]:
        """A lift's, a delivery's or a batch's row, its address replaced by its hash
        when forgotten (and in a reason that quotes it)."""
        at = columns.index("email_key") if "email_key" in columns else None
        hashed = self._hashed(row[at]) if at is not None else None
        if hashed is not None and at is not None:
            key, row = row[at], list(row)
            for name in ("email_key", "email"):
                row[columns.index(name)] = hashed
            for name, blank in (("name", ""), ("fields", ""), ("message_id", None)):
                if name in columns:
                    row[columns.index(name)] = blank
            if "reason" in columns:
                row[columns.index("reason")] = scrub(row[columns.index("reason")], key, hashed)
        elif "reason" in columns and self.clear and row[columns.index("reason")]:
            row = list(row)
            for key, hashed in self.clear.items():
                row[columns.index("reason")] = scrub(row[columns.index("reason")], key, hashed)
        return row
