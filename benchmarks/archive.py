"""Web archive benchmark: `newsletter archive build` of 1,000 sent issues.

Makes a project (a copy of the sample's settings, with [archive] url) whose ledger
holds N issues sent (each frozen from one of the sample's two articles, rendered
once, under its own id and a day apart, with three recipients accepted), then runs,
as processes, interleaved, RUNS times each, reporting medians:

1. `newsletter archive build --output DIR` into a new folder (target: under 10 s
   for 1,000 issues);
2. the same again over the folder it wrote (nothing changed: nothing is written);
3. the floor in the same run: a script that reads the same frozen contents from
   the same SQLite file, fills every placeholder with a fixed value and writes each
   page with a plain write (no fsync, no reader-free footer, no index, no feed):
   the least any builder of such a site does.

And, in this process, what rendering every issue again from its article (Jinja2 and
premailer, which the archive skips: the frozen HTML is inlined already) would cost:
one warm render, times N.

    .venv/bin/python benchmarks/archive.py [--n 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run_measured

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "newsletter"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
TARGET_S = 10.0

FLOOR = """
import json, sqlite3, sys
from pathlib import Path
db, out = sys.argv[1], Path(sys.argv[2])
rows = sqlite3.connect(db).execute("SELECT id, content FROM issues ORDER BY created_at DESC")
for issue_id, content in rows:
    html = json.loads(content)["html"]
    values = ["x"] * len(html["keys"])
    page = html["literals"][0] + "".join(v + lit for v, lit in zip(values, html["literals"][1:]))
    folder = out / "issues" / issue_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(page, encoding="utf-8")
"""


def make_project(root: Path, n: int) -> None:
    """The sample's settings with [archive] url, and a ledger of `n` sent issues."""
    for folder in ("articles", "subscribers"):
        shutil.copytree(REPO / folder, root / folder)
    text = (REPO / "newsletter.toml").read_text()
    (root / "newsletter.toml").write_text(text + '\n[archive]\nurl = "https://example.org/a"\n')
    os.environ["NEWSLETTER_SECRET"] = SECRET
    from newsletter.clock import FixedClock
    from newsletter.project import Project
    from newsletter.state.recipients import Claimed
    from newsletter.transports.base import BatchResult

    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    with Project.open(root, clock=FixedClock(start)) as project:
        sources = [project.render(project.read_issue([path]))
                   for path in sorted((root / "articles").iterdir())]  # fmt: skip
        readers = [Claimed(f"reader{k}@example.com", f"Reader {k}") for k in range(3)]
        ledger = project.state.ledger
        for i in range(n):
            rendered = replace(sources[i % len(sources)], id=f"issue-{i:05d}")
            now = start + timedelta(days=i)
            ledger.freeze(rendered, "sample", "outbox", [], "x", readers, now)
            claim = ledger.claim(rendered.id, len(readers), None, now)
            accepted = {r.email: f"<{i}.{r.email}>" for r in claim}
            ledger.settle(rendered.id, claim.number, list(accepted), BatchResult(accepted), now)


def render_per_page(root: Path) -> float:
    """Seconds one issue takes to render again from its article (Jinja2, premailer,
    the text part; warm, median of 10): what a builder from the articles, rather than
    from the frozen content, would spend a page."""
    from newsletter.project import Project

    with Project.open(root) as project:
        issue = project.read_issue([root / "articles" / "welcome.md"])
        project.render(issue)  # warm
        samples = []
        for _ in range(10):
            begin = time.perf_counter()
            project.render(issue)
            samples.append(time.perf_counter() - begin)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "NEWSLETTER_SECRET": SECRET}
    env.pop("NEWSLETTER_STATE_URL", None)
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        begin = time.perf_counter()
        make_project(root, args.n)
        print(f"{args.n:,} sent issues made in {time.perf_counter() - begin:.1f} s")
        db = root / ".newsletter" / "state.db"
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR)
        build = [str(SCRIPT), "archive", "build", "--project", str(root), "--output"]
        samples: dict[str, list[tuple[float, float, float]]] = {"fresh": [], "again": [],
                                                                 "floor": []}  # fmt: skip
        for run in range(args.runs):
            out = Path(tmp) / f"site-{run}"
            samples["fresh"].append(run_measured([*build, str(out)], root, env))
            samples["again"].append(run_measured([*build, str(out)], root, env))
            floor_out = Path(tmp) / f"floor-{run}"
            samples["floor"].append(run_measured([str(floor_script), str(db), str(floor_out)],
                                                 root, env))  # fmt: skip
        pages = sum(1 for _ in (Path(tmp) / "site-0" / "issues").iterdir())
        assert pages == args.n, f"{pages} pages for {args.n} issues"
        render = render_per_page(root)

    def median(name: str, k: int) -> float:
        return statistics.median(s[k] for s in samples[name])

    fresh, again, floor = median("fresh", 0), median("again", 0), median("floor", 0)
    print(f"\n{'what':<58} {'wall':>9} {'CPU':>8} {'peak RSS':>9}")
    for label, name in ((f"archive build, {args.n:,} issues, new folder", "fresh"),
                        ("archive build again, nothing changed", "again"),
                        ("floor: read, fill, plain write", "floor")):  # fmt: skip
        print(f"{label:<58} {median(name, 0):>8.2f}s {median(name, 1):>7.2f}s "
              f"{median(name, 2):>7.0f}MB")  # fmt: skip
    print(f"\nnew folder: {fresh:.2f} s ({'under' if fresh < TARGET_S else 'OVER'} the "
          f"{TARGET_S:.0f} s target), {fresh / floor:.2f}x the floor; again: {again:.2f} s, "
          f"{again / floor:.2f}x the floor")  # fmt: skip
    print(f"rendering an issue again from its article: {render * 1e3:.1f} ms; for {args.n:,} "
          f"pages about {render * args.n:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
