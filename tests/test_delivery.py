"""The send loop's one settle path, for every shape of a transport's answer: what was
accepted or refused is recorded, whom the answer was lost for is held as ambiguous,
the rest (never handed over) goes back to pending; a transient failure after progress
retries only the rest. The transport is put in place through the project."""

import pytest
from conftest import NOW, SAMPLE_ARTICLE, write

from newsletter.clock import FixedClock
from newsletter.errors import AmbiguousError, PermanentError, TransientError
from newsletter.project import Project
from newsletter.send.plan import plan_send
from newsletter.send.run import send_locked
from newsletter.transports.base import BatchResult

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

ISSUE = "000_1718b35f7cc77fd8"


class Scripted:
    """A transport that answers each send() with the next step of a script: a function
    of the batch's addresses that returns a BatchResult."""

    name = "scripted"
    batch_size = 10

    def __init__(self, *steps):
        self.steps = list(steps)
        self.handed: list[list[str]] = []

    def send(self, batch):
        emails = [r.email for r in batch.recipients]
        self.handed.append(emails)
        step = self.steps.pop(0) if self.steps else all_accepted
        return step(emails)

    def destination(self, issue_id, test=False):
        return "script"

    def close(self):
        pass


def all_accepted(emails):
    return BatchResult({e: f"<{e}>" for e in emails})


@pytest.fixture
def run(project_dir):
    def send(transport, n=25):
        rows = "".join(f"r{i}@example.com,R {i}\n" for i in range(n))
        write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
        clock = FixedClock(NOW)
        with Project.open(project_dir, clock, transports=lambda *_: transport) as project:
            plan = plan_send(project, [project.root / SAMPLE_ARTICLE], "big")
            report = send_locked(plan)
            states = {r.email: r.state for r in project.state.ledger.recipients(ISSUE)}
        return report, states, clock

    return send


def emails(*numbers):
    return [f"r{i}@example.com" for i in numbers]


def test_an_answer_lost_mid_batch_holds_only_that_recipient(run):
    def lost_the_fifth(handed):
        accepted = all_accepted(handed[:3]).accepted
        error = AmbiguousError("no answer")
        return BatchResult(accepted, {handed[3]: "550 no"}, (handed[4],), error)

    transport = Scripted(lost_the_fifth)
    report, states, _ = run(transport)
    assert states[emails(4)[0]] == "ambiguous" and states[emails(3)[0]] == "refused"
    assert [s for s in states.values()].count("sent") == 23
    # the five the transport never reached go again first (a batch of their own), in order
    assert transport.handed == [
        emails(*range(10)), emails(*range(5, 10)), emails(*range(10, 20)), emails(*range(20, 25)),
    ]  # fmt: skip
    assert (report.accepted, report.refused, report.ambiguous, report.held) == (23, 1, 1, 1)


def test_a_batch_whose_answer_was_lost_is_held_but_what_was_answered(run):
    def lost(handed):
        return BatchResult(all_accepted(handed[:2]).accepted, {}, tuple(handed[2:]),
                           AmbiguousError("no answer"))  # fmt: skip

    report, states, _ = run(Scripted(lost))
    assert [states[e] for e in emails(0, 1, 2, 9, 10)] == [
        "sent", "sent", "ambiguous", "ambiguous", "sent"
    ]  # fmt: skip
    assert report.held == 8


def test_a_transient_failure_after_progress_retries_only_the_rest(run):
    def dropped_after_six(handed):
        return all_accepted(handed[:6]).stopped(TransientError("dropped"))

    transport = Scripted(dropped_after_six)
    report, states, clock = run(transport)
    assert transport.handed[1] == emails(6, 7, 8, 9)
    assert set(states.values()) == {"sent"} and report.retries == 1
    assert len(clock.slept) == 1 and 0.5 <= clock.slept[0] <= 1.0  # the first back-off


def test_transient_failures_that_last_stop_the_send_and_nothing_is_held(run):
    def busy(handed):
        return BatchResult(error=TransientError("421 try later", status=421))

    transport = Scripted(*[busy] * 6)
    report, states, clock = run(transport)
    assert len(transport.handed) == 6 and len(clock.slept) == 5
    assert "(gave up after 6 attempts)" in str(report.error)
    assert set(states.values()) == {"pending"} and report.held == 0


def test_a_permanent_error_keeps_what_was_answered_and_the_rest_waits(run):
    def stopped(handed):
        return BatchResult({handed[0]: "<id>"}, {handed[1]: "550"}, (), PermanentError("no"))

    report, states, _ = run(Scripted(all_accepted, stopped))
    assert [states[e] for e in emails(9, 10, 11, 12, 24)] == [
        "sent", "sent", "refused", "pending", "pending"
    ]  # fmt: skip
    assert (report.accepted, report.refused) == (11, 1)


def test_an_answer_that_leaves_a_recipient_out_holds_it_rather_than_resend(run):
    """With no error a transport answers for everyone; one it said nothing of may have
    been handed over, so it is held, never sent again by itself."""

    def forgetful(handed):
        return all_accepted(handed[1:])

    report, states, _ = run(Scripted(forgetful))
    assert states[emails(0)[0]] == "ambiguous"
    assert [s for s in states.values()].count("sent") == 24 and report.held == 1
    assert report.ambiguous == 1  # and the summary says so


def test_an_ambiguous_answer_that_names_nobody_holds_everyone_not_answered(run):
    """Lost answers without names: any of the rest may have been handed over."""

    def lost(handed):
        return BatchResult(all_accepted(handed[:3]).accepted, error=AmbiguousError("lost"))

    report, states, _ = run(Scripted(lost))
    assert [states[e] for e in emails(2, 3, 9, 10)] == ["sent", "ambiguous", "ambiguous", "sent"]
    assert report.held == report.ambiguous == 7


def test_attempts_that_each_make_progress_count_as_batches_and_never_give_up(run):
    def one_then_dropped(handed):
        return all_accepted(handed[:1]).stopped(TransientError("dropped"))

    report, states, clock = run(Scripted(*[one_then_dropped] * 30))
    assert set(states.values()) == {"sent"} and report.error is None
    assert report.batches == 25 and report.retries == len(clock.slept) >= 20


def test_a_transient_error_that_leaves_nobody_unanswered_waits_for_nothing(run):
    def all_then_dropped(handed):
        return all_accepted(handed).stopped(TransientError("dropped after the last"))

    report, states, clock = run(Scripted(all_then_dropped))
    assert set(states.values()) == {"sent"} and clock.slept == [] and report.retries == 0
