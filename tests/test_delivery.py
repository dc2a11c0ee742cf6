"""The send loop's settling of a batch that failed part way (TransportError.partial):
what was answered is recorded, what went without an answer is held, the rest goes back
to pending; a transient failure after progress retries only the rest."""

from conftest import SAMPLE_ARTICLE, write

from newsletter.errors import AmbiguousError, PermanentError, TransientError
from newsletter.sending import plan_send, send_locked
from newsletter.transports.base import Accepted

ISSUE = "000_1718b35f7cc77fd8"


class Scripted:
    """A transport that answers each send() with the next step of a script: a function
    of the batch's addresses that returns an Accepted or raises."""

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
    return Accepted({e: f"<{e}>" for e in emails})


def run(project, transport, n=25):
    rows = "".join(f"r{i}@example.com,R {i}\n" for i in range(n))
    write(project.root / "subscribers" / "big.csv", "email,name\n" + rows)
    plan = plan_send(project, [project.root / SAMPLE_ARTICLE], "big", None, "outbox")
    plan.transport = transport
    report = send_locked(plan)
    ledger = project.ledger()
    try:
        states = {email: state for email, state, *_ in ledger.recipients(ISSUE)}
    finally:
        ledger.close()
    return report, states


def emails(*numbers):
    return [f"r{i}@example.com" for i in numbers]


def test_an_ambiguous_answer_mid_batch_holds_only_that_recipient(project):
    def lost_the_fourth(handed):
        partial = Accepted(all_accepted(handed[:3]).message_ids, {handed[3]: "550 no"})
        raise AmbiguousError("no answer", partial=partial, ambiguous=[handed[4]])

    transport = Scripted(lost_the_fourth)
    report, states = run(project, transport)
    assert states[emails(4)[0]] == "ambiguous" and states[emails(3)[0]] == "refused"
    assert [s for s in states.values()].count("sent") == 23
    # the five the transport never reached go again first (a batch of their own), in order
    assert transport.handed == [
        emails(*range(10)), emails(*range(5, 10)), emails(*range(10, 20)), emails(*range(20, 25)),
    ]  # fmt: skip
    assert (report.accepted, report.refused, report.ambiguous, report.held) == (23, 1, 1, 1)


def test_an_ambiguous_error_without_details_holds_the_batch_but_what_was_answered(project):
    def lost(handed):
        raise AmbiguousError("no answer", partial=all_accepted(handed[:2]))

    report, states = run(project, Scripted(lost))
    assert [states[e] for e in emails(0, 1, 2, 9, 10)] == [
        "sent", "sent", "ambiguous", "ambiguous", "sent"
    ]  # fmt: skip
    assert report.held == 8


def test_a_transient_failure_after_progress_retries_only_the_rest(project, monkeypatch):
    monkeypatch.setattr("newsletter.clock.SystemClock.sleep", lambda self, s: None)

    def dropped_after_six(handed):
        raise TransientError("dropped", partial=all_accepted(handed[:6]))

    transport = Scripted(dropped_after_six)
    report, states = run(project, transport)
    assert transport.handed[1] == emails(6, 7, 8, 9)
    assert set(states.values()) == {"sent"} and report.retries == 1


def test_a_permanent_error_keeps_what_was_answered_and_the_rest_waits(project):
    def stopped(handed):
        raise PermanentError("no", partial=Accepted({handed[0]: "<id>"}, {handed[1]: "550"}))

    report, states = run(project, Scripted(all_accepted, stopped))
    assert [states[e] for e in emails(9, 10, 11, 12, 24)] == [
        "sent", "sent", "refused", "pending", "pending"
    ]  # fmt: skip
    assert (report.accepted, report.refused) == (11, 1)
