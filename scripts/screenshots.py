"""Screenshots of the email as a subscriber gets it, for the README.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Renders three issues with `newsletter preview` (in this process, its clock fixed at
2026-12-07 09:00 UTC so the pictures change only when the email does) in a temporary
copy of this project (its settings, articles, lists and templates; NEWSLETTER_SECRET
set to a dummy, so this project's state, outbox and secret are never touched):

- `sample`: the sample article (articles/000_1718b35f7cc77fd8.txt),
- `kitchen`: tests/data/kitchen_sink.md, every Markdown construct,
- `digest`: the three articles of tests/data/digest/ as one issue,

then opens each in headless Chromium (tests/browser/inspect.mjs: playwright-core and
Debian's /usr/bin/chromium, images replaced by grey placeholders, no network) at 375
and 600 px wide, light and dark, and writes full-page PNGs (device scale factor 1)
as NAME-WIDTH-SCHEME.png, e.g. docs/screenshots/sample-375-light.png. Then serves
the live preview page (`preview --serve`, in this process, the same clock) of a
draft article with findings, and keeps the page as tests/browser/preview_findings.mjs
shows it at 1200 and 375 px (the check panel beside the email, and above it) as
preview-1200-light.png and preview-375-light.png. Needs Node.js and the npm tools
(`npm ci`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
SAMPLE = "articles/000_1718b35f7cc77fd8.txt"
WIDTHS = (375, 600)
SCHEMES = ("light", "dark")
DUMMY_SECRET = "screenshots-only-not-a-secret-0123456789abcdef"
ISSUE_DAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # the digest's date, a Monday
OURS = re.compile(r"(sample|kitchen|digest|preview)-\d+-(light|dark)\.png")
# The live preview page of a draft with findings: what check says beside the email.
DRAFT = """---
title: "Winter Lineup: Five Shows to Watch This Month"
summary: Five new series worth your evenings, and one to skip.
---
December is crowded. Here are the five new series we keep talking about in the
office, and the one we gave up on after two episodes.

![](https://example.com/images/winter-lineup.jpg)

The full schedule, with the streaming service of each, is on
[our winter page](/schedule/winter).
"""
PAGE_SHOTS = {"findings-1200-light.png": "preview-1200-light.png",
              "findings-375-light.png": "preview-375-light.png"}  # fmt: skip


def copy_project(root: Path) -> Path:
    """This project's files that shape the email, plus the test articles."""
    project = root / "project"
    project.mkdir()
    shutil.copy(REPO / "newsletter.toml", project)
    for folder in ("articles", "subscribers", "templates"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, project / folder)
    shutil.copy(DATA / "kitchen_sink.md", project / "articles" / "kitchen_sink.md")
    shutil.copytree(DATA / "digest", project / "articles" / "digest")
    return project


def issues(project: Path) -> dict[str, list[str]]:
    digest = sorted(path.name for path in (project / "articles" / "digest").glob("*.md"))
    assert len(digest) == 3, digest
    return {
        "sample": [SAMPLE],
        "kitchen": ["articles/kitchen_sink.md"],
        "digest": [f"articles/digest/{name}" for name in digest],
    }


def preview(project: Path, root: Path) -> list[Path]:
    """One HTML file a name, as the list's first subscriber gets it, on ISSUE_DAY."""
    from newsletter.cli import app
    from newsletter.cli.common import Wiring
    from newsletter.clock import FixedClock

    os.environ.pop("NEWSLETTER_PROJECT", None)
    os.environ["NEWSLETTER_SECRET"] = DUMMY_SECRET
    files = []
    for name, articles in issues(project).items():
        out = root / "out" / name
        args = ["preview", *articles, "--project", str(project), "--output", str(out)]
        wiring = Wiring(clock=FixedClock(ISSUE_DAY))  # the same date in every picture
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the paths it wrote
                app(args, prog_name="newsletter", obj=wiring, standalone_mode=False)
        except Exception as error:  # click's usage errors and ours alike
            sys.exit(f"error: newsletter preview of {name} failed: {error}")
        (html,) = out.glob("*.html")
        files.append(html.rename(out / f"{name}.html"))
    return files


def screenshot(files: list[Path], shots: Path) -> None:
    if not shutil.which("node"):
        sys.exit("error: screenshots need Node.js (`node`)")
    if not (REPO / "node_modules" / "playwright-core").is_dir():
        sys.exit("error: screenshots need the npm tools: run `npm ci`")
    chromium = os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        sys.exit(f"error: no Chromium at {chromium} (Debian's `chromium` package)")
    widths = ",".join(map(str, WIDTHS))
    script = REPO / "tests" / "browser" / "inspect.mjs"
    command = ["node", str(script), "--out", str(shots), "--widths", widths, *map(str, files)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"error: inspect.mjs failed:\n{done.stderr.strip()[-3000:]}")


def preview_page(project: Path, root: Path, shots: Path) -> None:
    """The `preview --serve` page of DRAFT, in PAGE_SHOTS' names, into `shots`."""
    from newsletter.check import command_check
    from newsletter.clock import FixedClock
    from newsletter.preview.live import LivePreview, make_app
    from newsletter.web.server import Server

    article = project / "articles" / "draft.md"
    article.write_text(DRAFT)
    fixed = root / "fixed.md"  # the script saves it over the draft, then breaks it
    fixed.write_text(DRAFT.replace("![](", "![Posters of the five shows]("))
    script = REPO / "tests" / "browser" / "preview_findings.mjs"
    page = root / "page"
    page.mkdir()
    env = {**os.environ, "NEWSLETTER_SHOT_TIME": ISSUE_DAY.isoformat()}
    with contextlib.chdir(project):  # paths in the findings as an editor there sees them
        live = LivePreview(project, [article], lint=command_check, clock=FixedClock(ISSUE_DAY))
        with live.watching(), Server(make_app(live), on_stop=live.close).start() as server:
            command = ["node", str(script), f"http://127.0.0.1:{server.port}/",
                       str(article), str(fixed), str(page)]  # fmt: skip
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                  timeout=300, env=env)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"error: preview_findings.mjs failed:\n{done.stderr.strip()[-3000:]}")
    for made, name in PAGE_SHOTS.items():
        shutil.copyfile(page / made, shots / name)


def warn_without_cjk_font() -> None:
    """The kitchen sink has a Japanese paragraph: without a CJK font (Debian's
    fonts-noto-cjk) Chromium draws it as empty boxes, and the pictures would lie."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return
    found = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True).stdout
    if not found.strip():
        print("warning: no Japanese font (apt-get install fonts-noto-cjk): the kitchen "
              "sink's Japanese paragraph will show as boxes", file=sys.stderr)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    out = parser.parse_args().out.resolve()
    warn_without_cjk_font()
    with tempfile.TemporaryDirectory(prefix="newsletter-screenshots-") as temporary:
        root = Path(temporary)
        project = copy_project(root)
        files = preview(project, root)
        shots = root / "shots"
        shots.mkdir()
        screenshot(files, shots)
        preview_page(project, root, shots)
        out.mkdir(parents=True, exist_ok=True)
        wanted = {
            f"{file.stem}-{width}-{scheme}.png"
            for file in files
            for width in WIDTHS
            for scheme in SCHEMES
        } | set(PAGE_SHOTS.values())
        for stale in out.glob("*.png"):
            if OURS.fullmatch(stale.name) and stale.name not in wanted:
                stale.unlink()
        for name in sorted(wanted):
            shutil.copyfile(shots / name, out / name)
            size = (out / name).stat().st_size
            print(
                f"{(out / name).relative_to(REPO) if out.is_relative_to(REPO) else out / name}"
                f"  {size // 1024} KB"
            )


if __name__ == "__main__":
    main()
