"""SIGKILL at every point of a 10,000-recipient send, then resume: every address is
accepted by the server at most once; what a dead run had in flight is held as
ambiguous (never resent unless asked); everyone else gets it exactly once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_ARTICLE, SECRET, open_state, point_sendgrid_at, write

# SIGKILLed sends of 10,000 recipients, resumed; on both engines (SQLite, PostgreSQL)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine")]

ISSUE = "000_1718b35f7cc77fd8"
KILLER = str(Path(__file__).with_name("killer.py"))
N = 10_000
SEND = ["send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes"]


@pytest.fixture
def big(project_dir, fake):
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(N))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_sendgrid_at(project_dir, fake.url)
    open_state(project_dir).close()  # migrated before the count
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *command], cwd=project_dir, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    return run


def states(project_dir) -> dict[str, set[str]]:
    with open_state(project_dir) as db:
        found: dict[str, set[str]] = {}
        for email, state, _, _ in db.ledger.recipients(ISSUE):
            found.setdefault(state, set()).add(email)
        return found


@pytest.mark.parametrize(
    ("point", "n", "held"),
    [
        ("after-freeze", 0, 0),  # before the first batch: nothing was handed over
        ("accepted", 4, 1000),  # batch 4 accepted, the answer never recorded
        ("between", 4, 1000),  # batch 4 recorded, batch 5 claimed, not handed over
        ("commit", 10, 1000),  # during the final commit: batch 10's record is lost
    ],
)
def test_a_killed_send_resumes_and_nobody_gets_it_twice(project_dir, fake, big, point, n, held):
    killed = big(KILLER, point, str(n), "--", *SEND)
    assert killed.returncode == -9, killed.stderr
    resumed = big("-m", "newsletter", *SEND)
    found = states(project_dir)
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)), "an address was accepted twice"
    sent, ambiguous = found.get("sent", set()), found.get("ambiguous", set())
    assert len(ambiguous) == held
    assert len(sent) + len(ambiguous) == N and set(found) <= {"sent", "ambiguous"}
    assert sent <= set(emails)  # nothing recorded as sent that the server did not take
    if held:
        assert resumed.returncode == 1
        assert f"{held:,} recipients were in flight when an earlier run stopped" in resumed.stderr
        assert "--retry-ambiguous" in resumed.stderr
        retried = big("-m", "newsletter", *SEND, "--retry-ambiguous")
        assert retried.returncode == 0, retried.stderr
        assert states(project_dir) == {"sent": sent | ambiguous}
        accepted_again = fake.accepted_emails()
        assert sorted(set(accepted_again)) == sorted(sent | ambiguous)
    else:
        assert resumed.returncode == 0, resumed.stderr
        assert sorted(emails) == sorted(sent) and len(sent) == N
    again = big("-m", "newsletter", *SEND)  # finished: nothing more is sent
    assert again.returncode == 0 and "nothing more to send" in again.stdout


def test_a_killed_cron_send_is_one_issue_in_one_state_and_cancel_stops_it(project_dir, fake, big):
    """The schedule's entry is started in the transaction that freezes the issue: a
    cron send killed after that is listed once (sending), is no longer queued, and
    `schedule --cancel` stops the send that is really there."""
    queued = big("-m", "newsletter", "schedule", SAMPLE_ARTICLE, "--list", "big", "--now",
                 "--transport", "sendgrid")  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    killed = big(KILLER, "between", "4", "--", "cron")
    assert killed.returncode == -9, killed.stderr
    rows = json.loads(big("-m", "newsletter", "status", "--json").stdout)
    assert [(r["issue"], r["state"], r["accepted"]) for r in rows] == [(ISSUE, "sending", 4000)]
    table = big("-m", "newsletter", "status").stdout.splitlines()
    assert len(table) == 3 and table[1].split()[0] == "sending"
    listed = big("-m", "newsletter", "schedule", "--list-queued")
    assert listed.stdout == "Nothing is queued.\n"
    cancelled = big("-m", "newsletter", "schedule", "--cancel", ISSUE)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout == (
        f"Stopped the send of issue {ISSUE} (list big): 5,000 recipients not sent yet will "
        "not get it; 1,000 held as ambiguous stay held.\n"
    )
    after = big("-m", "newsletter", "cron")
    assert (after.returncode, after.stdout) == (0, ""), after.stderr
    assert len(fake.accepted_emails()) == 5000 and fake.requests == 5
