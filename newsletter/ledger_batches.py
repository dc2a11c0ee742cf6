"""The recipients of one frozen issue and the batches they go in: the SQL behind the
Ledger's freeze, claim, settle, release, recover, counts and recipients.

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
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from newsletter.audience.lists import Subscriber

RECOVERED = "the run sending it stopped before the answer was recorded"
NO_ANSWER = "no answer came"
MARKED_SENT = "marked sent by the editor"

# The candidates of a claim, with the suppression (if any) recorded since the freeze.
_WAITING = (
    "SELECT d.seq, d.email, d.name, d.fields, s.reason || ' (' || s.source || ')' "
    "FROM deliveries AS d {} LEFT JOIN suppressions AS s ON s.email_key = d.email_key "
)


class Deliveries:
    """The recipients of the issue whose key (issue_keys.n) is `issue`: the rows of
    deliveries from seq `first` to `last`."""

    def __init__(self, db: sqlite3.Connection, issue: int, first: int, last: int) -> None:
        self.db = db
        self.issue = issue
        self.first = first
        self.last = last

    def _one(self, sql: str, *args: Any) -> Any:
        row = self.db.execute(sql, (self.issue, *args)).fetchone()
        return row[0] if row else None

    # --- freeze ---

    def freeze(self, subscribers: Iterable[Subscriber], stamp: str) -> int:
        """Every recipient once per address, in list order, and suppressed ones
        skipped; returns how many rows there are."""
        issue = self.issue
        (first,) = self.db.execute("SELECT coalesce(max(seq), 0) + 1 FROM deliveries").fetchone()
        total = self.db.executemany(
            "INSERT INTO deliveries (seq, issue, email_key, email, name, fields) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (first + n, issue, s.email.lower(), s.email, s.name, _pack(s))
                for n, s in enumerate(subscribers)
            ),
        ).rowcount
        if total == 0:
            return 0
        twice = self.db.execute(  # one sort, far cheaper than a unique index kept up
            "SELECT 1 FROM deliveries WHERE seq >= ? GROUP BY email_key HAVING count(*) > 1 "
            "LIMIT 1",
            (first,),
        ).fetchone()
        if twice:  # the list reader lets none through: a second defence, the first one kept
            total -= self.db.execute(
                "DELETE FROM deliveries WHERE seq >= ?1 AND seq NOT IN "
                "(SELECT min(seq) FROM deliveries WHERE seq >= ?1 GROUP BY email_key)",
                (first,),
            ).rowcount
        self.db.execute(
            "UPDATE deliveries SET state = 'skipped', reason = s.reason || ' (' || s.source || "
            "')', updated_at = ? FROM suppressions AS s "
            "WHERE deliveries.seq >= ? AND deliveries.email_key = s.email_key",
            (stamp, first),
        )
        self.first, (self.last,) = (
            first,
            self.db.execute("SELECT max(seq) FROM deliveries").fetchone(),
        )
        self.db.execute(
            "UPDATE issue_keys SET first_seq = ?, last_seq = ?, recipients = ?, frontier = ? "
            "WHERE n = ?",
            (first, self.last, total, first, issue),
        )
        return total

    # --- claim ---

    def claim(self, size: int, number: int, stamp: str) -> list[Subscriber]:
        """The next recipients waiting, at most `size`, in flight as batch `number`:
        those pending on their own first (resent at the editor's request), else the
        next stretch of the list outside every live batch. A suppression recorded
        since the freeze wins: such recipients are skipped instead."""
        while True:  # until a batch with someone to send to, or nobody waiting
            claimed = self._claim_alone(size, number, stamp)
            if claimed is None:
                claimed = self._claim_range(size, number, stamp)
            if claimed is None or claimed:
                return claimed or []

    def _claim_alone(self, size: int, number: int, stamp: str) -> list[Subscriber] | None:
        rows = self.db.execute(  # by the index of rows decided alone, never a whole scan
            _WAITING.format("INDEXED BY deliveries_alone")
            + "WHERE d.issue = ? AND d.state = 'pending' ORDER BY d.seq LIMIT ?",
            (self.issue, size),
        ).fetchall()
        if not rows:
            return None
        self.db.executemany(
            "UPDATE deliveries SET state = ?, batch = ?, reason = ?, updated_at = ? "
            "WHERE issue = ? AND seq = ?",
            [
                ("skipped", None, why, stamp, self.issue, seq)
                if why
                else ("in_flight", number, None, stamp, self.issue, seq)
                for seq, _, _, _, why in rows
            ],
        )
        return _subscribers(rows)

    def _claim_range(self, size: int, number: int, stamp: str) -> list[Subscriber] | None:
        start = self._one("SELECT frontier FROM issue_keys WHERE n = ?")
        while True:  # past the live batches and the stretches with nobody waiting
            covered = self._one(
                "SELECT last_seq FROM batches WHERE issue = ? AND state != 'released' "
                "AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
                start,
            )
            if covered is not None and covered >= start:
                start = covered + 1
                continue
            following = self._one(
                "SELECT min(first_seq) FROM batches WHERE issue = ? AND state != 'released' "
                "AND first_seq > ?",
                start,
            )
            end = following - 1 if following is not None else self.last
            rows = self.db.execute(
                _WAITING.format("")
                + "WHERE d.issue = ? AND d.seq BETWEEN ? AND ? AND d.state IS NULL "
                "ORDER BY d.seq LIMIT ?",
                (self.issue, start, end, size),
            ).fetchall()
            if rows:
                break
            if following is None:
                return None
            start = end + 1
        self.db.executemany(
            "UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ? "
            "WHERE issue = ? AND seq = ?",
            [(why, stamp, self.issue, seq) for seq, _, _, _, why in rows if why],
        )
        claimed = _subscribers(rows)
        last = rows[-1][0]
        if claimed:
            self.db.execute(
                "INSERT INTO batches (issue, number, first_seq, last_seq, size, state, "
                "claimed_at, updated_at) VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?)",
                (self.issue, number, start, last, len(claimed), stamp, stamp),
            )
        # Below it now, everyone not decided alone is in a live batch.
        self.db.execute("UPDATE issue_keys SET frontier = ? WHERE n = ?", (last + 1, self.issue))
        return claimed

    # --- settle, release, recover, reopen ---

    def settle(
        self,
        number: int,
        sent: dict[str, str],
        refused: dict[str, str],
        ambiguous: Iterable[str],
        stamp: str,
        batch_id: str | None,
    ) -> None:
        """Record batch `number`'s outcome; only its recipients still in flight move.
        The batch row takes the common outcome (sent under `batch_id`, or ambiguous
        when no answer came for any of it); the exceptions are written one by one."""
        batch = self.db.execute(
            "SELECT first_seq, last_seq, size FROM batches "
            "WHERE issue = ? AND number = ? AND state = 'in_flight'",
            (self.issue, number),
        ).fetchone()
        doubtful = {email.lower() for email in ambiguous}
        each = {email.lower(): msgid for email, msgid in sent.items()} if batch_id is None else {}
        keys = {email.lower() for email in refused} | doubtful | set(each)
        flying = self._flying(batch, number, keys) if keys else {}
        moves: list[tuple[str, str | None, str | None, int]] = []
        left = batch[2] if batch else 0

        def move(key: str, state: str, msgid: str | None, reason: str | None) -> None:
            nonlocal left
            if key in flying:
                seq, alone = flying.pop(key)
                moves.append((state, msgid, reason, seq))
                left -= not alone

        for email, why in refused.items():
            move(email.lower(), "refused", None, why)
        ours = {k for k in doubtful if k in flying and not flying[k][1]}
        whole_ambiguous = batch_id is None and left > 0 and len(ours) == left
        for key in doubtful - ours if whole_ambiguous else doubtful:
            move(key, "ambiguous", None, NO_ANSWER)
        for key, msgid in each.items():
            move(key, "sent", msgid, None)
        self.db.executemany(
            "UPDATE deliveries SET state = ?, message_id = ?, reason = ?, batch = ?, "
            "updated_at = ? WHERE issue = ? AND seq = ?",
            [(s, m, r, number, stamp, self.issue, seq) for s, m, r, seq in moves],
        )
        if batch_id is not None:  # recipients claimed alone, not refused nor ambiguous
            self.db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, updated_at = ? "
                "WHERE issue = ? AND state = 'in_flight' AND batch = ?",
                (batch_id, stamp, self.issue, number),
            )
        if batch is None:
            return
        if whole_ambiguous:
            state, msgid, reason = "ambiguous", None, NO_ANSWER
        elif batch_id is not None or left == 0:  # left == 0: every one decided alone
            state, msgid, reason = "sent", batch_id, None
        else:  # some still in flight: a partial answer, released or settled later
            state, msgid, reason = "in_flight", None, None
        self.db.execute(
            "UPDATE batches SET state = ?, size = ?, message_id = ?, reason = ?, updated_at = ? "
            "WHERE issue = ? AND number = ? AND state = 'in_flight'",
            (state, left, msgid, reason, stamp, self.issue, number),
        )

    def _flying(
        self, batch: tuple[int, int, int] | None, number: int, keys: set[str]
    ) -> dict[str, tuple[int, bool]]:
        """Of `keys`, those in flight in batch `number`: key -> (seq, claimed alone)."""
        found = {
            key: (seq, True)
            for seq, key in self.db.execute(
                "SELECT seq, email_key FROM deliveries WHERE issue = ? AND state = 'in_flight' "
                "AND batch = ?",
                (self.issue, number),
            )
            if key in keys
        }
        if batch is not None:
            found.update(
                (key, (seq, False))
                for seq, key in self.db.execute(
                    "SELECT seq, email_key FROM deliveries WHERE issue = ? "
                    "AND seq BETWEEN ? AND ? AND state IS NULL",
                    (self.issue, batch[0], batch[1]),
                )
                if key in keys
            )
        return found

    def release(self, emails: Iterable[str], stamp: str) -> None:
        """Recipients in flight but never handed over: pending again. A batch released
        whole is one row; a part of one is released recipient by recipient."""
        keys = {email.lower() for email in emails}
        alone = self.db.execute(
            "SELECT seq, email_key FROM deliveries WHERE issue = ? AND state = 'in_flight'",
            (self.issue,),
        ).fetchall()
        self.db.executemany(
            "UPDATE deliveries SET state = 'pending', batch = NULL, updated_at = ? "
            "WHERE issue = ? AND seq = ?",
            [(stamp, self.issue, seq) for seq, key in alone if key in keys],
        )
        flying = self.db.execute(
            "SELECT number, first_seq, last_seq, size FROM batches "
            "WHERE issue = ? AND state = 'in_flight'",
            (self.issue,),
        ).fetchall()
        for number, first, last, size in flying:
            seqs = [
                seq
                for seq, key in self.db.execute(
                    "SELECT seq, email_key FROM deliveries WHERE issue = ? "
                    "AND seq BETWEEN ? AND ? AND state IS NULL",
                    (self.issue, first, last),
                )
                if key in keys
            ]
            if seqs and len(seqs) == size:
                self.db.execute(
                    "UPDATE batches SET state = 'released', updated_at = ? "
                    "WHERE issue = ? AND number = ?",
                    (stamp, self.issue, number),
                )
                self._lower_frontier(first)
            elif seqs:
                self.db.executemany(
                    "UPDATE deliveries SET state = 'pending', updated_at = ? "
                    "WHERE issue = ? AND seq = ?",
                    [(stamp, self.issue, seq) for seq in seqs],
                )
                self.db.execute(
                    "UPDATE batches SET size = size - ?, updated_at = ? "
                    "WHERE issue = ? AND number = ?",
                    (len(seqs), stamp, self.issue, number),
                )

    def _lower_frontier(self, seq: int | None) -> None:
        if seq is not None:
            self.db.execute(
                "UPDATE issue_keys SET frontier = min(frontier, ?) WHERE n = ?", (seq, self.issue)
            )

    def recover(self, stamp: str) -> int:
        """What a dead run left in flight: ambiguous."""
        return self._move("in_flight", "ambiguous", RECOVERED, stamp)

    def reopen(self, stamp: str, as_sent: bool) -> int:
        """The editor's call on what is ambiguous: sent, or pending again."""
        if as_sent:
            return self._move("ambiguous", "sent", MARKED_SENT, stamp)
        self._lower_frontier(
            self._one("SELECT min(first_seq) FROM batches WHERE issue = ? AND state = 'ambiguous'")
        )
        return self._move("ambiguous", "pending", None, stamp)

    def _move(self, old: str, new: str, reason: str | None, stamp: str) -> int:
        """Every batch and every recipient alone in state `old` to `new`: how many
        recipients moved. A batch does not go back to pending: it is released."""
        moved = self._one(
            "SELECT coalesce(sum(size), 0) FROM batches WHERE issue = ? AND state = ?", old
        )
        self.db.execute(
            "UPDATE batches SET state = ?, reason = ?, updated_at = ? "
            "WHERE issue = ? AND state = ?",
            ("released" if new == "pending" else new, reason, stamp, self.issue, old),
        )
        return (
            moved
            + self.db.execute(
                "UPDATE deliveries SET state = ?, reason = ?, updated_at = ? "
                "WHERE issue = ? AND state = ?",
                (new, reason, stamp, self.issue, old),
            ).rowcount
        )

    def skip_waiting(self, reason: str, stamp: str) -> int:
        """Everyone still waiting (pending alone, or in no live batch): skipped, with
        `reason`; the issue's send is over for them. Returns how many."""
        moved = self.db.execute(
            "UPDATE deliveries SET state = 'skipped', reason = ?, batch = NULL, updated_at = ? "
            "WHERE issue = ? AND state = 'pending'",
            (reason, stamp, self.issue),
        ).rowcount
        live = self.db.execute(
            "SELECT first_seq, last_seq FROM batches WHERE issue = ? AND state != 'released' "
            "ORDER BY first_seq",
            (self.issue,),
        ).fetchall()
        start = self.first
        for first, last in [*live, (self.last + 1, self.last + 1)]:  # the gaps between them
            if first > start:
                moved += self.db.execute(
                    "UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ? "
                    "WHERE issue = ? AND seq BETWEEN ? AND ? AND state IS NULL",
                    (reason, stamp, self.issue, start, first - 1),
                ).rowcount
            start = max(start, last + 1)
        self.db.execute(
            "UPDATE issue_keys SET frontier = ? WHERE n = ?", (self.last + 1, self.issue)
        )
        return moved

    # --- reading ---

    def last_batch(self) -> int:
        return (
            self._one(
                "SELECT max(n) FROM (SELECT max(number) AS n FROM batches WHERE issue = ?1 "
                "UNION ALL SELECT max(batch) FROM deliveries WHERE issue = ?1 "
                "AND state IS NOT NULL)"
            )
            or 0
        )

    def counts(self) -> dict[str, int]:
        """Recipients in each state (states with none may be missing)."""
        found: dict[str, int] = {}
        for state, count in self.db.execute(
            "SELECT state, count(*) FROM deliveries WHERE issue = ?1 AND state IS NOT NULL "
            "GROUP BY state UNION ALL SELECT state, sum(size) FROM batches "
            "WHERE issue = ?1 AND state != 'released' GROUP BY state",
            (self.issue,),
        ):
            found[state] = found.get(state, 0) + count
        total = self._one("SELECT recipients FROM issue_keys WHERE n = ?")
        # Pending: alone, or in no live batch (every other recipient is counted above).
        found["pending"] = total - sum(found.values()) + found.get("pending", 0)
        return found

    def recipients(self) -> Iterator[tuple[str, str, str | None, str | None]]:
        """(email, state, message id, reason) of every recipient, in list order: the
        rows merged with the live batches, both read in list order."""
        batches = iter(
            self.db.execute(
                "SELECT first_seq, last_seq, state, message_id, reason FROM batches "
                "WHERE issue = ? AND state != 'released' ORDER BY first_seq",
                (self.issue,),
            ).fetchall()
        )
        batch = next(batches, None)
        for seq, email, state, msgid, reason in self.db.execute(
            "SELECT seq, email, state, message_id, reason FROM deliveries "
            "WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (self.first, self.last),
        ):
            if state is not None:
                yield email, state, msgid, reason
                continue
            while batch is not None and batch[1] < seq:
                batch = next(batches, None)
            if batch is not None and batch[0] <= seq:
                yield email, batch[2], batch[3], batch[4]
            else:
                yield email, "pending", None, None


def _subscribers(rows: list[Any]) -> list[Subscriber]:
    """The claimed rows not skipped, as subscribers."""
    return [
        Subscriber(email, name, json.loads(fields) if fields else {"email": email, "name": name})
        for _, email, name, fields, why in rows
        if not why
    ]


def _pack(subscriber: Subscriber) -> str:
    """Its row as frozen: '' when that is just its address and name, as in most lists
    (a JSON encoding and decoding less per recipient), else JSON."""
    fields = subscriber.fields
    if (
        len(fields) == 2
        and fields.get("email") == subscriber.email
        and fields.get("name") == subscriber.name
    ):
        return ""
    return json.dumps(fields)
