"""Runs of several hosts sending one issue on a shared PostgreSQL state, in one
process: two Projects are two runs, each with its own connection (issue 13)."""

from __future__ import annotations

import pytest
from conftest import NOW, SAMPLE_ARTICLE, FixedClock, write

from newsletter.errors import LockHeld
from newsletter.project import Project
from newsletter.send.plan import SendPlan, content_hash, plan_send
from newsletter.send.report import BadRows
from newsletter.send.run import run_send
from newsletter.transports.base import BatchResult

ISSUE = "000_1718b35f7cc77fd8"
N = 250


@pytest.fixture(params=["postgresql", "sqlite"])
def runs(request, project_dir, postgres, monkeypatch):
    """runs() -> a new run (a Project of its own) on the test's state."""
    if request.param == "postgresql":
        monkeypatch.setenv("NEWSLETTER_STATE_URL", postgres.url(postgres.new_database()))
    else:
        monkeypatch.delenv("NEWSLETTER_STATE_URL", raising=False)
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(N))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    opened: list[Project] = []

    def run() -> Project:
        opened.append(Project.open(project_dir, clock=FixedClock(NOW)))
        return opened[-1]

    run.engine = request.param
    yield run
    for project in opened:
        project.close()


def plan(project: Project):
    return plan_send(project, [project.root / SAMPLE_ARTICLE], "big")


def freeze(project: Project):
    found = plan(project)
    assert found.issue is not None
    ledger, kind = project.state.ledger, found.transport.name
    ledger.freeze(found.rendered, "big", kind, [SAMPLE_ARTICLE], content_hash(found.issue),
                  found.subscribers(BadRows()), NOW)  # fmt: skip
    return found


def test_a_live_runs_batch_is_left_alone_and_a_dead_ones_is_held(runs):
    if runs.engine == "sqlite":
        pytest.skip("on SQLite one run sends an issue at a time")
    a = runs()
    freeze(a)
    assert len(a.state.ledger.claim(ISSUE, 7, None, NOW, a.claimant.name)) == 7  # a, mid-batch
    b = runs()
    report = run_send(plan(b))  # sends all the rest, alongside a
    counts = b.state.ledger.counts(ISSUE)
    assert report.recovered == 0 and counts["in_flight"] == 7 and counts["sent"] == N - 7
    a.close()  # a dies: its connection goes, and its lock with it
    c = runs()
    report = run_send(plan(c))
    assert report.recovered == 7 and c.state.ledger.counts(ISSUE)["ambiguous"] == 7


def test_a_run_that_loses_the_freeze_race_joins(runs, monkeypatch):
    a, b = runs(), runs()
    plan_b = plan(b)
    freeze(a)  # another host froze it between b's look and b's freeze
    monkeypatch.setattr(SendPlan, "frozen", lambda self: None)
    report = run_send(plan_b)
    assert report.resumed and report.accepted == N


def test_the_editors_call_on_ambiguous_recipients_waits_for_the_runs_sending(runs):
    """--mark-ambiguous-sent (or --retry-ambiguous) settles what the editor saw: it
    takes the issue alone, so it never marks a batch a live run has just held."""
    a = runs()
    freeze(a)
    with a.send_lock(ISSUE, shared=True):
        out = a.state.ledger.claim(ISSUE, 5, None, NOW, a.claimant.name)
        a.state.ledger.settle(ISSUE, out.number, [c.email for c in out], BatchResult(), NOW, 0,
                              a.claimant.name)  # no answer came: held as ambiguous  # fmt: skip
        editor = runs()
        for flag in ("mark_ambiguous_sent", "retry_ambiguous"):
            with pytest.raises(LockHeld):
                run_send(plan(editor), **{flag: True})
        assert editor.state.ledger.counts(ISSUE)["ambiguous"] == 5
