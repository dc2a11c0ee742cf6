"""SendGrid send benchmark: N recipients through the SendGrid transport to a local
SendGrid-like server, beside a floor measured in the same run.

Run from anywhere:  .venv/bin/python benchmarks/send.py [--n 100000] [--runs 3]

- ours: `newsletter send --transport sendgrid` as a process (read and check the
  list, personalise, build 1000-recipient requests, post them with the official
  client);
- floors: a minimal script that reads the same CSV with `csv`, builds the same JSON
  batches (same substitutions, same unsubscribe links) and posts them with urllib to
  the same server, with no checks, no state and no official client at all; once
  sealing each reader's token as we do (AES-SIV), once with a fixed token of the same
  length (what sending costs when the link costs nothing).
All talk to one server process (it parses every request and counts recipients).
Prints wall time, recipients/s, requests and peak RSS of each, medians over runs,
and ours against each floor. Targets: 1,000,000 recipients in <= 60 s and <= 300 MB,
within 2x of the floor that does not sign.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from measure import run_measured

REPO = Path(__file__).resolve().parent.parent
SAMPLE = "articles/000_1718b35f7cc77fd8.txt"
KEY = "SG.benchmark-key"

SERVER = textwrap.dedent(
    """
    import json, sys, threading, time, uuid
    LATENCY = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    counts = {"requests": 0, "recipients": 0}
    lock = threading.Lock()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def do_POST(self):
            if LATENCY and self.path != "/count":
                time.sleep(LATENCY)  # the network and the provider, as a wait
            if self.path == "/count":
                data = json.dumps(counts).encode()
                with lock:
                    counts.update(requests=0, recipients=0)
            else:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    counts["requests"] += 1
                    counts["recipients"] += len(body["personalizations"])
                data = b""
            self.send_response(200 if self.path == "/count" else 202)
            self.send_header("X-Message-Id", uuid.uuid4().hex[:22])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    """
)

FLOOR = textwrap.dedent(
    """
    import base64, csv, hashlib, hmac, html, json, sys, urllib.request
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV
    csv_path, url, key, secret = sys.argv[1:5]
    content = json.load(open(sys.argv[5]))
    signed = sys.argv[6] == "sign"
    siv = AESSIV(hmac.new(secret.encode(), b"newsletter reader token", hashlib.sha512).digest())
    def links(email):
        if not signed:  # the same length of token, not computed
            token = "t" * ((len(email.encode()) + 16) * 4 // 3 + 1)
        else:
            sealed = siv.encrypt(email.encode(), [b"reader", b"big"])
            token = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()
        return (f"http://127.0.0.1:8025/unsubscribe?l=big&t={token}",
                f"http://127.0.0.1:8025/preferences?l=big&t={token}")
    def post(people):
        body = dict(content, personalizations=people)
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).read()
    people = []
    with open(csv_path, newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for email, name in rows:
            unsub, prefs = links(email)
            people.append({"to": [{"email": email, "name": name}],
                "substitutions": {
                    content["h_name"]: html.escape(name), content["h_email"]: email,
                    content["h_unsub"]: html.escape(unsub), content["t_name"]: name,
                    content["t_email"]: email, content["t_unsub"]: unsub,
                    content["h_prefs"]: html.escape(prefs), content["t_prefs"]: prefs},
                "headers": {"List-Unsubscribe": f"<{unsub}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}})
            if len(people) == 1000:
                post(people)
                people = []
    if people:
        post(people)
    """
)


def server_count(url: str) -> dict[str, int]:
    import urllib.request

    request = urllib.request.Request(f"{url}/count", data=b"", method="POST")
    return json.loads(urllib.request.urlopen(request).read())


def floor_content(root: Path, path: Path) -> None:
    """The rendered issue's shared request parts and token names, for the floor."""
    sys.path.insert(0, str(REPO))
    from newsletter.audience.lists import Subscriber
    from newsletter.project import Project
    from newsletter.send.plan import plan_send
    from newsletter.transports.base import Batch
    from newsletter.transports.sendgrid.payload import build_payload

    project = Project.open(root)
    plan = plan_send(project, [root / SAMPLE], "big", transport_kind="outbox")
    recipient = plan.personaliser.recipient(Subscriber("x@example.com", "X"))
    batch = Batch(plan.rendered, (recipient,), plan.envelope)
    body = build_payload(batch, project.settings.sendgrid).data()
    del body["personalizations"]
    issue = plan.rendered
    body.update(
        h_name=issue.html.token("f_name", "html"),
        h_email=issue.html.token("email", "html"),
        h_unsub=issue.html.token("unsubscribe_url", "html"),
        t_name=issue.text.token("f_name", "text"),
        t_email=issue.text.token("email", "text"),
        t_unsub=issue.text.token("unsubscribe_url", "text"),
        h_prefs=issue.html.token("preferences_url", "html"),
        t_prefs=issue.text.token("preferences_url", "text"),
    )
    path.write_text(json.dumps(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the server waits this long before each answer (a real API is not on loopback)",
    )
    args = parser.parse_args()
    n = args.n
    tool = Path(sys.executable).parent / "newsletter"
    print(
        f"newsletter SendGrid send benchmark -- python {sys.version.split()[0]}, {n:,} recipients"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        subprocess.run([str(tool), "init", str(root), "--no-git"], check=True,
                       capture_output=True)  # fmt: skip
        shutil.copy(REPO / SAMPLE, root / SAMPLE)  # init writes its own welcome article only
        with (root / "subscribers" / "big.csv").open("w") as handle:
            handle.write("email,name\n")
            handle.writelines(f"reader{i}@example{i % 97}.com,Reader {i}\n" for i in range(n))
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(args.latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        settings = root / "newsletter.toml"
        settings.write_text(
            settings.read_text().replace('host = "https://api.sendgrid.com"', f'host = "{url}"')
        )
        env = dict(os.environ, SENDGRID_API_KEY=KEY, NEWSLETTER_SECRET="s" * 32)
        floor_content(root, Path(tmp) / "content.json")
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR)
        ours_args = ["-m", "newsletter", "send", SAMPLE, "--list", "big", "--transport",
                     "sendgrid", "--yes", "--id"]  # fmt: skip
        content = str(Path(tmp) / "content.json")
        floor_args = [str(floor_script), str(root / "subscribers" / "big.csv"),
                      f"{url}/v3/mail/send", KEY, "s" * 32, content]  # fmt: skip
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in LABELS}
        counts: dict[str, dict[str, int]] = {}
        try:
            for run in range(args.runs):  # a new issue id each run: a sent one is not resent
                commands = {"ours": [*ours_args, f"bench-{run}"],
                            "floor": [*floor_args, "sign"],
                            "unsigned": [*floor_args, "no-sign"]}  # fmt: skip
                for name, cmd in commands.items():
                    wall, _, rss = run_measured(cmd, root, env)
                    results[name].append((wall, rss))
                    counts[name] = server_count(url)
        finally:
            server.stdin.close()
            server.wait(timeout=10)
    report(results, counts, n, args.runs)


LABELS = {
    "ours": "newsletter send (sendgrid)",
    "floor": "floor: csv + json + urllib, signing",
    "unsigned": "floor: the same, links not signed",
}


def report(results: dict, counts: dict, n: int, runs: int) -> None:
    print(f"\n{runs} runs each, interleaved; medians" + " " * 17
          + "wall     recipients/s  requests  peak RSS")  # fmt: skip
    walls = {}
    for name, label in LABELS.items():
        walls[name] = statistics.median(w for w, _ in results[name])
        rss = max(r for _, r in results[name])
        print(
            f"  {label:47} {walls[name]:7.2f} s  {n / walls[name]:12,.0f}  "
            f"{counts[name]['requests']:8,}  {rss:6.0f} MB   (server saw "
            f"{counts[name]['recipients']:,} recipients)"
        )
    per_million = walls["ours"] * 1_000_000 / n
    print(
        f"  ours / floor that does not sign: {walls['ours'] / walls['unsigned']:.2f}x "
        f"(target <= 2x);  ours / floor that signs: {walls['ours'] / walls['floor']:.2f}x;  "
        f"at this rate 1,000,000 take {per_million:.0f} s (target <= 60 s)"
    )


if __name__ == "__main__":
    main()
