"""Several hosts, one PostgreSQL (issue 13): two checkouts of one project sharing a
database. Four `cron` processes (two from each) on a due 10,000-recipient issue,
SIGKILLed at random moments and resumed: every address is accepted by the server at
most once, accepted plus ambiguous is the list, and `send --retry-ambiguous` (from
the other checkout) completes it. An address that unsubscribed through one host's
`serve` is skipped by a send from the other, and its old link verifies on both."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from conftest import SAMPLE_ARTICLE, SECRET, point_sendgrid_at, write

ISSUE = "000_1718b35f7cc77fd8"
N = 10_000
NEWSLETTER = [sys.executable, "-m", "newsletter"]
SEED = 13  # the kills' moments and victims: the same choices every run
KILL_ROUNDS = 4  # rounds with SIGKILLs; after them, rounds run to their end
MAX_ROUNDS = 12
ONE_CLICK = b"List-Unsubscribe=One-Click"


def run(where: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSLETTER, *args], cwd=where, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    return result


def status(where: Path, env: dict[str, str]) -> dict:
    return json.loads(ok(run(where, env, "status", ISSUE, "--json")).stdout)[0]


def recipients(where: Path, env: dict[str, str]) -> dict[str, set[str]]:
    """The ledger's addresses of the issue, by state (sent, ambiguous, ...)."""
    data = json.loads(ok(run(where, env, "status", ISSUE, "--recipients", "--json")).stdout)
    found: dict[str, set[str]] = {}
    for row in data["recipients"]:
        found.setdefault(row["state"], set()).add(row["email"])
    return found


def two_checkouts(project_dir: Path, tmp_path: Path, postgres, monkeypatch) -> tuple[Path, Path]:
    """The project (the laptop) and a copy of it (the server, a clone: no .newsletter of
    its own), both pointed at one new PostgreSQL database by NEWSLETTER_STATE_URL."""
    monkeypatch.setenv("NEWSLETTER_STATE_URL", postgres.url(postgres.new_database()))
    laptop, server = project_dir, tmp_path / "server"
    shutil.copytree(laptop, server, ignore=shutil.ignore_patterns(".newsletter", "outbox"))
    return laptop, server


@pytest.mark.slow
def test_four_crons_on_two_hosts_killed_at_random_send_each_address_at_most_once(
    project_dir, fake, postgres, tmp_path, monkeypatch
):
    everyone = {f"reader{i}@example.com" for i in range(N)}
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(N))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_sendgrid_at(project_dir, fake.url)
    laptop, server = two_checkouts(project_dir, tmp_path, postgres, monkeypatch)
    env = dict(os.environ, SENDGRID_API_KEY=fake.api_key, NEWSLETTER_SECRET=SECRET)
    # Every batch is taken, then answered 1 s later: a kill then is a batch the
    # server accepted whose answer nobody recorded (ambiguous, maybe sent). (The four
    # runs send the issue together, so ten batches take about three seconds.)
    fake.slow_seconds = 1.0
    fake.inject(*["slow"] * 500)
    ok(run(laptop, env, "schedule", SAMPLE_ARTICLE, "--list", "big", "--now",
           "--transport", "sendgrid"))  # fmt: skip

    chance = random.Random(SEED)
    killed = 0
    left = status(server, env)
    rounds = 0
    while left["state"] == "queued" or left["pending"]:
        assert rounds < MAX_ROUNDS, f"still not sent after {rounds} rounds: {left}"
        kill = rounds < KILL_ROUNDS or not left["ambiguous"]  # until a kill made some
        killed += cron_round(laptop, server, env, fake, chance, kill)
        rounds += 1
        left = status(server, env)
    assert killed >= 1

    # cron never resends an ambiguous batch: each address taken by the server once
    emails = fake.accepted_emails()
    twice = [e for e, n in Counter(emails).items() if n > 1]
    assert not twice, f"{len(twice):,} addresses accepted twice, e.g. {twice[:3]}"
    assert set(emails) <= everyone
    assert (left["accepted"] + left["ambiguous"], left["refused"], left["skipped"]) == (N, 0, 0)
    found = recipients(laptop, env)
    sent, ambiguous = found.get("sent", set()), found.get("ambiguous", set())
    assert set(found) <= {"sent", "ambiguous"} and sent | ambiguous == everyone
    assert len(sent) == left["accepted"] and len(ambiguous) == left["ambiguous"]
    assert sent <= set(emails)  # nothing recorded as sent that the server did not take
    assert set(emails) - sent <= ambiguous  # taken but unrecorded: held, not lost
    assert ambiguous, f"no kill left a batch in flight in {rounds} rounds (seed {SEED})"
    assert left["state"] == "sending"  # held ambiguous recipients wait for the editor
    quiet = run(server, env, "cron")  # ... and cron leaves them be
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert fake.accepted_emails() == emails

    # the editor settles them from the other checkout: each resent once, nobody else
    retried = ok(run(server, env, "send", "--id", ISSUE, "--retry-ambiguous", "--yes"))
    released = f"Released the {len(ambiguous):,} recipients of issue {ISSUE} held as ambiguous"
    assert released in retried.stdout, retried.stdout
    after = fake.accepted_emails()
    assert after[: len(emails)] == emails
    assert Counter(after[len(emails) :]) == Counter(ambiguous)
    assert set(after) == everyone
    assert {e for e, n in Counter(after).items() if n > 1} <= ambiguous
    final = status(laptop, env)
    settled = (final["state"], final["accepted"], final["ambiguous"], final["pending"])
    assert settled == ("done", N, 0, 0)
    assert recipients(server, env) == {"sent": everyone}
    again = ok(run(laptop, env, "send", "--id", ISSUE, "--yes"))
    assert "nothing more to send" in again.stdout
    assert run(server, env, "cron").stdout == ""
    assert len(fake.accepted_emails()) == len(after)
    assert not (server / ".newsletter").exists()  # nothing of the state on the clone


def cron_round(laptop: Path, server: Path, env: dict, fake, chance: random.Random,
               kill: bool) -> int:  # fmt: skip
    """Four `cron` runs at once, two from each checkout; with `kill`, SIGKILLs at random
    moments (`kill_waves`). Returns how many were killed; the others must end without
    a crash."""
    pipe = subprocess.PIPE
    runs: list[subprocess.Popen] = []
    victims: list[subprocess.Popen] = []
    try:
        requests = fake.requests
        for where in (laptop, server, laptop, server):
            runs.append(subprocess.Popen([*NEWSLETTER, "cron"], cwd=where, env=env,
                                         stdout=pipe, stderr=pipe, text=True))  # fmt: skip
        if kill:
            victims = kill_waves(runs, lambda: fake.requests > requests, chance)
        for process in runs:
            out, err = process.communicate(timeout=120)
            if process not in victims:
                survived(process, out, err)
    finally:
        for process in runs:
            if process.poll() is None:
                process.kill()
            process.communicate()
    return len([p for p in victims if p.returncode == -signal.SIGKILL])


def kill_waves(runs: list[subprocess.Popen], sending, chance: random.Random) -> list:
    """Waves of SIGKILLs, each at some of the runs still going, until none is. The
    first wave comes mostly once `sending()` (this round's batches go out, whenever
    that is on a busy machine), else early (starting up, freezing the issue)."""
    if chance.random() < 0.75:
        deadline = time.monotonic() + 60
        while not sending() and time.monotonic() < deadline:
            if all(p.poll() is not None for p in runs):
                break
            time.sleep(0.01)
        time.sleep(chance.uniform(0.0, 1.0))
    else:
        time.sleep(chance.uniform(0.05, 1.5))
    victims = []
    while alive := [p for p in runs if p.poll() is None]:
        for process in chance.sample(alive, chance.randint(1, len(alive))):
            process.send_signal(signal.SIGKILL)
            victims.append(process)
        time.sleep(chance.uniform(0.05, 1.0))
    return victims


def survived(process: subprocess.Popen, out: str, err: str) -> None:
    """A run that was not killed ended well, or held what a dead run left in flight."""
    shown = f"exit {process.returncode}\nstdout: {out!r}\nstderr: {err!r}"
    assert process.returncode in (0, 1) and "Traceback" not in err, shown
    for line in err.splitlines():  # held ambiguous is the only trouble expected
        if line.startswith("note: newsletter.toml: recorded [state] id"):
            continue  # the first real delivery records the shared state's id
        assert "held as ambiguous" in line, shown


# --- an unsubscribe through one host's `serve`, seen by the other ---


@contextlib.contextmanager
def serving(where: Path, env: dict[str, str]):
    """`newsletter serve --port 0` from `where`, in a process of its own: yields its
    base URL; stopped with SIGTERM (and must stop cleanly)."""
    pipe = subprocess.PIPE
    process = subprocess.Popen([*NEWSLETTER, "serve", "--port", "0"], cwd=where, env=env,
                               stdout=pipe, stderr=pipe, text=True)  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("Unsubscribe endpoint at http://127.0.0.1:"), (
            line + process.stderr.read()
        )
        yield line.split()[3].rstrip("/")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0 and "Traceback" not in err, err


def call(url: str, body: bytes | None = None) -> tuple[int, str]:
    method = "POST" if body is not None else "GET"
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def link_in_outbox(outbox: Path, email: str) -> str:
    """The List-Unsubscribe link of `email`'s .eml: path and query, without the host."""
    for eml in outbox.rglob(f"{email}.eml"):
        head = eml.read_text().split("\n\n", 1)[0]
        found = re.search(r"^List-Unsubscribe: <([^>]+)>", head, re.M)
        if found:
            parts = urllib.parse.urlsplit(found.group(1))
            return f"{parts.path}?{parts.query}"
    raise AssertionError(f"no email to {email} in {outbox}")


@pytest.mark.slow  # several processes: three `serve`, the commands of two checkouts
def test_an_unsubscribe_through_one_hosts_serve_holds_on_the_other(
    project_dir, postgres, tmp_path, monkeypatch
):
    """The secret that signs the links is the shared state's (no NEWSLETTER_SECRET),
    and so are the suppressions: the clone skips the address and verifies its link."""
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    laptop, server = two_checkouts(project_dir, tmp_path, postgres, monkeypatch)
    env = dict(os.environ)
    ok(run(laptop, env, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes"))
    link = link_in_outbox(laptop / "outbox", "zoe@example.org")
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    forged = link.replace(signature, signature[:-1] + ("1" if signature[-1] == "0" else "0"))

    with serving(laptop, env) as on_laptop:
        status_code, page = call(on_laptop + link, ONE_CLICK)
        assert status_code == 200, page
        assert "zoe@example.org will not get Pop Culture Weekly again." in page

    listed = json.loads(ok(run(server, env, "subscribers", "list", "sample", "--json")).stdout)
    zoe = next(row for row in listed if row["email"] == "zoe@example.org")
    assert zoe["state"] == "suppressed" and zoe["reason"].startswith("unsubscribed (one-click")
    dry = ok(run(server, env, "send", "articles/welcome.md", "--list", "sample", "--dry-run"))
    assert "recipients  3 (skipping 2 bad rows, 1 suppressed)" in dry.stdout, dry.stdout
    assert "zoe@example.org" not in dry.stdout
    ok(run(server, env, "send", "articles/welcome.md", "--list", "sample", "--yes"))
    sent = sorted(p.name for p in (server / "outbox" / "welcome").glob("*.eml"))
    assert sent == ["ada@example.com.eml", "nameless@example.com.eml", "tom@example.net.eml"]
    skipped = json.loads(
        ok(run(laptop, env, "status", "welcome", "--recipients", "--json")).stdout
    )["recipients"]
    assert {r["email"]: r["state"] for r in skipped}["zoe@example.org"] == "skipped"

    with serving(server, env) as on_server, serving(laptop, env) as on_laptop:
        for base in (on_server, on_laptop):
            status_code, page = call(base + link)  # the old link, as a mail scanner fetches it
            assert status_code == 200, page
            assert "Stop sending Pop Culture Weekly to zoe@example.org?" in page
            assert call(base + forged)[0] == 400  # it is checked, not taken on trust
    assert not (server / ".newsletter" / "secret").exists()
    assert not (laptop / ".newsletter" / "secret").exists()
    with psycopg.connect(os.environ["NEWSLETTER_STATE_URL"]) as db:  # one key, the state's
        assert db.execute("SELECT name FROM secrets").fetchall() == [("unsubscribe",)]
