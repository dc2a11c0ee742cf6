"""A state file written by the release before the regroup (tests/data/legacy/state.db,
made by tests/data/legacy/make_state.py at commit 37c8ae5) opens, migrates, and means
what it meant: the same issues, counts, recipients, queue and suppressions, and its
interrupted send resumes without sending anyone twice."""

import json
import shutil

import pytest
from conftest import DATA, write

LEGACY = DATA / "legacy" / "state.db"


@pytest.fixture
def legacy(project_dir, moving_clock):
    state = project_dir / ".newsletter"
    state.mkdir()
    shutil.copy(LEGACY, state / "state.db")
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(12))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    return project_dir


def counts(cli, issue):
    result = cli("status", issue, "--json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)
    return {k: found[k] for k in ("state", "list", "refused", "skipped", "pending", "ambiguous")}


def test_the_issues_of_a_legacy_state_keep_their_counts(legacy, cli):
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    issues = {s["issue"]: s for s in json.loads(result.stdout)}
    assert set(issues) == {"2026-12-01", "forced", "000_1718b35f7cc77fd8", "welcome-half",
                           "welcome-cancelled", "dropped"}  # fmt: skip
    assert issues["dropped"]["state"] == "cancelled"  # taken off the schedule, not started
    done = issues["000_1718b35f7cc77fd8"]
    assert (done["state"], done["delivered"], done["transport"]) == ("done", 4, "sendgrid")
    assert counts(cli, "welcome-half") == {
        "state": "sending", "list": "big", "refused": 1, "skipped": 1, "pending": 4,
        "ambiguous": 3,
    }  # fmt: skip
    assert counts(cli, "welcome-cancelled")["skipped"] == 5


def test_the_recipients_of_a_legacy_state_keep_their_states(legacy, cli):
    result = cli("status", "welcome-half", "--recipients", "--json")
    assert result.exit_code == 0, result.output
    states = [(r["email"], r["state"], r["message_id"], r["reason"])
              for r in json.loads(result.stdout)["recipients"]]  # fmt: skip
    assert states[:5] == [
        ("reader0@example.com", "sent", "<m0@example.com>", None),
        ("reader1@example.com", "refused", None, "550 5.1.1 no such user"),
        ("reader2@example.com", "sent", "<m2@example.com>", None),
        ("reader3@example.com", "skipped", None, "unsubscribed (link)"),
        ("reader4@example.com", "sent", "<m3@example.com>", None),
    ]
    assert [s for _, s, _, _ in states[5:]] == ["ambiguous"] * 3 + ["in_flight"] * 2 + [
        "pending"
    ] * 2


def test_the_queue_and_suppressions_of_a_legacy_state_are_kept(legacy, cli):
    result = cli("schedule", "--list-queued", "--json")
    assert result.exit_code == 0, result.output
    queued = {e["issue"]: e for e in json.loads(result.stdout)}
    assert set(queued) == {"2026-12-01", "forced"}
    assert queued["forced"]["reason"] == "SENDGRID_API_KEY is not set"
    listed = cli("subscribers", "list", "--json")
    assert listed.exit_code == 0, listed.output
    big = next(c for c in json.loads(listed.stdout) if c["list"] == "big")
    assert (big["active"], big["suppressed"]) == (11, 1)


def test_the_interrupted_send_of_a_legacy_state_resumes_once(legacy, cli):
    result = cli("send", "--id", "welcome-half", "--transport", "outbox", "--yes")
    assert result.exit_code == 1  # the recipients held as ambiguous wait for the editor
    assert "2 recipients were in flight" in result.stderr
    sent = sorted(p.name for p in (legacy / "outbox" / "welcome-half").glob("*.eml"))
    assert sent == ["reader10@example.com.eml", "reader11@example.com.eml"]
    after = counts(cli, "welcome-half")
    assert (after["pending"], after["ambiguous"]) == (0, 5)
