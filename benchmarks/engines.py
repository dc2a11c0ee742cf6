"""State engine benchmark: N recipients through the SendGrid transport with the state
on PostgreSQL, beside the embedded SQLite state in the same run; then the same N
sent by 1, 2 and 4 `newsletter cron` processes sharing the PostgreSQL state.

Run from anywhere:  .venv/bin/python benchmarks/engines.py [--n 1000000] [--runs 3]

- send: `newsletter send --transport sendgrid` as a process (as benchmarks/send.py),
  once with NEWSLETTER_STATE_URL=sqlite:///... and once with postgresql://...; each
  run gets a fresh state of its own (a new file, a new database);
- cron: the issue queued with `newsletter schedule ARTICLE --list big --now
  --transport sendgrid` into a fresh database, then K `newsletter cron` processes
  started at once, timed until the last exits; the server must have counted exactly
  N recipients (each address once, whoever sent it).
PostgreSQL is a throw-away server this script starts (tests/postgres_server.py:
initdb in a temporary folder, fsync off, as the `postgres` user when root) and
stops. All sends talk to one local SendGrid-like server process (send.py's).
Prints wall time, recipients/s and peak RSS (of the newsletter processes, not of
PostgreSQL's), medians over runs, and the ratios. Targets: PostgreSQL <= 1.5x
SQLite's time and <= 300 MB; 2 and 4 cron processes faster than one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import (
    drop_database,
    measured_result,
    postgres_server,
    postgres_version,
    run_measured,
    start_measured,
)
from send import KEY, REPO, SAMPLE, SERVER, server_count

CRONS = (1, 2, 4)
SECRET = "s" * 32


def make_project(tmp: Path, n: int, url: str) -> Path:
    """send.py's project: `newsletter init`, a list `big` of n, [sendgrid] host at `url`."""
    tool = Path(sys.executable).parent / "newsletter"
    root = tmp / "p"
    subprocess.run([str(tool), "init", str(root)], check=True, capture_output=True)
    shutil.copy(REPO / SAMPLE, root / SAMPLE)  # init writes its own welcome article only
    with (root / "subscribers" / "big.csv").open("w") as handle:
        handle.write("email,name\n")
        handle.writelines(f"reader{i}@example{i % 97}.com,Reader {i}\n" for i in range(n))
    settings = root / "newsletter.toml"
    settings.write_text(
        settings.read_text().replace('host = "https://api.sendgrid.com"', f'host = "{url}"')
    )
    return root


class Bench:
    """The project, the SendGrid-like server and the PostgreSQL server of one run."""

    def __init__(self, root: Path, url: str, pg, n: int) -> None:
        self.root, self.url, self.pg, self.n = root, url, pg, n
        self.settings = (root / "newsletter.toml").read_text()
        self.env = dict(os.environ, SENDGRID_API_KEY=KEY, NEWSLETTER_SECRET=SECRET)
        self.env.pop("NEWSLETTER_STATE_URL", None)
        self.wrong: list[str] = []  # what the server counted that it should not have

    def new_project(self) -> None:
        """newsletter.toml as made, for a fresh state: without the [state] id a real
        send records (which would refuse another state)."""
        (self.root / "newsletter.toml").write_text(self.settings)

    def counted(self, what: str) -> dict[str, int]:
        counts = server_count(self.url)
        if counts["recipients"] != self.n:
            self.wrong.append(f"{what}: the server counted {counts['recipients']:,} recipients")
        return counts

    def send(self, engine: str, run: int) -> tuple[float, float, dict[str, int]]:
        """(wall, peak RSS, server counts) of one `newsletter send` on a fresh state."""
        server_count(self.url)  # reset
        name = None
        if engine == "postgresql":
            name = self.pg.new_database()
            state = self.pg.url(name)
        else:
            state = f"sqlite:///{self.root.parent / f'state-{run}.db'}"
        env = dict(self.env, NEWSLETTER_STATE_URL=state)
        self.new_project()
        args = ["-m", "newsletter", "send", SAMPLE, "--list", "big", "--transport",
                "sendgrid", "--yes", "--id", f"bench-{engine}-{run}"]  # fmt: skip
        try:
            wall, _, rss = run_measured(args, self.root, env)
        finally:
            if name is not None:
                drop_database(self.pg, name)
            else:
                for leftover in self.root.parent.glob(f"state-{run}.db*"):
                    leftover.unlink()
        return wall, rss, self.counted(f"send on {engine}, run {run + 1}")

    def cron(self, k: int, run: int) -> tuple[float, float, float, int]:
        """(wall of K crons started at once, schedule's wall, the largest peak RSS, how
        many of them reported sending) on a fresh database."""
        name = self.pg.new_database()
        env = dict(self.env, NEWSLETTER_STATE_URL=self.pg.url(name))
        self.new_project()
        try:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "newsletter", "schedule", SAMPLE, "--list", "big",
                 "--now", "--transport", "sendgrid", "--id", f"cron-{k}-{run}"],
                cwd=self.root, env=env, check=True, capture_output=True,
            )  # fmt: skip
            scheduled = time.perf_counter() - started
            server_count(self.url)  # reset
            logs = [self.root.parent / f"cron-{i}.log" for i in range(k)]
            started = time.perf_counter()
            crons = [start_measured(["-m", "newsletter", "cron"], self.root, env, log)
                     for log in logs]  # fmt: skip
            for process in crons:
                process.wait()
            wall = time.perf_counter() - started  # until the last has exited
            results = [measured_result(p, log) for p, log in zip(crons, logs, strict=True)]
        finally:
            drop_database(self.pg, name)
        self.counted(f"{k} cron processes, run {run + 1}")
        accepted = [int(m.group(1).replace(",", "")) for out, _, _ in results
                    for m in [re.search(r": ([\d,]+) accepted by", out)] if m]  # fmt: skip
        senders = sum(1 for a in accepted if a)
        return wall, scheduled, max(rss for _, _, rss in results), senders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the server waits this long before each answer (a real API is not on loopback)",
    )
    args = parser.parse_args()
    n = args.n
    sends: dict[str, list] = {"sqlite": [], "postgresql": []}
    crons: dict[int, list] = {k: [] for k in CRONS}
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(args.latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        pg = None
        try:
            url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
            pg = postgres_server()
            print(
                f"newsletter state engine benchmark -- python {sys.version.split()[0]}, "
                f"PostgreSQL {postgres_version(pg)}, {n:,} recipients"
            )
            bench = Bench(make_project(Path(tmp), n, url), url, pg, n)
            for run in range(args.runs):  # interleaved, so the machine's noise is shared
                for engine, results in sends.items():
                    results.append(bench.send(engine, run))
                for k, results in crons.items():
                    results.append(bench.cron(k, run))
        finally:
            if pg is not None:
                pg.stop()
            server.stdin.close()
            server.wait(timeout=10)
    report(sends, crons, n, args.runs)
    if bench.wrong:
        sys.exit("wrong counts:\n  " + "\n  ".join(bench.wrong))


LABELS = {"sqlite": "send (sendgrid), state on SQLite",
          "postgresql": "send (sendgrid), state on PostgreSQL"}  # fmt: skip


def report(sends: dict, crons: dict, n: int, runs: int) -> None:
    print(f"\n{f'{runs} runs each, interleaved; medians':41} {'wall':>9}  {'recipients/s':>12}  "
          f"{'requests':>8}  {'peak RSS':>8}")  # fmt: skip
    walls, rss = {}, {}
    for engine, label in LABELS.items():
        walls[engine] = statistics.median(w for w, _, _ in sends[engine])
        rss[engine] = max(r for _, r, _ in sends[engine])
        counts = sends[engine][-1][2]
        print(
            f"  {label:39} {walls[engine]:7.2f} s  {n / walls[engine]:12,.0f}  "
            f"{counts['requests']:8,}  {rss[engine]:5.0f} MB   (server saw "
            f"{counts['recipients']:,} recipients)"
        )
    print(
        f"  PostgreSQL / SQLite: {walls['postgresql'] / walls['sqlite']:.2f}x the time "
        f"(target <= 1.5x), {rss['postgresql'] / rss['sqlite']:.2f}x the memory; "
        f"PostgreSQL's peak {rss['postgresql']:.0f} MB (target <= 300 MB)"
    )
    print(f"\n{'`newsletter cron` on PostgreSQL, all at once':41} {'wall':>9}  "
          f"{'recipients/s':>12}  {'sent by':>8}  {'peak RSS':>8}  vs one"
          "  schedule --now")  # fmt: skip
    one = statistics.median(w for w, _, _, _ in crons[1])
    for k, results in crons.items():
        wall = statistics.median(w for w, _, _, _ in results)
        peak = max(r for _, _, r, _ in results)
        senders = max(s for _, _, _, s in results)
        schedule = statistics.median(s for _, s, _, _ in results)
        label = f"{k} cron process{'es' if k > 1 else ''}"
        print(
            f"  {label:39} {wall:7.2f} s  {n / wall:12,.0f}  {f'{senders} of {k}':>8}  "
            f"{peak:5.0f} MB  {wall / one:5.2f}x  {schedule:7.2f} s"
        )
    print("  target: 2 and 4 cron processes faster than one (below 1.00x); `sent by`: how "
          "many sent a share (they send one issue together, each its own batches)")  # fmt: skip


if __name__ == "__main__":
    main()
