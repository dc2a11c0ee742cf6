"""Rendering and personalisation benchmarks for `newsletter`.

Measures, on the sample article `articles/000_1718b35f7cc77fd8.txt` of this repo
(which is itself a newsletter project):

1. warm render: `compose()` and `render_issue()` in a warm process (target <= 20 ms),
   beside premailer alone (`newsletter.render.inline.inline_css`) on the same
   pre-inlining HTML, and `render_issue()` with the inlining step stubbed out;
2. cold first render: a new `python -c` process that imports the package and renders
   once (target <= 250 ms), beside `python -c "pass"` and an imports-only process;
3. personalisation: recipient building (HMAC-signed unsubscribe link) + substitution
   for 10,000 synthetic subscribers (target <= 20 us per recipient), and each part
   separately.

Every figure is a median over repeated runs (min and max alongside); the machine may
be noisy, so compare against the baselines measured in the same run.

Run from the repo root (works from any cwd):

    .venv/bin/python benchmarks/render.py              # the table
    .venv/bin/python benchmarks/render.py --profile    # plus a cold-process breakdown and
                                                       # cProfile top 10 (cumulative)
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTICLE = REPO / "articles" / "000_1718b35f7cc77fd8.txt"

WARM_RUNS = 40
COLD_RUNS = 15
RECIPIENTS = 10_000
RECIPIENT_REPEATS = 5

TARGET_WARM_MS = 20.0
TARGET_COLD_MS = 250.0
TARGET_RECIPIENT_US = 20.0

COLD_IMPORTS = (
    "from pathlib import Path\n"
    "from newsletter.project import Project\n"
    "import newsletter.render.inline\n"
    "def compose(project, paths):\n"
    "    issue = project.read_issue(paths)\n"
    "    return issue, project.render(issue)\n"
)
COLD_RENDER = (
    COLD_IMPORTS
    + f"project = Project.open(Path({str(REPO)!r}))\n"
    + f"compose(project, [Path({str(ARTICLE)!r})])\n"
)


# --- helpers ---


def compose(project, paths):
    """The articles read as an issue and rendered once, as every command does."""
    issue = project.read_issue(paths)
    return issue, project.render(issue)


def timed(fns: dict[str, Callable[[], object]], runs: int, warmup: int = 3) -> list[list[float]]:
    """Seconds per call of each fn, alternating them (noise then hits all alike);
    `runs` samples each after `warmup` discarded rounds."""
    samples: list[list[float]] = [[] for _ in fns]
    for run in range(warmup + runs):
        for i, fn in enumerate(fns.values()):
            start = time.perf_counter()
            fn()
            if run >= warmup:
                samples[i].append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def row(label: str, samples: list[float], scale: float, unit: str, note: str = "") -> str:
    med, lo, hi = (x * scale for x in (median(samples), min(samples), max(samples)))
    return f"  {label:<44} {med:9.2f} {lo:9.2f} {hi:9.2f}  {unit:<3} {note}".rstrip()


def header(title: str) -> None:
    print()
    print(title)
    print(f"  {'':<44} {'median':>9} {'min':>9} {'max':>9}")


def verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


def setup():
    from newsletter.project import Project

    project = Project.open(REPO)
    issue, rendered = compose(project, [ARTICLE])
    return project, issue, rendered


# --- 1. warm render ---


def bench_warm(project, issue) -> None:
    import newsletter.render.inline as inline_module
    from newsletter.render import render_issue

    newsletter, dirs = project.settings.newsletter, project.template_dirs
    real_inline = inline_module.inline_css

    # The HTML premailer gets, captured from a real render.
    captured: list[str] = []

    def capture(html: str) -> str:
        captured.append(html)
        return real_inline(html)

    inline_module.inline_css = capture
    try:
        render_issue(issue, newsletter, dirs)
    finally:
        inline_module.inline_css = real_inline
    pre_html = captured[0]
    inlined = real_inline(pre_html)

    def no_inline(html: str) -> str:
        return html

    def premailer_as_shipped() -> None:
        """The library's Premailer with the same options, without our cache of what
        it makes of the style block (render/inline.py)."""
        import logging

        import premailer

        premailer.Premailer(
            pre_html, strip_important=False, allow_network=False,
            cssutils_logging_level=logging.CRITICAL, keep_style_tags=False,
            remove_classes=False, disable_validation=True, cache_css_parsing=True,
            disable_basic_attributes=["width", "height"],
        ).transform()  # fmt: skip

    def render_without_inlining() -> None:
        inline_module.inline_css = no_inline
        try:
            render_issue(issue, newsletter, dirs)
        finally:
            inline_module.inline_css = real_inline

    compose_s, render_s, no_inline_s, inline_s, premailer_s = timed(
        {
            "compose": lambda: compose(project, [ARTICLE]),
            "render_issue": lambda: render_issue(issue, newsletter, dirs),
            "render_issue without inlining": render_without_inlining,
            "inline_css": lambda: real_inline(pre_html),
            "premailer": premailer_as_shipped,
        },
        WARM_RUNS,
    )

    header(
        f"Warm render ({WARM_RUNS} runs each, interleaved; HTML {len(pre_html):,} chars "
        f"before inlining, {len(inlined):,} after)"
    )
    print(row("compose() (read article + render_issue)", compose_s, 1e3, "ms"))
    print(row("render_issue()", render_s, 1e3, "ms"))
    print(row("  render_issue() with inlining stubbed", no_inline_s, 1e3, "ms"))
    print(row("  inline_css() (premailer, its rules cached)", inline_s, 1e3, "ms"))
    print(row("baseline: premailer as shipped, same HTML", premailer_s, 1e3, "ms"))
    med_compose, med_premailer = median(compose_s), median(premailer_s)
    print(
        f"  compose / premailer as shipped: {med_compose / med_premailer:.2f}x;  "
        f"inline_css / premailer as shipped: {median(inline_s) / med_premailer:.2f}x"
    )
    print(
        f"  target: compose() <= {TARGET_WARM_MS:g} ms -> "
        f"{verdict(med_compose * 1e3, TARGET_WARM_MS)} ({med_compose * 1e3:.1f} ms)"
    )


# --- 2. cold first render ---


def bench_cold() -> None:
    commands = {
        "render": [sys.executable, "-c", COLD_RENDER],
        "imports": [sys.executable, "-c", COLD_IMPORTS],
        "pass": [sys.executable, "-c", "pass"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(COLD_RUNS + 1):  # interleaved; the first round warms the disk cache
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, capture_output=True)
            if run:
                samples[name].append(time.perf_counter() - start)

    header(f"Cold first render in a new process ({COLD_RUNS} runs each, interleaved)")
    print(row("python -c <imports + render once>", samples["render"], 1e3, "ms"))
    print(row("python -c <imports only>", samples["imports"], 1e3, "ms"))
    print(row('baseline: python -c "pass"', samples["pass"], 1e3, "ms"))
    render, imports, bare = (median(samples[name]) for name in ("render", "imports", "pass"))
    print(
        f"  render process / bare python: {render / bare:.2f}x;  "
        f"imports {1e3 * (imports - bare):.0f} ms + first render "
        f"{1e3 * (render - imports):.0f} ms over bare python"
    )
    print(
        f"  target: cold render <= {TARGET_COLD_MS:g} ms -> "
        f"{verdict(render * 1e3, TARGET_COLD_MS)} ({render * 1e3:.0f} ms)"
    )


COLD_STAGES = (
    "import json, time\n"
    "stamps = [('start', time.perf_counter())]\n"
    "def stamp(name):\n"
    "    stamps.append((name, time.perf_counter()))\n"
    "from pathlib import Path\n"
    "from newsletter.project import Project\n"
    "def compose(project, paths):\n"
    "    issue = project.read_issue(paths)\n"
    "    return issue, project.render(issue)\n"
    "stamp('import newsletter.project')\n"
    f"project = Project.open(Path({str(REPO)!r}))\n"
    "stamp('Project.open() (settings, email_validator)')\n"
    "import jinja2\n"
    "stamp('import jinja2')\n"
    "import premailer\n"
    "stamp('import premailer (requests, cssutils, lxml)')\n"
    f"compose(project, [Path({str(ARTICLE)!r})])\n"
    "stamp('first compose() after those imports')\n"
    f"compose(project, [Path({str(ARTICLE)!r})])\n"
    "stamp('second compose() (warm)')\n"
    "print(json.dumps([(b[0], b[1] - a[1]) for a, b in zip(stamps, stamps[1:])]))\n"
)


def cold_stages(runs: int = 7) -> None:
    """Where a cold render's time goes: stage by stage inside one new process."""
    per_stage: dict[str, list[float]] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", COLD_STAGES], cwd=REPO, check=True, capture_output=True
        )
        for name, seconds in json.loads(result.stdout):
            per_stage.setdefault(name, []).append(seconds)
    header(f"Cold process, stage by stage ({runs} runs; after interpreter start-up)")
    for name, samples in per_stage.items():
        print(row(name, samples, 1e3, "ms"))


# --- 3. personalisation ---


def subscribers(n: int):
    from newsletter.audience.lists import Subscriber

    return [
        Subscriber(
            email=f"user{i}@example.com",
            name=f"User {i}",
            fields={"email": f"user{i}@example.com", "name": f"User {i}"},
        )
        for i in range(n)
    ]


def audience(rendered):
    from newsletter.personalise import Personaliser
    from newsletter.signing import Links

    return Personaliser(rendered, Links("http://127.0.0.1:8025/unsubscribe", b"x" * 32, "sample"))


def loop_full(subs, aud, rendered) -> None:
    from newsletter.personalise import personalise

    subject, html, text = rendered.subject, rendered.html, rendered.text
    for s in subs:
        personalise(subject, html, text, aud.recipient(s))


def loop_recipient(subs, aud, rendered) -> None:
    for s in subs:
        aud.recipient(s)


def loop_url(subs, aud) -> None:
    urls = aud.links.urls
    for s in subs:
        urls(s.email)


def loop_personalise(recipients, rendered) -> None:
    from newsletter.personalise import personalise

    subject, html, text = rendered.subject, rendered.html, rendered.text
    for r in recipients:
        personalise(subject, html, text, r)


def per_item(loops: dict[str, Callable[[], None]], n: int) -> dict[str, list[float]]:
    """Seconds per item of each loop, the loops alternated so noise hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(RECIPIENT_REPEATS):
        for name, fn in loops.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) / n)
    return samples


def bench_personalise(rendered) -> None:
    subs = subscribers(RECIPIENTS)
    aud = audience(rendered)
    recipients = [aud.recipient(s) for s in subs]
    loop_full(subs[:200], aud, rendered)  # warm-up

    loops = {
        "full": lambda: loop_full(subs, aud, rendered),
        "recipient": lambda: loop_recipient(subs, aud, rendered),
        "url": lambda: loop_url(subs, aud),
        "subst": lambda: loop_personalise(recipients, rendered),
    }
    samples = per_item(loops, RECIPIENTS)
    full, recipient, url, subst = (samples[name] for name in loops)

    header(
        f"Personalisation ({RECIPIENTS:,} recipients x {RECIPIENT_REPEATS} repeats, "
        f"interleaved; fields {sorted(rendered.fields)})"
    )
    print(row("recipient() + personalise()", full, 1e6, "us", "per recipient"))
    print(row("  Personaliser.recipient() only", recipient, 1e6, "us"))
    print(row("    of which the reader's links (AES-SIV token)", url, 1e6, "us"))
    print(row("  personalise() only (substitution)", subst, 1e6, "us"))
    med = median(full) * 1e6
    print(
        f"  10,000 recipients: {med * RECIPIENTS / 1e6 * 1e3:.0f} ms;  "
        f"target <= {TARGET_RECIPIENT_US:g} us -> {verdict(med, TARGET_RECIPIENT_US)} "
        f"({med:.1f} us)"
    )


# --- profiles ---


def profile(title: str, fn, limit: int = 10) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print()
    print(f"cProfile: {title} (top {limit} by cumulative time)")
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(REPO) + "/", "").replace(sys.prefix + "/", ""))


def profiles(project, rendered) -> None:
    subs = subscribers(RECIPIENTS)
    aud = audience(rendered)

    def warm() -> None:
        for _ in range(20):
            compose(project, [ARTICLE])

    profile("20 warm compose() calls", warm)
    profile(
        f"recipient() + personalise() for {RECIPIENTS:,}",
        lambda: loop_full(subs, aud, rendered),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="also print cProfile tops")
    args = parser.parse_args()

    started = time.perf_counter()
    print(f"newsletter render benchmarks -- python {sys.version.split()[0]}, {sys.executable}")
    project, issue, rendered = setup()
    bench_warm(project, issue)
    bench_cold()
    bench_personalise(rendered)
    if args.profile:
        cold_stages()
        profiles(project, rendered)
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
