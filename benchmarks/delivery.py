"""Delivery benchmarks: the per-recipient costs of a send to the outbox.

Run from anywhere:  .venv/bin/python benchmarks/delivery.py [--recipients N]

Prints medians over repeated runs, each beside a baseline measured in the same run
(the machine is shared and noisy; compare the ratios):

- reading a list: `read_list` per row (address checks, de-duplication) against
  `csv.reader` alone on the same file;
- making a message: `MessageMaker.make` per recipient against building the same
  message with `email.message.EmailMessage` (the standard library's way);
- writing the outbox: one .eml written and fsynced per recipient against a plain
  write of the same bytes;
- the whole `newsletter send` of N recipients to the outbox as a process, with its
  peak memory.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = "articles/000_1718b35f7cc77fd8.txt"


def median_us(samples: list[float], per: int) -> float:
    return statistics.median(samples) / per * 1e6


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def make_project(root: Path, recipients: int) -> Path:
    subprocess.run(
        [str(Path(sys.executable).parent / "newsletter"), "init", str(root)],
        check=True,
        capture_output=True,
    )
    shutil.copy(REPO / SAMPLE, root / SAMPLE)  # init writes its own welcome article only
    with (root / "subscribers" / "big.csv").open("w") as handle:
        handle.write("email,name,city\n")
        handle.writelines(
            f"reader{i}@example{i % 97}.com,Reader {i},City {i % 13}\n" for i in range(recipients)
        )
    return root


def stdlib_message(maker, recipient) -> bytes:
    """The same message built with EmailMessage, as the first version of this tool did."""
    from newsletter.personalise import personalise

    issue = maker.issue
    copy = personalise(issue.subject, issue.html, issue.text, recipient)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = maker.envelope.newsletter.from_
    msg["To"] = f"{recipient.name} <{recipient.email}>"
    msg["Subject"] = copy.subject
    msg["Message-ID"] = "<x@example.com>"
    msg["List-Id"] = maker.envelope.list_id
    msg.set_content(copy.text, cte="quoted-printable")
    msg.add_alternative(copy.html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    args = parser.parse_args()
    n = args.recipients
    os.chdir(REPO)
    print(f"newsletter delivery benchmarks -- python {sys.version.split()[0]}, {n:,} recipients")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "p", n)
        bench_read(root / "subscribers" / "big.csv", n)
        data = bench_make(root, n)
        bench_write(data, Path(tmp) / "w")
        bench_send(root, n)


def bench_read(csv_path: Path, n: int) -> None:
    from newsletter.audience.lists import read_list

    def read_ours() -> None:
        for _ in read_list(csv_path):
            pass

    def read_csv() -> None:
        with csv_path.open(newline="") as handle:
            for _ in csv.reader(handle):
                pass

    ours, base = [], []
    for _ in range(3):
        ours += timed(read_ours, 1)
        base += timed(read_csv, 1)
    print("\nReading a list (3 runs each, interleaved)         median per row")
    print(f"  read_list (check, normalise, de-duplicate)      {median_us(ours, n):8.2f} us")
    print(f"  baseline: csv.reader alone                      {median_us(base, n):8.2f} us")
    print(f"  ratio: {statistics.median(ours) / statistics.median(base):.1f}x")


def bench_make(root: Path, n: int) -> list[bytes]:
    """Messages made for a sample of recipients; returns 1,000 of them."""
    from newsletter.audience.lists import Subscriber
    from newsletter.message import MessageMaker
    from newsletter.project import Project
    from newsletter.send.plan import plan_send

    with Project.open(root) as project:
        plan = plan_send(project, [root / SAMPLE], "big")
        maker = MessageMaker(plan.rendered, plan.envelope, project.clock.now())
        sample = min(n, 2_000)
        personaliser = plan.personaliser
        recipients = [
            personaliser.recipient(
                Subscriber(f"reader{i}@example.com", f"Reader {i}", {"name": f"Reader {i}"})
            )
            for i in range(sample)
        ]
    ours, base = [], []
    for _ in range(5):
        ours += timed(lambda: [maker.make(r) for r in recipients], 1)
        base += timed(lambda: [stdlib_message(maker, r) for r in recipients], 1)
    print(f"\nMaking a message ({sample:,} recipients x 5, interleaved)   median per message")
    print(f"  MessageMaker.make                               {median_us(ours, sample):8.1f} us")
    print(f"  baseline: email.message.EmailMessage            {median_us(base, sample):8.1f} us")
    print(f"  ratio: {statistics.median(base) / statistics.median(ours):.1f}x faster")
    return [maker.make(r)[1] for r in recipients[:1000]]


def bench_write(data: list[bytes], folder: Path) -> None:
    from newsletter.files import write_atomically

    folder.mkdir()

    def write_ours() -> None:
        for i, blob in enumerate(data):
            write_atomically(folder / f"a{i}.eml", blob)

    def write_plain() -> None:
        for i, blob in enumerate(data):
            (folder / f"b{i}.eml").write_bytes(blob)

    ours, base = [], []
    for _ in range(3):
        ours += timed(write_ours, 1)
        base += timed(write_plain, 1)
    print(f"\nWriting the outbox ({len(data):,} files x 3, interleaved)   median per file")
    print(f"  temporary file, fsync, rename                   {median_us(ours, len(data)):8.1f} us")
    print(f"  baseline: plain write                           {median_us(base, len(data)):8.1f} us")


def bench_send(root: Path, n: int) -> None:
    tool = str(Path(sys.executable).parent / "newsletter")
    walls = []
    for run in range(3):  # a new issue id each run: a sent issue is not sent again
        command = [tool, "send", SAMPLE, "--list", "big", "--yes", "--id", f"bench-{run}",
                   "--project", str(root)]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=root)
        walls.append(time.perf_counter() - start)
        shutil.rmtree(root / "outbox" / f"bench-{run}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("\nWhole send to the outbox as a process (3 runs)")
    print(f"  newsletter send, {n:,} recipients            {statistics.median(walls):8.2f} s")
    print(f"  per recipient                                   {median_us(walls, n):8.1f} us")
    print(f"  peak memory of the largest run                  {peak_mb:8.1f} MB")


if __name__ == "__main__":
    main()
