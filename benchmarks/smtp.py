"""SMTP send benchmark: N recipients to a local SMTP server, in one run:

- ours, 1 connection: `newsletter send --transport smtp` as a process (read and check
  the list, freeze it in the ledger, make each message, one SMTP transaction each,
  record every recipient's state), `[smtp] connections = 1`;
- ours, 4 connections: the same with `[smtp] connections = 4`;
- mailmerge (PyPI, awdeorio/mailmerge): the same list, the same server, a template
  holding the same rendered issue (`mailmerge --no-dry-run --no-limit`);
- floor: a minimal smtplib script, one connection, every message made beforehand
  (the very bytes ours sends, read one after the other from a file), no checks and
  no state;
- server capacity: the floor's script over 4 connections (4 threads), to show what
  the server itself can take.

The server is aiosmtpd in a separate process: a sink that counts the messages and
recipients it accepted and the CPU time it spent. Prints wall time, messages/s, peak
RSS, medians over --runs, and each against the floor. Targets: one connection within
1.3x of the floor, four connections faster than the floor.

Run from anywhere:  .venv/bin/python benchmarks/smtp.py [--n 10000] [--runs 3]
Needs aiosmtpd (in the test extras: `pip install -e '.[test]'`) and mailmerge, which
is not a dependency of this project: it is pip-installed into this Python's
environment when missing (`pip install mailmerge`), or skipped with --no-mailmerge.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
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
SECRET = "s" * 32

SERVER = textwrap.dedent(
    """
    import json, sys, threading, time
    from aiosmtpd.controller import Controller
    counts = {"messages": 0, "recipients": 0}
    lock = threading.Lock()
    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                counts["messages"] += 1
                counts["recipients"] += len(envelope.rcpt_tos)
            return "250 2.0.0 OK"
    class Ephemeral(Controller):
        def _trigger_server(self):
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()
    controller = Ephemeral(Sink(), hostname="127.0.0.1", port=0, server_hostname="localhost")
    controller.start()
    print(controller.port, flush=True)
    cpu = time.process_time()
    for line in sys.stdin:  # "count": the counts since the last one, and the CPU spent
        with lock:
            now = time.process_time()
            print(json.dumps(dict(counts, cpu=now - cpu)), flush=True)
            counts.update(messages=0, recipients=0)
            cpu = now
    controller.stop()
    """
)

FLOOR = textwrap.dedent(
    """
    import smtplib, sys, threading
    port, messages, index, sender, connections = sys.argv[1:6]
    entries = [line.split() for line in open(index)]
    share = [entries[i::int(connections)] for i in range(int(connections))]
    def send(mine):
        smtp = smtplib.SMTP("127.0.0.1", int(port))
        with open(messages, "rb") as handle:
            for email, offset, length in mine:
                handle.seek(int(offset))
                smtp.sendmail(sender, [email], handle.read(int(length)))
        smtp.quit()
    threads = [threading.Thread(target=send, args=(mine,)) for mine in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    """
)


def ensure_mailmerge() -> Path:
    """The mailmerge command of this environment; pip-installed when missing."""
    command = Path(sys.executable).parent / "mailmerge"
    if importlib.util.find_spec("mailmerge") is None or not command.exists():
        print("mailmerge is not installed: pip install mailmerge (into this environment)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mailmerge"], check=True)
    return command


def prepare(root: Path, tmp: Path, port: int) -> tuple[Path, Path, str]:
    """Every recipient's message as ours makes it, in one file with an index (for the
    floor), and mailmerge's template, database and config. Returns (messages, index,
    envelope sender)."""
    sys.path.insert(0, str(REPO))
    from newsletter.audience.lists import BadRow
    from newsletter.message import MessageMaker
    from newsletter.project import Project
    from newsletter.send.plan import plan_send

    project = Project.open(root)
    plan = plan_send(project, [root / SAMPLE], "big", transport_kind="outbox")
    issue = plan.rendered
    maker = MessageMaker(issue, plan.envelope, project.clock.now())
    messages, index = tmp / "messages.bin", tmp / "index.txt"
    keys = sorted(set(issue.html.keys) | set(issue.text.keys) | set(issue.subject.keys))
    with (
        messages.open("wb") as out,
        index.open("w") as listing,
        (tmp / "mailmerge_database.csv").open("w", newline="") as database,
    ):
        import csv

        rows = csv.writer(database)
        rows.writerow(["email", *(f"t_{k}" for k in keys), *(f"h_{k}" for k in keys)])
        offset = 0
        for subscriber in plan.rows():
            if isinstance(subscriber, BadRow):
                continue
            recipient = plan.personaliser.recipient(subscriber)
            _, data = maker.make(recipient)
            out.write(data)
            listing.write(f"{recipient.email} {offset} {len(data)}\n")
            offset += len(data)
            values = recipient.values
            rows.writerow(
                [recipient.email, *(values[k] for k in keys),
                 *(html.escape(values[k]) for k in keys)]
            )  # fmt: skip

    def jinja(template: object, prefix: str) -> str:
        """A rendered part as a Jinja2 template for mailmerge: literals kept raw."""
        literals, fields = template.literals, template.keys
        parts = [f"{{% raw %}}{literals[0]}{{% endraw %}}"]
        for key, literal in zip(fields, literals[1:], strict=True):
            parts.append(f"{{{{ {prefix}_{key} }}}}{{% raw %}}{literal}{{% endraw %}}")
        return "".join(parts)

    newsletter = project.settings.newsletter
    (tmp / "mailmerge_template.txt").write_text(
        f"TO: {{{{ email }}}}\n"
        f"FROM: {newsletter.from_}\n"
        f"SUBJECT: {jinja(issue.subject, 't')}\n"
        f"List-Unsubscribe: <{{{{ t_unsubscribe_url }}}}>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="=_mm_boundary"\n\n'
        "--=_mm_boundary\n"
        'Content-Type: text/plain; charset="utf-8"\n\n'
        f"{jinja(issue.text, 't')}\n"
        "--=_mm_boundary\n"
        'Content-Type: text/html; charset="utf-8"\n\n'
        f"{jinja(issue.html, 'h')}\n"
        "--=_mm_boundary--\n",
        encoding="utf-8",
    )
    (tmp / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\nratelimit = 0\n"
    )
    return messages, index, newsletter.from_.addr_spec


def set_connections(root: Path, port: int, connections: int) -> None:
    settings = root / "newsletter.toml"
    head, _, _ = settings.read_text().partition("[smtp]\n")
    settings.write_text(
        f'{head}[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"connections = {connections}\n"
    )
    for path in (root / ".newsletter").glob("state.db*"):  # every run starts afresh
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-mailmerge", action="store_true", help="leave mailmerge out")
    args = parser.parse_args()
    n = args.n
    mailmerge = None if args.no_mailmerge else ensure_mailmerge()
    print(
        f"newsletter SMTP send benchmark -- python {sys.version.split()[0]}, {n:,} "
        f"recipients, {os.cpu_count()} CPUs, aiosmtpd sink in its own process"
    )
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "p"
        subprocess.run([sys.executable, "-m", "newsletter", "init", str(root)], check=True,
                       capture_output=True, env=env)  # fmt: skip
        shutil.copy(REPO / SAMPLE, root / SAMPLE)  # init writes its own welcome article only
        with (root / "subscribers" / "big.csv").open("w") as handle:
            handle.write("email,name\n")
            handle.writelines(f"reader{i}@example{i % 97}.com,Reader {i}\n" for i in range(n))
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        port = int(server.stdout.readline())

        def count() -> dict[str, float]:
            server.stdin.write("count\n")
            server.stdin.flush()
            return json.loads(server.stdout.readline())

        os.environ["NEWSLETTER_SECRET"] = SECRET
        messages, index, sender = prepare(root, tmp, port)
        floor = tmp / "floor.py"
        floor.write_text(FLOOR)
        ours = ["-m", "newsletter", "send", SAMPLE, "--list", "big", "--transport", "smtp",
                "--yes", "--id", "bench"]  # fmt: skip
        cases: dict[str, tuple[list[str], Path, int]] = {
            "ours, 1 connection": (ours, root, 1),
            "ours, 4 connections": (ours, root, 4),
            "floor: smtplib, 1 connection": (
                [str(floor), str(port), str(messages), str(index), sender, "1"], tmp, 0),
            "server: floor over 4 connections": (
                [str(floor), str(port), str(messages), str(index), sender, "4"], tmp, 0),
        }  # fmt: skip
        if mailmerge:
            cases["mailmerge"] = (
                [str(mailmerge), "--template", "mailmerge_template.txt", "--database",
                 "mailmerge_database.csv", "--config", "mailmerge_server.conf",
                 "--no-dry-run", "--no-limit", "--output-format", "raw"], tmp, 0)  # fmt: skip
        results: dict[str, list[tuple[float, ...]]] = {name: [] for name in cases}
        count()
        try:
            for _ in range(args.runs):
                for name, (cmd, cwd, connections) in cases.items():
                    if connections:
                        set_connections(root, port, connections)
                    wall, cpu, rss = run_measured(cmd, cwd, env)
                    seen = count()
                    if seen["messages"] != n or seen["recipients"] != n:
                        sys.exit(f"{name}: the server took {seen} messages, not {n:,}")
                    results[name].append((wall, rss, cpu, seen["cpu"]))
        finally:
            server.stdin.close()
            server.wait(timeout=10)

    def median(name: str, column: int) -> float:
        return statistics.median(run[column] for run in results[name])

    floor_wall = median("floor: smtplib, 1 connection", 0)
    print(
        f"\n{args.runs} runs each, interleaved; medians; the server took {n:,} messages "
        "in every run\n"
        f"  {'':34} {'wall':>8} {'messages/s':>11} {'peak RSS':>9} {'vs floor':>9}"
        f" {'its CPU':>9} {'server CPU':>11}"
    )
    for name, runs in results.items():
        wall = median(name, 0)
        rss = max(run[1] for run in runs)
        print(
            f"  {name:34} {wall:6.2f} s {n / wall:11,.0f} {rss:6.0f} MB {wall / floor_wall:8.2f}x"
            f" {median(name, 2):7.2f} s {median(name, 3):9.2f} s"
        )
    one = median("ours, 1 connection", 0) / floor_wall
    four = median("ours, 4 connections", 0) / floor_wall
    print(
        f"  targets: 1 connection within 1.3x of the floor: {one:.2f}x "
        f"({'met' if one <= 1.3 else 'missed'}); 4 connections faster than the floor: "
        f"{four:.2f}x ({'met' if four < 1 else 'missed'})"
    )


if __name__ == "__main__":
    main()
