"""What happened to the recipients of a batch, recorded: the transport's answer
(settle), a batch never handed over (release), what a dead run left in flight
(recover), the editor's call on ambiguous recipients (reopen), a send stopped by the
editor (skip_waiting). Each runs in the caller's transaction, on Recipients (see
recipients.py for how a state is kept: a row per batch, rows for the exceptions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from newsletter.state.recipients import Recipients

RECOVERED = "the run sending it stopped before the answer was recorded"
NO_ANSWER = "no answer came"
MARKED_SENT = "marked sent by the editor"

_Move = tuple[str, str | None, str | None, int]  # state, message id, reason, seq


def settle(
    r: Recipients,
    number: int,
    sent: dict[str, str],
    refused: dict[str, str],
    ambiguous: Iterable[str],
    stamp: str,
    batch_id: str | None,
) -> None:
    """Record batch `number`'s answer; only its recipients still in flight move. The
    batch row takes the common outcome (sent under `batch_id`, or ambiguous when no
    answer came for any of it); the exceptions are written one by one."""
    batch = r.engine.one(
        "SELECT first_seq, last_seq, size FROM batches "
        "WHERE issue = ? AND number = ? AND state = 'in_flight'",
        (r.issue, number),
    )
    doubtful = {email.lower() for email in ambiguous}
    each = {email.lower(): msgid for email, msgid in sent.items()} if batch_id is None else {}
    keys = {email.lower() for email in refused} | doubtful | set(each)
    flying = _flying(r, batch, number, keys) if keys else {}
    moves: list[_Move] = []
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
    r.engine.executemany(
        "UPDATE deliveries SET state = ?, message_id = ?, reason = ?, batch = ?, "
        "updated_at = ? WHERE issue = ? AND seq = ?",
        [(s, m, why, number, stamp, r.issue, seq) for s, m, why, seq in moves],
    )
    if batch_id is not None:  # recipients claimed alone, not refused nor ambiguous
        r.engine.execute(
            "UPDATE deliveries SET state = 'sent', message_id = ?, updated_at = ? "
            "WHERE issue = ? AND state = 'in_flight' AND batch = ?",
            (batch_id, stamp, r.issue, number),
        )
    if batch is None:
        return
    outcome: tuple[str, str | None, str | None]  # the batch's state, message id, reason
    if whole_ambiguous:
        outcome = ("ambiguous", None, NO_ANSWER)
    elif batch_id is not None or left == 0:  # left == 0: every one decided alone
        outcome = ("sent", batch_id, None)
    else:  # some still in flight: a partial answer, released or settled later
        outcome = ("in_flight", None, None)
    r.engine.execute(
        "UPDATE batches SET state = ?, size = ?, message_id = ?, reason = ?, updated_at = ? "
        "WHERE issue = ? AND number = ? AND state = 'in_flight'",
        (outcome[0], left, outcome[1], outcome[2], stamp, r.issue, number),
    )


def _flying(
    r: Recipients, batch: tuple[int, int, int] | None, number: int, keys: set[str]
) -> dict[str, tuple[int, bool]]:
    """Of `keys`, those in flight in batch `number`: key -> (seq, claimed alone)."""
    found = {
        key: (seq, True)
        for seq, key in r.engine.stream(
            "SELECT seq, email_key FROM deliveries WHERE issue = ? AND state = 'in_flight' "
            "AND batch = ?",
            (r.issue, number),
        )
        if key in keys
    }
    if batch is not None:
        found.update(
            (key, (seq, False))
            for seq, key in r.engine.stream(
                "SELECT seq, email_key FROM deliveries WHERE issue = ? "
                "AND seq BETWEEN ? AND ? AND state IS NULL",
                (r.issue, batch[0], batch[1]),
            )
            if key in keys
        )
    return found


def release(r: Recipients, emails: Iterable[str], stamp: str) -> None:
    """Recipients in flight but never handed over: pending again. A batch released
    whole is one row; a part of one is released recipient by recipient."""
    keys = {email.lower() for email in emails}
    if not keys:
        return
    alone = r.engine.all(
        "SELECT seq, email_key FROM deliveries WHERE issue = ? AND state = 'in_flight'",
        (r.issue,),
    )
    r.engine.executemany(
        "UPDATE deliveries SET state = 'pending', batch = NULL, updated_at = ? "
        "WHERE issue = ? AND seq = ?",
        [(stamp, r.issue, seq) for seq, key in alone if key in keys],
    )
    flying = r.engine.all(
        "SELECT number, first_seq, last_seq, size FROM batches "
        "WHERE issue = ? AND state = 'in_flight'",
        (r.issue,),
    )
    for number, first, last, size in flying:
        seqs = [
            seq
            for seq, key in r.engine.stream(
                "SELECT seq, email_key FROM deliveries WHERE issue = ? "
                "AND seq BETWEEN ? AND ? AND state IS NULL",
                (r.issue, first, last),
            )
            if key in keys
        ]
        if seqs and len(seqs) == size:
            r.engine.execute(
                "UPDATE batches SET state = 'released', updated_at = ? "
                "WHERE issue = ? AND number = ?",
                (stamp, r.issue, number),
            )
            r.lower_frontier(first)
        elif seqs:
            r.engine.executemany(
                "UPDATE deliveries SET state = 'pending', updated_at = ? "
                "WHERE issue = ? AND seq = ?",
                [(stamp, r.issue, seq) for seq in seqs],
            )
            r.engine.execute(
                "UPDATE batches SET size = size - ?, updated_at = ? WHERE issue = ? AND number = ?",
                (len(seqs), stamp, r.issue, number),
            )


def recover(r: Recipients, stamp: str, alive: Callable[[str | None], bool]) -> int:
    """What dead runs left in flight: ambiguous. A batch is a dead run's when `alive`
    says its claimant is gone (a claim without one: a run of an earlier release)."""
    numbers = {n for (n,) in r.engine.all(
        "SELECT number FROM batches WHERE issue = ? AND state = 'in_flight' UNION "
        "SELECT DISTINCT batch FROM deliveries WHERE issue = ? AND state = 'in_flight'",
        (r.issue, r.issue),
    )}  # fmt: skip
    if not numbers:
        return 0
    owners = dict(r.engine.all(
        "SELECT number, owner FROM claims WHERE issue = ? AND number BETWEEN ? AND ?",
        (r.issue, min(numbers), max(numbers)),
    ))  # fmt: skip
    dead = sorted(n for n in numbers if not alive(owners.get(n)))
    if len(dead) == len(numbers):
        return _move(r, "in_flight", "ambiguous", RECOVERED, stamp)
    moved = 0
    for number in dead:  # a few: the batches of the runs that died
        moved += int(r.value(
            "SELECT coalesce(sum(size), 0) FROM batches WHERE issue = ? AND number = ? "
            "AND state = 'in_flight'", number,
        ))  # fmt: skip
        r.engine.execute(
            "UPDATE batches SET state = 'ambiguous', reason = ?, updated_at = ? "
            "WHERE issue = ? AND number = ? AND state = 'in_flight'",
            (RECOVERED, stamp, r.issue, number),
        )
        moved += r.engine.changed(
            "UPDATE deliveries SET state = 'ambiguous', reason = ?, updated_at = ? "
            "WHERE issue = ? AND state = 'in_flight' AND batch = ?",
            (RECOVERED, stamp, r.issue, number),
        )
    return moved


def reopen(r: Recipients, stamp: str, as_sent: bool) -> int:
    """The editor's call on what is ambiguous: sent, or pending again."""
    if as_sent:
        return _move(r, "ambiguous", "sent", MARKED_SENT, stamp)
    r.lower_frontier(
        r.value("SELECT min(first_seq) FROM batches WHERE issue = ? AND state = 'ambiguous'")
    )
    return _move(r, "ambiguous", "pending", None, stamp)


def _move(r: Recipients, old: str, new: str, reason: str | None, stamp: str) -> int:
    """Every batch and every recipient alone in state `old` to `new`: how many
    recipients moved. A batch does not go back to pending: it is released."""
    moved = int(
        r.value("SELECT coalesce(sum(size), 0) FROM batches WHERE issue = ? AND state = ?", old)
    )
    r.engine.execute(
        "UPDATE batches SET state = ?, reason = ?, updated_at = ? WHERE issue = ? AND state = ?",
        ("released" if new == "pending" else new, reason, stamp, r.issue, old),
    )
    return moved + r.engine.changed(
        "UPDATE deliveries SET state = ?, reason = ?, updated_at = ? WHERE issue = ? AND state = ?",
        (new, reason, stamp, r.issue, old),
    )


def skip_waiting(r: Recipients, reason: str, stamp: str) -> int:
    """Everyone still waiting (pending alone, or in no live batch): skipped, with
    `reason`; the issue's send is over for them. Returns how many."""
    moved = r.engine.changed(
        "UPDATE deliveries SET state = 'skipped', reason = ?, batch = NULL, updated_at = ? "
        "WHERE issue = ? AND state = 'pending'",
        (reason, stamp, r.issue),
    )
    live = r.engine.all(
        "SELECT first_seq, last_seq FROM batches WHERE issue = ? AND state != 'released' "
        "ORDER BY first_seq",
        (r.issue,),
    )
    start = r.first
    for first, last in [*live, (r.last + 1, r.last + 1)]:  # the gaps between them
        if first > start:
            moved += r.engine.changed(
                "UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ? "
                "WHERE issue = ? AND seq BETWEEN ? AND ? AND state IS NULL",
                (reason, stamp, r.issue, start, first - 1),
            )
        start = max(start, last + 1)
    r.engine.execute("UPDATE issue_keys SET frontier = ? WHERE n = ?", (r.last + 1, r.issue))
    return moved
