"""After the send: the providers' events kept once each (`events`), what became of each
recipient's accepted copy (`fates`: the furthest state its events reached), the opens
and clicks counted per issue and link (`engagement`), and an ambiguous recipient
settled by an event that proves its copy was taken. Every write runs in the caller's
transaction (events/record.py holds one per batch of events); what an event means is
decided there, not here.

A recipient is found by its number (`deliveries.seq`, which SendGrid's events carry
back as the custom arg `r`), else by its address within the issue (a scan of the
issue's rows: for SMTP's delivery status notifications and the events of copies sent
before the number was sent along).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from newsletter.state.engine import Engine

# A fate's states, from the least to the most telling: a later event moves a fate only
# up this order (a late "delivered" does not hide a bounce).
FATES = ("deferred", "delivered", "dropped", "bounced", "unsubscribed", "spam report")
RANK = {state: n for n, state in enumerate(FATES, 1)}
SETTLED = "settled by the provider's event: it took the copy"
_CHUNK = 500  # parameters of one IN (...): far under either engine's limit


@dataclass(frozen=True, slots=True)
class Known:
    """A recipient as the ledger holds it: its state (its row's, else its live
    batch's, else pending), the message id its copy was accepted under, and the
    batch that decides it (None: its row does)."""

    seq: int
    issue: int
    email_key: str
    state: str
    message_id: str | None
    batch: int | None


@dataclass(slots=True)
class Fate:
    """What became of one recipient's copy so far (a row of `fates`)."""

    seq: int
    issue: int
    state: str
    bounce: str | None = None
    reason: str | None = None
    delivered_at: int | None = None
    deferrals: int = 0
    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    at: int = 0

    def row(self, stamp: str) -> tuple[Any, ...]:
        return (self.seq, self.issue, self.state, self.bounce, self.reason, self.delivered_at,
                self.deferrals, self.opens, self.machine_opens, self.clicks,
                self.machine_clicks, self.at, stamp)  # fmt: skip


_FATE_COLUMNS = (
    "seq, issue, state, bounce, reason, delivered_at, deferrals, opens, machine_opens, "
    "clicks, machine_clicks, at"
)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class DeliveryEvents:
    """The events, fates and engagement tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- finding recipients ---

    def issue_keys(self, issue_ids: Iterable[str]) -> dict[str, tuple[int, int, int]]:
        """Issue id -> (key, first seq, last seq), for the ids the ledger holds."""
        found = {}
        for chunk in _chunks(sorted(set(issue_ids))):
            for issue_id, n, first, last in self.engine.all(
                "SELECT issue_id, n, first_seq, last_seq FROM issue_keys "
                f"WHERE issue_id IN ({_marks(len(chunk))})",
                tuple(chunk),
            ):
                found[str(issue_id)] = (int(n), int(first), int(last))
        return found

    def by_number(self, seqs: Iterable[int]) -> dict[int, Known]:
        """The recipients numbered `seqs` (those that exist)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(sorted(set(seqs))):
            rows += self.engine.all(
                "SELECT seq, issue, email_key, state, batch, message_id FROM deliveries "
                f"WHERE seq IN ({_marks(len(chunk))})",
                tuple(chunk),
            )
        return {known.seq: known for known in self._resolved(rows)}

    def by_address(self, issue: int, first: int, last: int, keys: set[str]) -> dict[str, Known]:
        """The recipients of issue `issue` (rows `first`..`last`) whose address (lower
        case) is in `keys`: one pass over the issue's rows."""
        rows = [
            row
            for row in self.engine.stream(
                "SELECT seq, issue, email_key, state, batch, message_id FROM deliveries "
                "WHERE seq BETWEEN ? AND ? AND issue = ?",
                (first, last, issue),
            )
            if row[2] in keys
        ]
        return {known.email_key: known for known in self._resolved(rows)}

    def _resolved(self, rows: list[tuple[Any, ...]]) -> list[Known]:
        """Rows of deliveries with the state of the live batch covering each row that
        has none of its own."""
        found: list[Known] = []
        shared: dict[int, list[tuple[int, ...]]] = {}
        for seq, issue, key, state, _batch, msgid in rows:
            if state is None:
                shared.setdefault(int(issue), []).append((int(seq),))
            else:
                found.append(Known(int(seq), int(issue), str(key), str(state), msgid, None))
        if not shared:
            return found
        keys = {int(row[0]): str(row[2]) for row in rows}
        for issue, seqs in shared.items():
            low, high = min(s for (s,) in seqs), max(s for (s,) in seqs)
            batches = self.engine.all(
                "SELECT first_seq, last_seq, state, message_id, number FROM batches "
                "WHERE issue = ? AND state != 'released' AND first_seq <= ? AND last_seq >= ? "
                "ORDER BY first_seq",
                (issue, high, low),
            )
            starts = [int(b[0]) for b in batches]
            for (seq,) in seqs:
                at = bisect_right(starts, seq) - 1
                if at >= 0 and batches[at][1] >= seq:
                    _, _, state, msgid, number = batches[at]
                    found.append(Known(seq, issue, keys[seq], str(state), msgid, int(number)))
                else:
                    found.append(Known(seq, issue, keys[seq], "pending", None, None))
        return found

    # --- what is recorded ---

    def seen(self, ids: Sequence[str]) -> set[str]:
        """Of `ids`, the events already kept."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(ids))):
            found.update(
                str(row[0])
                for row in self.engine.all(
                    f"SELECT id FROM events WHERE id IN ({_marks(len(chunk))})", tuple(chunk)
                )
            )
        return found

    def keep(self, rows: Iterable[tuple[str, str, int, int, str, int]], stamp: str) -> None:
        """(id, source, issue, seq, kind, at) rows of events not kept yet (`seen`, in
        the same transaction, said so; writers take turns): streamed in (PostgreSQL's
        COPY), not a statement each."""
        self.engine.insert(
            "events", ("id", "source", "issue", "seq", "kind", "at", "recorded_at"),
            ((*row, stamp) for row in rows),
        )  # fmt: skip

    def fates(self, seqs: Iterable[int]) -> dict[int, Fate]:
        found: dict[int, Fate] = {}
        for chunk in _chunks(sorted(set(seqs))):
            for row in self.engine.all(
                f"SELECT {_FATE_COLUMNS} FROM fates WHERE seq IN ({_marks(len(chunk))})",
                tuple(chunk),
            ):
                found[int(row[0])] = Fate(*row)
        return found

    def put_fates(self, fates: Iterable[Fate], known: set[int], stamp: str) -> None:
        """Write these fates as they are now (made or moved by the caller): those of
        `known` (read by `fates` in this transaction) updated, the others new."""
        rows = [fate.row(stamp) for fate in fates]
        self.engine.insert("fates", (*_FATE_COLUMNS.split(", "), "updated_at"),
                           (row for row in rows if row[0] not in known))  # fmt: skip
        self.engine.executemany(
            "UPDATE fates SET state = ?, bounce = ?, reason = ?, delivered_at = ?, "
            "deferrals = ?, opens = ?, machine_opens = ?, clicks = ?, machine_clicks = ?, "
            "at = ?, updated_at = ? WHERE seq = ?",
            [(*row[2:], row[0]) for row in rows if row[0] in known],
        )

    def count(self, counts: dict[tuple[int, str, str], list[int]]) -> None:
        """Add (people, machines) to each (issue, kind, url)'s engagement."""
        self.engine.executemany(
            "INSERT INTO engagement (issue, kind, url, people, machines) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (issue, kind, url) DO UPDATE SET "
            "people = engagement.people + excluded.people, "
            "machines = engagement.machines + excluded.machines",
            [(*key, people, machines) for key, (people, machines) in sorted(counts.items())],
        )

    def settle(self, known: Known, message_id: str, stamp: str) -> bool:
        """An ambiguous recipient whose copy the provider proved it took: sent, under
        `message_id`, decided on its own (its batch counts one fewer)."""
        if known.state != "ambiguous":
            return False
        if known.batch is None:
            return bool(self.engine.changed(
                "UPDATE deliveries SET state = 'sent', message_id = ?, reason = ?, "
                "updated_at = ? WHERE seq = ? AND state = 'ambiguous'",
                (message_id, SETTLED, stamp, known.seq),
            ))  # fmt: skip
        moved = self.engine.changed(
            "UPDATE deliveries SET state = 'sent', batch = ?, message_id = ?, reason = ?, "
            "updated_at = ? WHERE seq = ? AND state IS NULL",
            (known.batch, message_id, SETTLED, stamp, known.seq),
        )
        if moved:
            self.engine.execute(
                "UPDATE batches SET size = size - 1, updated_at = ? "
                "WHERE issue = ? AND number = ? AND state = 'ambiguous'",
                (stamp, known.issue, known.batch),
            )
        return bool(moved)

    # --- reading ---

    def tally(self, issue: int) -> dict[str, int]:
        """An issue's recipients in each fate (every fate, zero when none), the
        bounces hard and soft, and those settled by an event."""
        found = dict.fromkeys(FATES, 0) | {"hard": 0, "soft": 0, "settled": 0}
        for state, bounce, count in self.engine.all(
            "SELECT state, bounce, count(*) FROM fates WHERE issue = ? GROUP BY state, bounce",
            (issue,),
        ):
            found[str(state)] += int(count)
            if state == "bounced" and bounce in ("hard", "soft"):
                found[str(bounce)] += int(count)
        found["settled"] = int(
            self.engine.value(
                "SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'sent' AND reason = ?",
                (issue, SETTLED),
            )
            or 0
        )
        return found

    def people(self, issue: int) -> dict[str, int]:
        """Per recipient ([tracking] per_subscriber): how many opened and clicked,
        people and machines apart."""
        row = self.engine.one(
            "SELECT coalesce(sum(CASE WHEN opens > 0 THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN machine_opens > 0 THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN clicks > 0 THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN machine_clicks > 0 THEN 1 ELSE 0 END), 0) "
            "FROM fates WHERE issue = ?",
            (issue,),
        )
        keys = ("openers", "machine_openers", "clickers", "machine_clickers")
        return dict(zip(keys, (int(v) for v in row or (0, 0, 0, 0)), strict=True))

    def engagement(self, issue: int) -> list[tuple[str, str, int, int]]:
        """(kind, url, people, machines) of an issue, opens first, then links by clicks."""
        return [
            (str(kind), str(url), int(people), int(machines))
            for kind, url, people, machines in self.engine.all(
                "SELECT kind, url, people, machines FROM engagement WHERE issue = ? "
                "ORDER BY kind DESC, people DESC, url",
                (issue,),
            )
        ]
