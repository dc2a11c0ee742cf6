"""SendGrid Event Webhook benchmark: `newsletter serve` taking 1,000,000 signed events
in posts of 1,000 from a second process, beside a floor app served the same way.

Run from anywhere:  .venv/bin/python benchmarks/events.py [--events 1000000]
                                                           [--engine sqlite|postgresql]
                                                           [--workers 2] [--runs 1]

- the ledger: a new project (`newsletter init`) whose state holds one issue sent to
  events/4 recipients through SendGrid (frozen and settled through the Ledger, a
  request's X-Message-Id for each 1,000), [tracking] opens and clicks on, so every
  event is recorded: for each recipient processed, delivered, open and click, posted
  in that order, 1,000 to a post (as SendGrid batches them by time);
- ours: `newsletter serve --port 0`, a process of its own, the webhook's public key
  in its environment; its state on SQLite or (--engine postgresql) a throw-away
  PostgreSQL server started and stopped here;
- floor: the same server (newsletter.web.production.Endpoint: waitress, the same
  limits and threads) running an app that checks each post's signature with the
  same helper and reads its JSON, and records nothing;
- the client: a process of --workers threads with one kept-alive connection each,
  making, signing (ECDSA P-256, as SendGrid) and posting each body as it goes.
Prints events/s, the median post's latency, the server's peak RSS, errors (must be
0) and the events the state holds afterwards (must be all of them), and ours against
the floor.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from measure import postgres_server
from serve import Served

BATCH = 1000
KINDS = ("processed", "delivered", "open", "click")
ISSUE = "bench-issue"

CLIENT = textwrap.dedent(
    """
    import base64, http.client, itertools, json, sys, threading, time
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    port, key_file, first, count, workers = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
    kinds = ("processed", "delivered", "open", "click")
    readers = count // len(kinds)
    posts = count // 1000
    taken = itertools.count()
    barrier = threading.Barrier(workers + 1)
    results = []
    def body(n):
        kind, start = kinds[n * 1000 // readers], n * 1000 % readers
        now = int(time.time())
        return json.dumps([{
            "email": f"reader{i}@example.com", "timestamp": now, "event": kind,
            "sg_event_id": f"e{n}-{i}", "sg_message_id": f"m{i // 1000}.recvd-1-0.0",
            "issue": "bench-issue", "r": str(first + i),
            **({"url": f"https://example.com/{i % 7}"} if kind == "click" else {}),
            **({"sg_machine_open": i % 5 == 0} if kind == "open" else {}),
        } for i in range(start, start + 1000)]).encode()
    def work():
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
        latencies, errors, first_error = [], 0, None
        barrier.wait()
        while (n := next(taken)) < posts:
            data = body(n)
            stamp = str(int(time.time()))
            signature = base64.b64encode(key.sign(stamp.encode() + data, ec.ECDSA(hashes.SHA256())))
            headers = {"Content-Type": "application/json",
                       "X-Twilio-Email-Event-Webhook-Signature": signature.decode(),
                       "X-Twilio-Email-Event-Webhook-Timestamp": stamp}
            started = time.perf_counter()
            try:
                conn.request("POST", "/events/sendgrid", body=data, headers=headers)
                answer = conn.getresponse()
                answer.read()
                ok, problem = 200 <= answer.status < 300, f"{answer.status} {answer.reason}"
            except Exception as exc:
                ok, problem = False, repr(exc)
                conn.close()
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors += 1
                first_error = first_error or problem
        conn.close()
        results.append((latencies, errors, first_error))
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r[0])
    print(json.dumps({"posts": len(latencies), "seconds": seconds,
                      "p50": latencies[len(latencies) // 2],
                      "errors": sum(r[1] for r in results),
                      "first_error": next((r[2] for r in results if r[2]), None)}))
    """
)

FLOOR = textwrap.dedent(
    """
    import json, os, signal, sys
    from newsletter.events.webhook import check, read_events, verifier
    from newsletter.web.production import Endpoint
    import time
    key = verifier(os.environ["SENDGRID_WEBHOOK_PUBLIC_KEY"])
    def floor(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        text = check(body, environ["HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE"],
                     environ["HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP"], key, time.time())
        read_events(text)
        start_response("204 No Content", [])
        return [b""]
    server = Endpoint(floor)
    print(f"floor at http://127.0.0.1:{server.port}/", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    with server:
        server.serve_forever()
    """
)


def key_pair(tmp: Path) -> tuple[Path, str]:
    """A private key's PEM file (the client's) and the public key as SendGrid shows it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    pem = tmp / "key.pem"
    pem.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = private.public_key().public_bytes(serialization.Encoding.DER, spki)
    return pem, base64.b64encode(der).decode()


def sent_issue(root: Path, readers: int, env: dict[str, str]) -> int:
    """The issue in the ledger, accepted for every reader; its first recipient's number."""
    from newsletter.audience.lists import Subscriber
    from newsletter.project import Project
    from newsletter.transports.base import BatchResult

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with Project.open(root) as project:
            rendered = project.render(project.read_issue([root / "articles" / "welcome.md"], ISSUE))
            now = datetime.now(UTC)
            people = (Subscriber(f"reader{i}@example.com", f"Reader {i}") for i in range(readers))
            ledger = project.state.ledger
            ledger.freeze(rendered, "main", "sendgrid", ["articles/welcome.md"], "x", people, now)
            while claimed := ledger.claim(ISSUE, BATCH, None, now):
                batch_id = f"m{(claimed.number - 1)}"
                emails = [c.email for c in claimed]
                result = BatchResult(dict.fromkeys(emails, batch_id), {}, batch_id=batch_id)
                ledger.settle(ISSUE, claimed.number, emails, result, now)
            return project.state.issues.key(ISSUE)[1]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def held(root: Path, state_url: str | None) -> tuple[int, int]:
    """(events kept, recipients delivered) in the state."""
    from newsletter.state import Database

    with Database(state_url or root / ".newsletter" / "state.db") as state:
        events = int(state.engine.value("SELECT count(*) FROM events"))
        fates = int(state.engine.value("SELECT count(*) FROM fates WHERE state = 'delivered'"))
    return events, fates


def bench(tmp: Path, env: dict[str, str], pg, args) -> dict:
    tool = Path(sys.executable).parent / "newsletter"
    results: dict[str, list[dict]] = {"floor": [], "ours": []}
    for run in range(args.runs):
        root = tmp / f"p{run}"
        subprocess.run([str(tool), "init", str(root)], check=True, capture_output=True, env=env)
        with (root / "newsletter.toml").open("a") as settings:
            settings.write("\n[tracking]\nopens = true\nclicks = true\n")
        run_env = dict(env)
        if pg is not None:  # a new database a run
            run_env["NEWSLETTER_STATE_URL"] = pg.url(pg.new_database())
        pem, public = key_pair(tmp)
        run_env["SENDGRID_WEBHOOK_PUBLIC_KEY"] = public
        first = sent_issue(root, args.events // len(KINDS), run_env)
        serve = [sys.executable, "-m", "newsletter", "serve", "--port", "0"]
        for name, command in (("floor", [sys.executable, "-c", FLOOR]), ("ours", serve)):
            server = Served(command, root, run_env, tmp / f"{name}.log")
            try:
                done = subprocess.run(
                    [sys.executable, "-c", CLIENT, str(server.port), str(pem), str(first),
                     str(args.events), str(args.workers)],
                    capture_output=True, text=True,
                )  # fmt: skip
                if done.returncode != 0:
                    sys.exit(f"the client failed:\n{done.stderr[-2000:]}")
                figures = json.loads(done.stdout)
                figures["peak_mb"] = server.peak_mb()
            finally:
                server.stop()
            if name == "ours":
                figures["held"] = held(root, run_env.get("NEWSLETTER_STATE_URL"))
            results[name].append(figures)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="a multiple of 4,000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="concurrent connections")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if args.events % (BATCH * len(KINDS)):
        parser.error("--events must be a multiple of 4,000")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    pg = None
    try:
        env = dict(os.environ, NEWSLETTER_SECRET="benchmark-secret-" + "s" * 32)
        env.pop("NEWSLETTER_STATE_URL", None)
        if args.engine == "postgresql":
            pg = postgres_server()
        with tempfile.TemporaryDirectory() as folder:
            results = bench(Path(folder), env, pg, args)
    finally:
        if pg is not None:
            pg.stop()
    print(f"newsletter serve, SendGrid's Event Webhook -- python {sys.version.split()[0]}, "
          f"state on {args.engine}, {args.events:,} events in posts of {BATCH:,}, "
          f"{args.workers} connections, {args.runs} run(s), medians")  # fmt: skip
    rates = {}
    for name, label in (("floor", "floor: verify and read, record nothing"),
                        ("ours", "newsletter serve, events/sendgrid")):  # fmt: skip
        got = results[name]
        rates[name] = statistics.median(r["posts"] * BATCH / r["seconds"] for r in got)
        p50 = statistics.median(r["p50"] for r in got) * 1000
        errors = sum(r["errors"] for r in got)
        print(f"  {label:40} {rates[name]:9,.0f} events/s  post p50 {p50:6.1f} ms  "
              f"errors {errors}  peak RSS {got[-1]['peak_mb']:4.0f} MB")  # fmt: skip
        first = next((r["first_error"] for r in got if r["first_error"]), None)
        if first:
            print(f"    first error: {first}")
    kept = [r["held"] for r in results["ours"]]
    print(f"  ours / floor: {rates['floor'] / rates['ours']:.2f}x the time an event")
    print(
        f"  the state holds {kept[-1][0]:,} events (posted {args.events:,}) and "
        f"{kept[-1][1]:,} delivered recipients (expected {args.events // len(KINDS):,})"
    )
    lost = any(k != (args.events, args.events // len(KINDS)) for k in kept)
    if lost or any(r["errors"] for runs in results.values() for r in runs):
        sys.exit("errors, or events lost")


if __name__ == "__main__":
    main()
