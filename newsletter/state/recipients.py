"""The recipients of one frozen issue, and the batches they go in: the freeze, the
claim of the next batch, and reading their states. (How answers are recorded is in
outcomes.py.)

A recipient's row is written when the issue is frozen. After that it is written again
only when the recipient is decided on its own: skipped by a suppression, refused, sent
under a message id of its own, ambiguous alone, pending again alone (the editor's
retry of such a row), or claimed alone. Every other recipient follows its batch: a
batch row covers a range of the list (first_seq..last_seq), and the ranges of live
batches (all but the released) never overlap. So a recipient's state is

    its row's own state, when it has one;
    else the state of the live batch covering it;
    else pending,

and sending a batch writes one batch row, not a row per recipient.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from newsletter.personalise import Addressee
from newsletter.state.engine import Engine

STATES = ("pending", "in_flight", "sent", "refused", "skipped", "ambiguous")

# The candidates of a claim, with the suppression (if any) recorded since the freeze,
# or their leave of the issue's list (the first parameter: an issue sent to one list
# alone; '' matches no list) on the preferences page.
_WAITING = (
    "SELECT d.seq, d.email, d.name, d.fields, coalesce(s.reason || ' (' || s.source || ')', "
    "CASE WHEN l.email_key IS NOT NULL THEN 'left the list (' || l.source || ')' END) "
    "FROM deliveries AS d{} LEFT JOIN suppressions AS s ON s.email_key = d.email_key "
    "LEFT JOIN list_leaves AS l ON l.list = ? AND l.email_key = d.email_key "
)


@dataclass(slots=True)  # made once per recipient of a send: slotted, not frozen (3x cheaper)
class Claimed:
    """A recipient claimed for a batch, as frozen: their address, name and list row."""

    email: str
    name: str
    fields: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0  # its number in the ledger (deliveries.seq), which events carry back


class Claim(list[Claimed]):
    """The recipients of a claim, in list order; `number`: the batch they are."""

    number: int = 0


class RecipientState(NamedTuple):
    email: str
    state: str
    message_id: str | None
    reason: str | None


class Recipients:
    """The recipients of the issue whose key (issue_keys.n) is `issue`: the rows of
    deliveries from seq `first` to `last`."""

    def __init__(self, engine: Engine, issue: int, first: int, last: int) -> None:
        self.engine = engine
        self.issue = issue
        self.first = first
        self.last = last

    def value(self, statement: str, *args: Any) -> Any:
        """A statement's first value, with this issue's key as its first parameter."""
        return self.engine.value(statement, (self.issue, *args))

    def lower_frontier(self, seq: int | None) -> None:
        if seq is not None:
            self.engine.execute(
                "UPDATE issue_keys SET frontier = CASE WHEN frontier < ? THEN frontier "
                "ELSE ? END WHERE n = ?",
                (seq, seq, self.issue),
            )

    # --- freeze ---

    def freeze(self, subscribers: Iterable[Addressee], stamp: str) -> int:
        """Every recipient once per address, in list order, and suppressed ones
        skipped; returns how many rows there are."""
        engine, issue = self.engine, self.issue
        first = int(engine.value("SELECT coalesce(max(seq), 0) + 1 FROM deliveries"))
        total = engine.insert(
            "deliveries",
            ("seq", "issue", "email_key", "email", "name", "fields"),
            (
                (first + n, issue, s.email.lower(), s.email, s.name, _pack(s))
                for n, s in enumerate(subscribers)
            ),
        )
        if total == 0:
            return 0
        engine.analyse("deliveries")
        twice = engine.one(  # one sort, far cheaper than a unique index kept up
            "SELECT 1 FROM deliveries WHERE seq >= ? GROUP BY email_key HAVING count(*) > 1 "
            "LIMIT 1",
            (first,),
        )
        if twice:  # the list reader lets none through: a second defence, the first one kept
            total -= engine.changed(
                "DELETE FROM deliveries WHERE seq >= ? AND seq NOT IN "
                "(SELECT min(seq) FROM deliveries WHERE seq >= ? GROUP BY email_key)",
                (first, first),
            )
        engine.execute(
            "UPDATE deliveries SET state = 'skipped', reason = s.reason || ' (' || s.source || "
            "')', updated_at = ? FROM suppressions AS s "
            "WHERE deliveries.seq >= ? AND deliveries.email_key = s.email_key",
            (stamp, first),
        )
        self.first, self.last = first, int(engine.value("SELECT max(seq) FROM deliveries"))
        engine.execute(
            "UPDATE issue_keys SET first_seq = ?, last_seq = ?, recipients = ?, frontier = ? "
            "WHERE n = ?",
            (first, self.last, total, first, issue),
        )
        return total

    # --- claim ---

    def claim(self, size: int, number: int | None, stamp: str, owner: str = "") -> Claim:
        """The next recipients waiting, at most `size`, in flight as batch `number`
        (None: the next number of the issue, taken in this transaction, so runs
        sending at once never share one): those pending on their own first (resent at
        the editor's request), else the next stretch of the list outside every live
        batch. A suppression recorded since the freeze wins: such recipients are
        skipped instead. The claim is recorded as `owner`'s."""
        found = Claim()
        found.number = self.last_batch() + 1 if number is None else number
        while True:  # until a batch with someone to send to, or nobody waiting
            claimed = self._claim_alone(size, found.number, stamp)
            if claimed is None:
                claimed = self._claim_range(size, found.number, stamp)
            if claimed is None or claimed:
                break
        if claimed:
            found.extend(claimed)
            self.engine.execute(
                "INSERT INTO claims (issue, number, owner, claimed_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (issue, number) DO UPDATE SET owner = excluded.owner",
                (self.issue, found.number, owner, stamp),
            )
        return found

    def _left_list(self) -> str:
        """The list whose leaves a claim skips: an issue's own, when it was sent to that
        list alone (with an audience of several, a reader who left one may still be on
        another: the freeze decided, from the lists as they were then)."""
        found = self.engine.one(
            "SELECT i.list, i.audience FROM issues AS i JOIN issue_keys AS k "
            "ON k.issue_id = i.id WHERE k.n = ?",
            (self.issue,),
        )
        return str(found[0]) if found and found[1] is None else ""

    def _claim_alone(self, size: int, number: int, stamp: str) -> list[Claimed] | None:
        rows = self.engine.all(  # by the index of rows decided alone, never a whole scan
            _WAITING.format("{deliveries_alone}")
            + "WHERE d.issue = ? AND d.state = 'pending' ORDER BY d.seq LIMIT ?",
            (self._left_list(), self.issue, size),
        )
        if not rows:
            return None
        self.engine.executemany(
            "UPDATE deliveries SET state = ?, batch = ?, reason = ?, updated_at = ? "
            "WHERE issue = ? AND seq = ?",
            [
                ("skipped", None, why, stamp, self.issue, seq)
                if why
                else ("in_flight", number, None, stamp, self.issue, seq)
                for seq, _, _, _, why in rows
            ],
        )
        return _claimed(rows)

    def _claim_range(self, size: int, number: int, stamp: str) -> list[Claimed] | None:
        start = self.value("SELECT frontier FROM issue_keys WHERE n = ?")
        while True:  # past the live batches and the stretches with nobody waiting
            covered = self.value(
                "SELECT last_seq FROM batches WHERE issue = ? AND state != 'released' "
                "AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
                start,
            )
            if covered is not None and covered >= start:
                start = covered + 1
                continue
            following = self.value(
                "SELECT min(first_seq) FROM batches WHERE issue = ? AND state != 'released' "
                "AND first_seq > ?",
                start,
            )
            end = following - 1 if following is not None else self.last
            rows = self.engine.all(
                _WAITING.format("")
                + "WHERE d.issue = ? AND d.seq BETWEEN ? AND ? AND d.state IS NULL "
                "ORDER BY d.seq LIMIT ?",
                (self._left_list(), self.issue, start, end, size),
            )
            if rows:
                break
            if following is None:
                return None
            start = end + 1
        self.engine.executemany(
            "UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ? "
            "WHERE issue = ? AND seq = ?",
            [(why, stamp, self.issue, seq) for seq, _, _, _, why in rows if why],
        )
        claimed = _claimed(rows)
        last = rows[-1][0]
        if claimed:
            self.engine.execute(
                "INSERT INTO batches (issue, number, first_seq, last_seq, size, state, "
                "claimed_at, updated_at) VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?)",
                (self.issue, number, start, last, len(claimed), stamp, stamp),
            )
        # Below it now, everyone not decided alone is in a live batch.
        self.engine.execute(
            "UPDATE issue_keys SET frontier = ? WHERE n = ?", (last + 1, self.issue)
        )
        return claimed

    # --- reading ---

    def last_batch(self) -> int:
        return int(
            self.engine.value(
                "SELECT max(n) FROM (SELECT max(number) AS n FROM batches WHERE issue = ? "
                "UNION ALL SELECT max(batch) AS n FROM deliveries WHERE issue = ? "
                "AND state IS NOT NULL) AS m",
                (self.issue, self.issue),
            )
            or 0
        )

    def counts(self) -> dict[str, int]:
        """Recipients in each state (every state, zero when none)."""
        found = dict.fromkeys(STATES, 0)
        for state, count in self.engine.all(
            "SELECT state, count(*) FROM deliveries WHERE issue = ? AND state IS NOT NULL "
            "GROUP BY state UNION ALL SELECT state, sum(size) FROM batches "
            "WHERE issue = ? AND state != 'released' GROUP BY state",
            (self.issue, self.issue),
        ):
            found[state] += int(count)
        total = self.value("SELECT recipients FROM issue_keys WHERE n = ?")
        # Pending: alone, or in no live batch (every other recipient is counted above).
        found["pending"] += total - sum(found.values())
        return found

    def sent_keys(self) -> Iterator[str]:
        """The addresses (lower case) whose copy was accepted: the rows sent on their
        own, and the rows of batches that were."""
        yield from (row[0] for row in self.engine.stream(
            "SELECT email_key FROM deliveries WHERE issue = ? AND state = 'sent'",
            (self.issue,),
        ))  # fmt: skip
        yield from (row[0] for row in self.engine.stream(
            "SELECT d.email_key FROM batches AS b JOIN deliveries AS d ON d.issue = b.issue "
            "AND d.seq BETWEEN b.first_seq AND b.last_seq "
            "WHERE b.issue = ? AND b.state = 'sent' AND d.state IS NULL",
            (self.issue,),
        ))  # fmt: skip

    def states(self) -> Iterator[RecipientState]:
        """Every recipient's state, in list order: the rows merged with the live
        batches, both read in list order."""
        batches = iter(
            self.engine.all(
                "SELECT first_seq, last_seq, state, message_id, reason FROM batches "
                "WHERE issue = ? AND state != 'released' ORDER BY first_seq",
                (self.issue,),
            )
        )
        batch = next(batches, None)
        for seq, email, state, msgid, reason in self.engine.stream(
            "SELECT seq, email, state, message_id, reason FROM deliveries "
            "WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (self.first, self.last),
        ):
            if state is not None:
                yield RecipientState(email, state, msgid, reason)
                continue
            while batch is not None and batch[1] < seq:
                batch = next(batches, None)
            if batch is not None and batch[0] <= seq:
                yield RecipientState(email, batch[2], batch[3], batch[4])
            else:
                yield RecipientState(email, "pending", None, None)


def _claimed(rows: list[Any]) -> list[Claimed]:
    """The claimed rows not skipped."""
    return [
        Claimed(email, name, json.loads(fields) if fields else {"email": email, "name": name}, seq)
        for seq, email, name, fields, why in rows
        if not why
    ]


def _pack(subscriber: Addressee) -> str:
    """Its row as frozen: '' when that is just its address and name, as in most lists
    (a JSON encoding and decoding less per recipient), else JSON."""
    fields = subscriber.fields
    if (
        len(fields) == 2
        and fields.get("email") == subscriber.email
        and fields.get("name") == subscriber.name
    ):
        return ""
    return json.dumps(dict(fields))
