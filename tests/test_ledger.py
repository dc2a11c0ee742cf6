"""The delivery ledger: frozen issues, resumed sends, at most once, one sender at a time."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import NOW, SAMPLE_ARTICLE, SECRET, open_state, point_sendgrid_at, write

from newsletter.errors import StateError
from newsletter.state import Database

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

ISSUE = "000_1718b35f7cc77fd8"


def send_sendgrid(cli):
    return cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "sendgrid")


def test_a_finished_issue_is_not_sent_again(project_dir, cli):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    outbox = project_dir / "outbox" / ISSUE
    for path in outbox.glob("*.eml"):
        path.unlink()
    again = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert again.exit_code == 0
    assert again.stdout.startswith(f"Issue {ISSUE} was sent to list sample through outbox on ")
    assert "(4 accepted); nothing more to send." in again.stdout
    assert list(outbox.glob("*.eml")) == []


def test_a_resumed_send_keeps_the_frozen_content_and_says_the_articles_changed(
    project_dir, cli, on_fake
):
    on_fake.inject("400")  # the first batch is refused: nothing sent, the issue frozen
    assert send_sendgrid(cli).exit_code == 1
    article = project_dir / SAMPLE_ARTICLE
    article.write_text(article.read_text().replace("Chrissy Teigen Says", "EDITED"))
    second = send_sendgrid(cli)
    assert second.exit_code == 0, second.output
    assert "changed since its send started" in second.stderr
    (body,) = on_fake.accepted
    assert body["subject"].startswith("Chrissy Teigen Says")
    assert len(body["personalizations"]) == 4


def test_a_suppression_recorded_after_the_freeze_still_wins(project, cli, on_fake):
    on_fake.inject("400")
    send_sendgrid(cli)
    project.state.suppressions.add("TOM@example.net", "unsubscribed", "test", NOW)
    result = send_sendgrid(cli)
    assert result.exit_code == 0, result.output
    assert sorted(on_fake.accepted_emails()) == [
        "ada@example.com", "nameless@example.com", "zoe@example.org",
    ]  # fmt: skip


def test_a_second_sender_is_told_who_holds_the_lock(project_dir, project, cli, engine):
    """The lock is a file's for SQLite, the database's for PostgreSQL (every host)."""
    with project.send_lock("000_1718b35f7cc77fd8"):
        result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert result.exit_code == 1
    where = ".newsletter" if engine == "sqlite" else "NEWSLETTER_STATE_URL"
    held = f"error: {where}: issue 000_1718b35f7cc77fd8 is being sent by another run ("
    assert result.stderr.startswith(held) and len(result.stderr.splitlines()) == 1
    assert f"process {os.getpid()}" in result.stderr and "newsletter send" in result.stderr
    assert not (project_dir / "outbox").exists()
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0


@pytest.mark.slow
def test_a_killed_send_resumes_without_sending_anyone_twice(project_dir, fake):
    """SIGKILL while a batch is in flight: the resumed send holds that batch as
    ambiguous and sends every other address once."""
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(3500))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_sendgrid_at(project_dir, fake.url, timeout="60")
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", SAMPLE_ARTICLE, "--list", "big",
               "--transport", "sendgrid", "--yes"]  # fmt: skip
    fake.slow_seconds = 30
    fake.inject("ok", "slow")  # the second batch hangs after the server took it
    process = subprocess.Popen(command, cwd=project_dir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 30
    while fake.requests < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(command, cwd=project_dir, env=env, capture_output=True,
                             text=True)  # fmt: skip
    assert resumed.returncode == 1  # the in-flight batch is held, so not everything went
    assert "1,000 recipients were in flight when an earlier run stopped" in resumed.stderr
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 3500  # each address once at the server
    with open_state(project_dir) as state:
        counts = state.ledger.counts(ISSUE)
    assert counts["sent"] == 2500 and counts["ambiguous"] == 1000


@pytest.mark.slow
def test_a_send_killed_while_waiting_to_retry_resends_that_batch_not_holds_it(project_dir, fake):
    """Nothing reached a server (connections refused, the send waiting in back-off):
    that batch is pending, not ambiguous, and the resumed send sends it, once."""
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(2500))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_sendgrid_at(project_dir, fake.url)
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", SAMPLE_ARTICLE, "--list", "big",
               "--transport", "sendgrid", "--yes"]  # fmt: skip
    fake.refuse_for(4)  # the server is gone for a while: every connection refused
    process = subprocess.Popen(command, cwd=project_dir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(2.5)  # started, frozen, and waiting to try the first batch again
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(2)  # the server is back
    assert fake.requests == 0
    resumed = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "in flight" not in resumed.stderr and "ambiguous" not in resumed.stdout
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 2500
    with open_state(project_dir) as state:
        counts = state.ledger.counts(ISSUE)
    assert counts["sent"] == 2500 and counts["ambiguous"] == 0


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "state.db"
    Database(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES ('9999_future', 'now')")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="made by a newer version of newsletter"):
        Database(path)


def test_a_corrupt_state_file_is_a_clear_error_and_is_left_alone(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not a state database"):
        Database(path)
    assert path.read_bytes() == b"this is not a database" * 100


def test_status_shows_each_issue_and_its_recipients(project_dir, cli):
    import json

    empty = cli("status")
    assert empty.exit_code == 0 and "No issue has been sent" in empty.stdout
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    table = cli("status")
    assert table.exit_code == 0
    line = table.stdout.splitlines()[1]
    assert line.startswith("done ") and line.endswith(f"  {ISSUE}")
    data = json.loads(cli("status", "--json").stdout)
    assert data[0]["accepted"] == 4 and data[0]["pending"] == 0 and data[0]["state"] == "done"
    detail = json.loads(cli("status", ISSUE, "--recipients", "--json").stdout)
    assert [r["email"] for r in detail["recipients"]] == [
        "ada@example.com", "zoe@example.org", "tom@example.net", "nameless@example.com",
    ]  # fmt: skip
    assert {r["state"] for r in detail["recipients"]} == {"sent"}
    missing = cli("status", "nope")
    assert missing.exit_code == 1 and "no issue 'nope'" in missing.stderr


def test_an_outbox_failing_mid_batch_keeps_what_it_wrote_and_resends_only_the_rest(
    project_dir, cli, wiring
):
    from newsletter.files import write_atomically
    from newsletter.transports.outbox import OutboxTransport

    written = []

    def flaky(path, data):
        if len(written) == 1:
            written.append("fail")
            raise OSError(28, "No space left on device", str(path))
        written.append(path.name)
        write_atomically(path, data)

    def outbox(write):
        return lambda project, kind, dry_run: OutboxTransport(
            project.outbox_dir, project.clock, project.shown, write
        )

    wiring["transports"] = outbox(flaky)
    first = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert first.exit_code == 1 and "No space left on device" in first.stderr
    assert "1 accepted" in first.stdout
    calls = []
    wiring["transports"] = outbox(lambda p, d: calls.append(p.name) or write_atomically(p, d))
    second = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert second.exit_code == 0, second.output
    assert written[0] not in calls and len(calls) == 3  # the first file is not written again


def test_a_resumed_send_asks_about_the_recipients_not_sent_yet(project_dir, cli, wiring):
    write(project_dir / "outbox" / ISSUE, "a file where the folder goes: the send fails")
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 1
    (project_dir / "outbox" / ISSUE).unlink()
    wiring["terminal"] = True
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", input="y\n")
    assert "Resume “Chrissy Teigen" in result.stdout
    assert "send to the 4 recipients of sample not sent yet" in result.stdout
    assert result.exit_code == 0, result.output


def test_a_wrong_statement_is_a_bug_not_a_broken_state_file(tmp_path):
    """Only what the file says (read-only, full, damaged) is the state's error: a
    statement of ours that is wrong must not send an editor to restore a backup."""
    import sqlite3

    with Database(tmp_path / "state.db") as state:
        with pytest.raises(sqlite3.ProgrammingError):
            state.engine.execute("SELECT ?, ?", (1,))
        with pytest.raises(sqlite3.ProgrammingError):
            state.engine.one("SELECT ?", (1, 2))


def test_a_new_state_made_by_many_threads_at_once_is_one_state(tmp_path):
    """`serve`'s threads may all be the first to open a new state: each makes its own
    and links it into place, and every one of them ends up on the same file."""
    import threading

    from newsletter.state import Database

    path = tmp_path / ".newsletter" / "state.db"
    errors: list[BaseException] = []
    ids: list[str | None] = []
    start = threading.Barrier(8)

    def open_it() -> None:
        start.wait()
        try:
            with Database(path) as state:
                ids.append(state.identity.ensure(NOW))
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == 8 and len(set(ids)) == 1
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".new")] == []
