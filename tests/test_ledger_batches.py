"""The ledger's batches: one row per batch for the common outcome, recipient rows for
the exceptions; checked case by case and against a slow, obvious model."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from dataclasses import dataclass

import pytest
from conftest import NOW, SAMPLE_ARTICLE, compose

from newsletter.audience.lists import Subscriber
from newsletter.state import Database
from newsletter.state.migrations import STEPS
from newsletter.state.outcomes import MARKED_SENT, NO_ANSWER, RECOVERED
from newsletter.state.recipients import STATES
from newsletter.state.sqlite import SqliteEngine
from newsletter.state.suppressions import Suppressions
from newsletter.transports.base import BatchResult

ISSUE = "000_1718b35f7cc77fd8"


@pytest.fixture
def freeze(project):
    """freeze(emails, suppressed=()) -> a Ledger holding the sample issue for them."""
    _, rendered = compose(project, [project.root / SAMPLE_ARTICLE])
    opened = []

    def make(emails, suppressed=()):
        state = Database(project.state_dir / "state.db")
        opened.append(state)
        ledger = state.ledger
        for email in suppressed:
            state.suppressions.add(email, "unsubscribed", "test", NOW)
        subscribers = [
            Subscriber(
                e,
                f"Name {i}",
                {"email": e, "name": f"Name {i}"} if i % 2 else {"email": e, "city": "X"},
            )
            for i, e in enumerate(emails)
        ]
        ledger.freeze(rendered, "big", "outbox", [SAMPLE_ARTICLE], "hash", subscribers, NOW)
        return ledger

    yield make
    for state in opened:
        state.close()


def settle(ledger, issue, number, sent, refused, ambiguous, batch_id=None, then_claim=0):
    """A transport's answer for batch `number`, recorded (nobody else was handed over)."""
    result = BatchResult(dict(sent), dict(refused), tuple(ambiguous), batch_id=batch_id)
    return ledger.settle(issue, number, [], result, NOW, then_claim)


def emails_of(subscribers):
    return [s.email for s in subscribers]


def states(ledger):
    return [state for _, state, _, _ in ledger.recipients(ISSUE)]


def test_a_released_batch_is_claimed_again_first(freeze):
    people = [f"r{i}@example.com" for i in range(10)]
    ledger = freeze(people)
    first = ledger.claim(ISSUE, 3, 1, NOW)
    assert [(s.email, s.name, s.fields) for s in first[:2]] == [
        (people[0], "Name 0", {"email": people[0], "city": "X"}),
        (people[1], "Name 1", {"email": people[1], "name": "Name 1"}),
    ]
    assert (
        emails_of(settle(ledger, ISSUE, 1, {}, {}, [], batch_id="m1", then_claim=3)) == people[3:6]
    )
    assert emails_of(ledger.claim(ISSUE, 3, 3, NOW)) == people[6:9]
    ledger.release(ISSUE, people[3:6], NOW)  # batch 2, while batch 3 is still out
    assert ledger.counts(ISSUE)["pending"] == 4 and ledger.counts(ISSUE)["sent"] == 3
    assert ledger.last_batch(ISSUE) == 3
    assert emails_of(ledger.claim(ISSUE, 5, 4, NOW)) == people[3:6]  # not into batch 3
    assert emails_of(ledger.claim(ISSUE, 5, 5, NOW)) == people[9:]
    assert states(ledger) == ["sent"] * 3 + ["in_flight"] * 7
    assert ledger.claim(ISSUE, 5, 6, NOW) == []


def test_a_suppression_recorded_after_the_freeze_is_skipped_at_claim(freeze):
    people = [f"r{i}@example.com" for i in range(6)]
    ledger = freeze(people, suppressed=["R0@example.com"])
    Suppressions(ledger.engine).add("R3@EXAMPLE.com", "complained", "webhook", NOW)
    Suppressions(ledger.engine).add("r1@example.com", "bounced", "webhook", NOW)
    assert emails_of(ledger.claim(ISSUE, 1, 1, NOW)) == ["r2@example.com"]  # r1 skipped
    assert emails_of(ledger.claim(ISSUE, 5, 2, NOW)) == ["r4@example.com", "r5@example.com"]
    rows = list(ledger.recipients(ISSUE))
    assert rows[0] == ("r0@example.com", "skipped", None, "unsubscribed (test)")
    assert rows[1] == ("r1@example.com", "skipped", None, "bounced (webhook)")
    assert rows[3] == ("r3@example.com", "skipped", None, "complained (webhook)")
    assert ledger.counts(ISSUE)["skipped"] == 3 and ledger.counts(ISSUE)["in_flight"] == 3


def test_a_refused_recipient_inside_an_accepted_batch(freeze):
    people = [f"r{i}@example.com" for i in range(5)]
    ledger = freeze(people)
    ledger.claim(ISSUE, 5, 1, NOW)
    sent = {e: "m1" for e in people if e != people[2]}
    settle(ledger, ISSUE, 1, sent, {"R2@example.com": "550 no such user"}, [], batch_id="m1")
    assert list(ledger.recipients(ISSUE)) == [
        (e, "refused", None, "550 no such user") if e == people[2] else (e, "sent", "m1", None)
        for e in people
    ]
    assert ledger.counts(ISSUE)["sent"] == 4 and ledger.counts(ISSUE)["refused"] == 1
    assert ledger.finish_if_done(ISSUE, NOW)


def test_a_partial_outbox_batch_keeps_its_ids_and_releases_the_rest(freeze):
    people = [f"r{i}@example.com" for i in range(5)]
    ledger = freeze(people)
    ledger.claim(ISSUE, 5, 1, NOW)
    settle(ledger, ISSUE, 1, {people[0]: "<id0>", people[1]: "<id1>"}, {}, [])
    assert states(ledger) == ["sent", "sent", "in_flight", "in_flight", "in_flight"]
    ledger.release(ISSUE, people, NOW)  # as deliver() does: the whole batch
    assert states(ledger) == ["sent", "sent", "pending", "pending", "pending"]
    assert not ledger.finish_if_done(ISSUE, NOW)
    number = ledger.last_batch(ISSUE) + 1
    assert emails_of(ledger.claim(ISSUE, 5, number, NOW)) == people[2:]
    settle(ledger, ISSUE, number, {e: f"<{e}>" for e in people[2:]}, {}, [])
    assert [m for _, _, m, _ in ledger.recipients(ISSUE)] == [
        "<id0>", "<id1>", *(f"<{e}>" for e in people[2:]),
    ]  # fmt: skip
    assert ledger.finish_if_done(ISSUE, NOW)


def test_a_batch_left_in_flight_is_ambiguous_then_resent_or_marked_sent(freeze, project):
    people = [f"r{i}@example.com" for i in range(6)]
    ledger = freeze(people)
    ledger.claim(ISSUE, 3, 1, NOW)
    ledger.claim(ISSUE, 3, 2, NOW)  # then the run dies
    state = Database(project.state_dir / "state.db")
    again = state.ledger
    try:
        assert again.recover(ISSUE, NOW) == 6
        assert set(again.recipients(ISSUE)) == {(e, "ambiguous", None, RECOVERED) for e in people}
        assert not again.finish_if_done(ISSUE, NOW)
        assert again.reopen_ambiguous(ISSUE, NOW, as_sent=False) == 6
        assert again.counts(ISSUE)["pending"] == 6
        number = again.last_batch(ISSUE) + 1
        assert emails_of(again.claim(ISSUE, 4, number, NOW)) == people[:4]
        settle(again, ISSUE, number, {}, {}, people[:4])  # no answer at all
        assert states(again) == ["ambiguous"] * 4 + ["pending"] * 2
        assert again.reopen_ambiguous(ISSUE, NOW, as_sent=True) == 4
        assert list(again.recipients(ISSUE))[:4] == [
            (e, "sent", None, MARKED_SENT) for e in people[:4]
        ]
    finally:
        state.close()


def test_a_recipient_ambiguous_alone_is_resent_alone(freeze):
    people = [f"r{i}@example.com" for i in range(4)]
    ledger = freeze(people)
    ledger.claim(ISSUE, 4, 1, NOW)
    settle(ledger, ISSUE, 1, {}, {}, [people[1]], batch_id="m1")
    assert list(ledger.recipients(ISSUE))[1] == (people[1], "ambiguous", None, NO_ANSWER)
    assert ledger.reopen_ambiguous(ISSUE, NOW, as_sent=False) == 1
    assert states(ledger) == ["sent", "pending", "sent", "sent"]
    assert emails_of(ledger.claim(ISSUE, 4, 2, NOW)) == [people[1]]
    settle(ledger, ISSUE, 2, {}, {}, [], batch_id="m2")
    assert [m for _, _, m, _ in ledger.recipients(ISSUE)] == ["m1", "m2", "m1", "m1"]
    assert ledger.last_batch(ISSUE) == 2 and ledger.finish_if_done(ISSUE, NOW)


def test_an_address_is_frozen_once_whatever_its_case(freeze):
    ledger = freeze(["Ada@example.com", "bob@example.com", "ada@example.com"])
    assert [e for e, *_ in ledger.recipients(ISSUE)] == ["Ada@example.com", "bob@example.com"]
    assert sum(ledger.counts(ISSUE).values()) == 2


def test_issues_keep_to_their_own_recipients(freeze, project):
    ledger = freeze(["a@example.com", "b@example.com"])
    _, other = compose(project, [project.root / SAMPLE_ARTICLE], "other")
    people = [Subscriber("c@example.com"), Subscriber("a@example.com")]
    assert ledger.freeze(other, "big", "outbox", [], "h", people, NOW) == 2
    assert emails_of(ledger.claim("other", 5, 1, NOW)) == ["c@example.com", "a@example.com"]
    assert emails_of(ledger.claim(ISSUE, 1, 1, NOW)) == ["a@example.com"]
    settle(ledger, "other", 1, {}, {}, [], batch_id="o1")
    assert states(ledger) == ["in_flight", "pending"]
    assert [s for _, s, _, _ in ledger.recipients("other")] == ["sent", "sent"]
    assert ledger.claim("other", 5, 2, NOW) == []


def test_a_database_of_the_first_schema_reads_back_the_same(tmp_path):
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for statement in STEPS[0].statements:
        db.execute(SqliteEngine.sql(statement))
    db.execute("INSERT INTO migrations VALUES (?, 'then')", (STEPS[0].name,))
    for issue, created in (("old", "2026-01-01"), ("older", "2025-01-01")):
        db.execute(
            "INSERT INTO issues VALUES (?, 'big', 'outbox', '[]', '{}', 'h', 'sending', ?, NULL)",
            (issue, created),
        )
    rows = [  # seq, email, state, batch, message id, reason
        (0, "A@example.com", "sent", 1, "<a>", None),
        (1, "b@example.com", "refused", 1, None, "550"),
        (2, "c@example.com", "skipped", None, None, "unsubscribed (test)"),
        (4, "d@example.com", "ambiguous", 2, None, NO_ANSWER),
        (5, "e@example.com", "in_flight", 3, None, None),
        (6, "f@example.com", "pending", 2, None, None),  # reopened by the editor
        (7, "g@example.com", "pending", None, None, None),
        (9, "h@example.com", "sent", 2, None, MARKED_SENT),
    ]
    db.executemany(
        "INSERT INTO deliveries VALUES ('old', ?, ?, ?, '', '{\"x\": \"1\"}', ?, ?, ?, ?, 'then')",
        [(e.lower(), seq, e, state, batch, m, r) for seq, e, state, batch, m, r in rows],
    )
    db.execute(
        "INSERT INTO deliveries VALUES ('older', 'z@example.com', 0, 'z@example.com', 'Z', "
        "'{}', 'sent', 1, 'm', NULL, 'then')"
    )
    db.commit()
    db.close()
    state = Database(path)
    ledger = state.ledger
    try:
        expected = [(e, state, m, r) for _, e, state, _, m, r in rows]
        assert list(ledger.recipients("old")) == expected
        assert ledger.counts("old") == {s: Counter(r[2] for r in rows)[s] for s in STATES}
        assert list(ledger.recipients("older")) == [("z@example.com", "sent", "m", None)]
        assert ledger.last_batch("old") == 3
        assert ledger.recover("old", NOW) == 1
        subscribers = ledger.claim("old", 10, 4, NOW)
        assert [(s.email, s.fields) for s in subscribers] == [
            ("f@example.com", {"x": "1"}), ("g@example.com", {"x": "1"}),
        ]  # fmt: skip
        settle(ledger, "old", 4, {}, {}, [], batch_id="m4")
        assert ledger.reopen_ambiguous("old", NOW, as_sent=True) == 2
        assert ledger.finish_if_done("old", NOW)
    finally:
        state.close()


# --- against a model ---


@dataclass
class ModelBatch:
    first: int
    last: int
    state: str = "in_flight"
    message_id: str | None = None
    reason: str | None = None


class Model:
    """The ledger's rules over Python lists: every recipient's own decision (or None:
    as the live batch covering it says, else pending), and the batches."""

    def __init__(self, emails: list[str], suppressed: dict[str, str]) -> None:
        self.emails = emails
        self.keys = [e.lower() for e in emails]
        self.suppressed = dict(suppressed)
        self.own: list[tuple[str, str | None, str | None] | None] = [
            ("skipped", None, self.suppressed[k]) if k in self.suppressed else None
            for k in self.keys
        ]
        self.batch: list[int | None] = [None] * len(emails)
        self.batches: dict[int, ModelBatch] = {}
        self.done = False

    def cover(self, i: int) -> ModelBatch | None:
        live = [b for b in self.batches.values() if b.state != "released"]
        return next((b for b in live if b.first <= i <= b.last), None)

    def view(self, i: int) -> tuple[str, str | None, str | None]:
        if self.own[i] is not None:
            return self.own[i]
        b = self.cover(i)
        return (b.state, b.message_id, b.reason) if b else ("pending", None, None)

    def recipients(self) -> list[tuple[str, str, str | None, str | None]]:
        return [(e, *self.view(i)) for i, e in enumerate(self.emails)]

    def counts(self) -> dict[str, int]:
        found = Counter(self.view(i)[0] for i in range(len(self.emails)))
        return {s: found[s] for s in STATES}

    def last_batch(self) -> int:
        decided = [b for o, b in zip(self.own, self.batch, strict=True) if o and b]
        return max([*self.batches, *decided], default=0)

    def member(self, i: int, b: ModelBatch | None) -> bool:
        return self.own[i] is None and b is not None and b.first <= i <= b.last

    def claim(self, size: int, number: int) -> list[str]:
        while True:
            take = [i for i, o in enumerate(self.own) if o and o[0] == "pending"][:size]
            alone = bool(take)
            if not alone:
                waiting = (i for i, o in enumerate(self.own) if o is None and not self.cover(i))
                start = next(waiting, None)
                if start is None:
                    return []
                for i in range(start, len(self.emails)):
                    if self.cover(i) or len(take) == size:
                        break
                    if self.own[i] is None:
                        take.append(i)
            claimed = []
            for i in take:
                if self.keys[i] in self.suppressed:
                    self.own[i], self.batch[i] = (
                        ("skipped", None, self.suppressed[self.keys[i]]),
                        None,
                    )
                    continue
                claimed.append(i)
                if alone:
                    self.own[i], self.batch[i] = ("in_flight", None, None), number
            if claimed and not alone:
                self.batches[number] = ModelBatch(start, take[-1])
            if claimed:
                return [self.emails[i] for i in claimed]

    def settle(self, number, sent, refused, ambiguous, batch_id) -> None:
        b = self.batches.get(number)
        b = b if b and b.state == "in_flight" else None
        flying = {
            k: i
            for i, k in enumerate(self.keys)
            if self.member(i, b)
            or (self.own[i] == ("in_flight", None, None) and self.batch[i] == number)
        }
        left = sum(self.member(i, b) for i in range(len(self.emails)))

        def move(key, state, msgid, reason):
            nonlocal left
            i = flying.pop(key, None)
            if i is not None:
                left -= self.member(i, b)
                self.own[i], self.batch[i] = (state, msgid, reason), number

        for email, why in refused.items():
            move(email.lower(), "refused", None, why)
        doubtful = {e.lower() for e in ambiguous}
        ours = {k for k in doubtful if k in flying and self.member(flying[k], b)}
        whole = batch_id is None and left > 0 and len(ours) == left
        for key in doubtful - ours if whole else doubtful:
            move(key, "ambiguous", None, NO_ANSWER)
        if batch_id is None:
            for email, msgid in sent.items():
                move(email.lower(), "sent", msgid, None)
        else:
            for i in flying.values():
                if not self.member(i, b):
                    self.own[i] = ("sent", batch_id, None)
        if b and whole:
            b.state, b.reason = "ambiguous", NO_ANSWER
        elif b and (batch_id is not None or left == 0):
            b.state, b.message_id = "sent", batch_id

    def release(self, emails) -> None:
        keys = {e.lower() for e in emails}
        for i, k in enumerate(self.keys):
            if k in keys and self.own[i] and self.own[i][0] == "in_flight":
                self.own[i], self.batch[i] = ("pending", None, None), None
        for b in self.batches.values():
            if b.state != "in_flight":
                continue
            members = [i for i in range(len(self.emails)) if self.member(i, b)]
            chosen = [i for i in members if self.keys[i] in keys]
            if chosen and len(chosen) == len(members):
                b.state = "released"
            for i in chosen if len(chosen) < len(members) else []:
                self.own[i] = ("pending", None, None)

    def move_all(self, old, new, reason) -> int:
        moved = sum(self.view(i)[0] == old for i in range(len(self.emails)))
        for b in self.batches.values():
            if b.state == old:
                b.state, b.reason = ("released", None) if new == "pending" else (new, reason)
        for i, o in enumerate(self.own):
            if o and o[0] == old:
                self.own[i] = (new, o[1], reason)
        return moved

    def finish(self) -> bool:
        if self.done or any(self.counts()[s] for s in ("pending", "in_flight", "ambiguous")):
            return False
        self.done = True
        return True


@pytest.mark.parametrize("seed", range(12))
def test_the_ledger_agrees_with_a_slow_model(freeze, seed):
    rng = random.Random(seed)
    people = [f"{'R' if i % 5 == 0 else 'r'}{i}@example.com" for i in range(rng.randint(1, 30))]
    suppressed = [e for e in people if rng.random() < 0.1]
    ledger = freeze(people, suppressed)
    ledger.engine.db.execute("PRAGMA synchronous = OFF")  # speed; durability is not what is tested
    model = Model(people, {e.lower(): "unsubscribed (test)" for e in suppressed})
    steps = Steps(rng, ledger, model, people)
    for _ in range(120):
        step = rng.choice(["claim"] * 4 + ["settle"] * 4 + ["release", "recover", "reopen",
                                                              "suppress", "finish"])  # fmt: skip
        getattr(steps, step)()
        assert ledger.counts(ISSUE) == model.counts()
        assert list(ledger.recipients(ISSUE)) == model.recipients()
        assert ledger.last_batch(ISSUE) == model.last_batch()


class Steps:
    """Random moves made on the ledger and the model alike."""

    def __init__(self, rng, ledger, model, people):
        self.rng, self.ledger, self.model, self.people = rng, ledger, model, people
        self.flying: dict[int, list[str]] = {}  # what the test holds as handed over, by batch

    def claimed(self, got, number, expected):
        assert emails_of(got) == expected
        if got:
            self.flying[number] = emails_of(got)

    def claim(self):
        number, size = self.ledger.last_batch(ISSUE) + 1, self.rng.randint(1, 5)
        got = self.ledger.claim(ISSUE, size, number, NOW)
        self.claimed(got, number, self.model.claim(size, number))

    def settle(self):
        if not self.flying:
            return
        rng, ledger = self.rng, self.ledger
        number = rng.choice(sorted(self.flying))
        emails = self.flying.pop(number)
        refused = {e.upper(): "550 no" for e in emails if rng.random() < 0.15}
        kind = rng.choice(["batch", "batch", "each", "partial", "none"])
        batch_id = f"m{number}" if kind == "batch" else None
        ambiguous = [e for e in emails if e.upper() not in refused and rng.random() < 0.1]
        sent = {e: f"<{e}>" for e in emails if e.upper() not in refused}
        if kind == "none":
            refused, ambiguous, sent = {}, emails, {}
        elif kind == "partial":
            ambiguous, sent = [], dict(list(sent.items())[: rng.randint(0, len(sent))])
            self.flying[number] = [e for e in emails if e not in sent and e.upper() not in refused]
        last = number == ledger.last_batch(ISSUE)
        then = rng.randint(1, 4) if last and rng.random() < 0.5 else 0
        got = settle(ledger, ISSUE, number, sent, refused, ambiguous, batch_id, then)
        self.model.settle(number, sent, refused, ambiguous, batch_id)
        self.claimed(got, number + 1, self.model.claim(then, number + 1) if then else [])

    def release(self):
        if not self.flying:
            return
        rng = self.rng
        number = rng.choice(sorted(self.flying))
        emails = self.flying.pop(number)
        some = emails if rng.random() < 0.7 else rng.sample(emails, rng.randint(1, len(emails)))
        if len(some) < len(emails):
            self.flying[number] = [e for e in emails if e not in some]
        self.ledger.release(ISSUE, some, NOW)
        self.model.release(some)

    def recover(self):
        moved = self.model.move_all("in_flight", "ambiguous", RECOVERED)
        assert self.ledger.recover(ISSUE, NOW) == moved
        self.flying.clear()

    def reopen(self):
        as_sent = self.rng.random() < 0.4
        new, reason = ("sent", MARKED_SENT) if as_sent else ("pending", None)
        moved = self.model.move_all("ambiguous", new, reason)
        assert self.ledger.reopen_ambiguous(ISSUE, NOW, as_sent) == moved

    def suppress(self):
        email = self.rng.choice(self.people)
        Suppressions(self.ledger.engine).add(email, "bounced", "webhook", NOW)
        self.model.suppressed[email.lower()] = "bounced (webhook)"

    def finish(self):
        assert self.ledger.finish_if_done(ISSUE, NOW) == self.model.finish()


def test_runs_sending_together_claim_apart_and_hold_only_a_dead_runs_batch(freeze):
    """Several runs on one issue (the state shared by hosts): each claim takes the next
    number; a run that starts holds as ambiguous only the batches of runs gone."""
    from newsletter.state.ledger import Claimant

    people = [f"r{i}@example.com" for i in range(9)]
    ledger = freeze(people)
    alive = {"a", "b", "c"}
    runs = {name: Claimant(name, lambda owner: owner in alive) for name in alive}
    a = ledger.claim(ISSUE, 3, None, NOW, "a")
    b = ledger.claim(ISSUE, 3, None, NOW, "b")
    assert (a.number, b.number) == (1, 2)
    assert emails_of(a) == people[:3] and emails_of(b) == people[3:6]
    assert ledger.recover(ISSUE, NOW, runs["c"].alive) == 0  # both alive: untouched
    alive.discard("a")  # a dies with its batch out
    assert ledger.recover(ISSUE, NOW, runs["c"].alive) == 3
    assert states(ledger) == ["ambiguous"] * 3 + ["in_flight"] * 3 + ["pending"] * 3
    nxt = settle(ledger, ISSUE, b.number, {}, {}, [], batch_id="m2", then_claim=3)
    assert nxt.number == 3 and emails_of(nxt) == people[6:]  # b goes on, a's stays held
    assert ledger.claim(ISSUE, 3, None, NOW, "c") == []  # nothing left for c
    assert states(ledger) == ["ambiguous"] * 3 + ["sent"] * 3 + ["in_flight"] * 3


def test_a_leave_of_the_issues_list_recorded_after_the_freeze_is_skipped_at_claim(freeze):
    from newsletter.state.leaves import Leaves

    people = [f"r{i}@example.com" for i in range(4)]
    ledger = freeze(people)
    Leaves(ledger.engine).add("big", "R1@example.com", "preferences", NOW)  # this list
    Leaves(ledger.engine).add("other", "r2@example.com", "preferences", NOW)  # another
    assert emails_of(ledger.claim(ISSUE, 4, 1, NOW)) == [
        "r0@example.com", "r2@example.com", "r3@example.com"
    ]  # fmt: skip
    rows = list(ledger.recipients(ISSUE))
    assert rows[1] == ("r1@example.com", "skipped", None, "left the list (preferences)")
