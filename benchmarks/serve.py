"""Unsubscribe endpoint benchmark: `newsletter serve` under load from a second
process, beside a "hello" WSGI app served the same way in the same run.

Run from anywhere:  .venv/bin/python benchmarks/serve.py [--requests 3000] [--runs 3]
                                                          [--workers 8] [--engine sqlite]

- ours: `newsletter serve --port 0` as a process, from a new project (`newsletter
  init` in a temporary folder), NEWSLETTER_SECRET in its environment; its state on
  SQLite (the default) or, with --engine postgresql, on a throw-away PostgreSQL
  server this script starts (tests/postgres_server.py) and stops;
- floor: a WSGI app that reads the body and answers "hello", in the same server
  (newsletter.web.production.Endpoint: waitress, the same limits, threads and one
  log line a request), as a process of its own;
- the load: a client process of --workers threads, each with one kept-alive
  http.client connection, sending --requests requests in all, as fast as answered:
  GET of a signed unsubscribe link (newsletter.signing.Signer with the same secret,
  one address a request), then the RFC 8058 one-click POST (`List-Unsubscribe=
  One-Click`, form-encoded) of the link of a new address each time (each records a
  suppression: the state is checked to hold every one afterwards). The state is made
  before serve starts (as on a project that has sent), unless --fresh-state.
Prints requests/s, p50 and p99 latency (client side, queueing included), errors
(non-2xx answers or exceptions; must be 0), the server's CPU per request and its
peak RSS, medians over runs, and ours against the floor. The client shares the
machine: on few cores it bounds the floor's figure more than ours.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from measure import postgres_server

SECRET = "benchmark-secret-" + "s" * 32
LIST = "sample"
ONE_CLICK = "List-Unsubscribe=One-Click"
LOGGED = re.compile(r"(GET|POST) /unsubscribe \d{3} \d+ ms")  # serve's line for a request

CLIENT = textwrap.dedent(
    """
    import http.client, itertools, json, statistics, sys, threading, time
    port, method, paths_file, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    paths = open(paths_file).read().split()
    body = b"List-Unsubscribe=One-Click" if method == "POST" else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    taken = itertools.count()  # next() on it is atomic: each path is sent once
    barrier = threading.Barrier(workers + 1)
    results = []
    def work():
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        latencies, errors, connections, first = [], 0, 0, None
        barrier.wait()
        while (i := next(taken)) < len(paths):
            connections += conn.sock is None  # opened now (the first, or after a close)
            started = time.perf_counter()
            try:
                conn.request(method, paths[i], body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                ok = 200 <= answer.status < 300
                problem = f"{answer.status} {answer.reason}"
            except Exception as exc:
                ok, problem = False, repr(exc)
                conn.close()
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors += 1
                first = first or problem
        conn.close()
        results.append((latencies, errors, connections, first))
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r[0])
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(json.dumps({"requests": len(latencies), "seconds": seconds, "p50": cuts[49],
                      "p99": cuts[98], "errors": sum(r[1] for r in results),
                      "connections": sum(r[2] for r in results),
                      "first_error": next((r[3] for r in results if r[3]), None)}))
    """
)

HELLO = textwrap.dedent(
    """
    import signal, sys
    from newsletter.web.production import Endpoint
    def hello(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        data = b"<!DOCTYPE html><title>hello</title><p>hello " + str(len(body)).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(data)))])
        return [data]
    server = Endpoint(hello, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"hello at http://127.0.0.1:{server.port}/", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    with server:
        server.serve_forever()
    """
)


class Served:
    """A server process on a free loopback port, with its CPU time and peak RSS."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as err:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        line = self.process.stdout.readline()  # printed once it listens
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if found is None:
            self.process.kill()
            sys.exit(f"{' '.join(command)} did not start: {line}{log.read_text()[-2000:]}")
        self.port = int(found.group(1))

    def cpu(self) -> float:
        """CPU seconds so far (Linux's /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> str:
        """SIGTERM (as systemd stops it); its log, checked for a clean stop."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log = self.log.read_text()
        if self.process.returncode != 0 or "Traceback" in log:
            print(f"warning: {self.process.args} ended {self.process.returncode}: {log[-1500:]}")
        return log


def links(secret: str, count: int, prefix: str) -> list[str]:
    """Path and query of the signed unsubscribe links of `count` new addresses."""
    from newsletter.signing import Signer

    signer = Signer(secret.encode(), "http://127.0.0.1:8025/unsubscribe").links(LIST)
    paths = []
    for i in range(count):
        parts = urlsplit(signer.url(f"{prefix}{i}@example{i % 97}.com"))
        paths.append(f"{parts.path}?{parts.query}")
    return paths


def load(server: Served, method: str, paths: list[str], workers: int, tmp: Path) -> dict:
    """One phase: the client process sends every path once; its figures, and the
    server's CPU per request in ms."""
    paths_file = tmp / "paths.txt"
    paths_file.write_text("\n".join(paths))
    before = server.cpu()
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, str(server.port), method, str(paths_file), str(workers)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"the client failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout)
    figures["cpu_ms"] = (server.cpu() - before) * 1000 / len(paths)
    return figures


def warm(server: Served, paths: list[str]) -> None:
    """A few requests first: what the first ones load is not the steady cost."""
    for path in paths:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=30) as got:
            got.read()


def suppressed(root: Path, state_url: str | None) -> int:
    from newsletter.state import Database

    with Database(state_url or root / ".newsletter" / "state.db") as state:
        return sum(1 for _ in state.suppressions.all())


def stored_secret(root: Path, env: dict[str, str]) -> str:
    """The project's key as kept in its state (made now, as a first send would)."""
    from newsletter.project import Project
    from newsletter.state.secrets import UNSUBSCRIBE

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the project reads its environment: serve's
    try:
        with Project.open(root) as project:
            _ = project.signer
            return str(project.state.secrets.get(UNSUBSCRIBE))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="in each phase of each run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8, help="concurrent connections")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--fresh-state",
        action="store_true",
        help="no state before serve starts: its first requests make it, as on a new project",
    )
    state.add_argument(
        "--secret-in-state",
        action="store_true",
        help="no NEWSLETTER_SECRET: serve takes the key from the state (the default setup)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    pg = None
    try:
        env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
        env.pop("NEWSLETTER_STATE_URL", None)
        if args.secret_in_state:
            del env["NEWSLETTER_SECRET"]
        state_url = None
        if args.engine == "postgresql":
            pg = postgres_server()
            state_url = env["NEWSLETTER_STATE_URL"] = pg.url(pg.new_database())
        with tempfile.TemporaryDirectory() as folder:
            results, logs, made = bench(Path(folder), env, state_url, args)
    finally:
        if pg is not None:
            pg.stop()
    key = "the state" if args.secret_in_state else "NEWSLETTER_SECRET"
    print(f"newsletter serve benchmark -- python {sys.version.split()[0]}, state on "
          f"{args.engine}, the key from {key}, "
          f"{args.workers} concurrent keep-alive connections, "
          f"{args.requests:,} requests a phase")  # fmt: skip
    report(results, args.runs)
    expected = args.runs * args.requests
    print(f"  the state holds {made:,} suppressions after the one-click POSTs "
          f"(expected {expected:,}); serve logged {logs}")  # fmt: skip
    if made != expected or any(r["errors"] for runs in results.values() for r in runs):
        sys.exit("errors, or suppressions missing")


def bench(tmp: Path, env: dict[str, str], state_url: str | None, args) -> tuple:
    tool = Path(sys.executable).parent / "newsletter"
    root = tmp / "p"
    subprocess.run([str(tool), "init", str(root)], check=True, capture_output=True, env=env)
    secret = SECRET
    if args.secret_in_state:
        secret = stored_secret(root, env)
    elif not args.fresh_state:  # as on a project that has sent: the state is there
        from newsletter.state import Database

        Database(state_url or root / ".newsletter" / "state.db").close()
    commands = {"hello": [sys.executable, "-c", HELLO],
                "ours": [sys.executable, "-m", "newsletter", "serve", "--port", "0"]}  # fmt: skip
    servers: dict[str, Served] = {}
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        for name, command in commands.items():
            servers[name] = Served(command, root, env, tmp / f"{name}.log")
        for server in servers.values():
            warm(server, links(secret, 20, "warm"))
        for run in range(args.runs):  # interleaved, so the machine's noise is shared
            for method in ("GET", "POST"):
                paths = links(secret, args.requests, f"reader{run}-{method.lower()}-")
                for name, server in servers.items():
                    results.setdefault((method, name), []).append(
                        load(server, method, paths, args.workers, tmp)
                    )
        for (_, name), runs in results.items():
            runs[-1]["peak_mb"] = servers[name].peak_mb()
    finally:
        logs = {name: server.stop() for name, server in servers.items()}
    lines = [line for line in logs["ours"].splitlines() if line.strip()]  # one a request, others
    requests = sum(1 for line in lines if LOGGED.fullmatch(line))
    others = sorted({re.sub(r"\d+", "N", line) for line in lines
                     if not LOGGED.fullmatch(line)})  # fmt: skip
    logged = f"{requests:,} request lines" + (
        f" and {len(lines) - requests:,} others: {'; '.join(others)[:300]}" if others else ""
    )
    return results, logged, suppressed(root, state_url)


LABELS = {
    ("GET", "hello"): "floor: hello app, GET",
    ("GET", "ours"): "newsletter serve, GET signed link",
    ("POST", "hello"): "floor: hello app, POST form",
    ("POST", "ours"): "newsletter serve, one-click POST",
}


def report(results: dict, runs: int) -> None:
    print(f"\n{f'{runs} runs each, interleaved; medians':36} {'requests/s':>10}  "
          f"{'p50':>8}  {'p99':>8}  errors  conns  {'CPU/req':>8}  peak RSS")  # fmt: skip
    rates = {}
    cpu = {}
    for key, label in LABELS.items():
        got = results[key]
        rates[key] = statistics.median(r["requests"] / r["seconds"] for r in got)
        cpu[key] = statistics.median(r["cpu_ms"] for r in got)
        p50 = statistics.median(r["p50"] for r in got) * 1000
        p99 = statistics.median(r["p99"] for r in got) * 1000
        errors = sum(r["errors"] for r in got)
        conns = max(r["connections"] for r in got)
        print(
            f"  {label:34} {rates[key]:10,.0f}  {p50:5.1f} ms  {p99:5.1f} ms  {errors:6,}  "
            f"{conns:5}  {cpu[key]:5.2f} ms  {got[-1]['peak_mb']:5.0f} MB"
        )
        first = next((r["first_error"] for r in got if r["first_error"]), None)
        if first:
            print(f"    first error: {first}")
    for method in ("GET", "POST"):
        ours, floor = (method, "ours"), (method, "hello")
        print(
            f"  {method}: ours / floor {rates[floor] / rates[ours]:.2f}x the time a request "
            f"(requests/s {rates[ours] / rates[floor]:.2f}x), "
            f"{cpu[ours] / cpu[floor]:.2f}x the server's CPU a request"
        )


if __name__ == "__main__":
    main()
