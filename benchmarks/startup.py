"""Start-up benchmark for the `newsletter` command.

Measures the wall time of `newsletter --help` as a new process (the console script
next to sys.executable; target <= 150 ms and about 2x the typer baseline) beside
`python -c "import typer"` and `python -c "pass"`, interleaved in the same run, and
reports medians and ratios. Then runs `python -X importtime -c "import newsletter.cli"`
(5 times, medians) and lists the 10 heaviest imports, and says which heavy libraries
(that --help should not need) are imported by `import newsletter.cli` and by
`newsletter --help`.

Run from the repo root (works from any cwd):

    .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "newsletter"
RUNS = 20
IMPORTTIME_RUNS = 5
TARGET_MS = 150.0
TARGET_RATIO = 2.0
HEAVY = ("premailer", "sendgrid", "markdown_it", "lxml", "email_validator", "jinja2", "rich")


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall seconds per command, alternating them; one discarded warm-up round."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name, command in commands.items():
            elapsed = wall(command)
            if run:
                samples[name].append(elapsed)
    return samples


def importtime(command: list[str]) -> list[tuple[int, int, str, str]]:
    """(cumulative us, self us, module, importing module) for each import `command` makes."""
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((int(cumulative_us), int(self_us), depth, name.strip()))
    # importtime lists a module after everything it imports: its parent is the next
    # row that is less deeply nested.
    named = []
    for i, (cumulative, self_us, depth, name) in enumerate(rows):
        parent = next((r[3] for r in rows[i + 1 :] if r[2] < depth), "")
        named.append((cumulative, self_us, name, parent))
    return named


def importtime_median(command: list[str], runs: int) -> list[tuple[int, int, str, str]]:
    """importtime() run `runs` times; per module the median cumulative and self us
    (a single run is easily spoiled by one stall on a shared machine)."""
    results = [importtime(command) for _ in range(runs)]
    cumulative: dict[str, list[int]] = {}
    self_us: dict[str, list[int]] = {}
    for rows in results:
        for c, s, name, _parent in rows:
            cumulative.setdefault(name, []).append(c)
            self_us.setdefault(name, []).append(s)
    return [
        (
            int(statistics.median(cumulative[name])),
            int(statistics.median(self_us[name])),
            name,
            parent,
        )
        for _c, _s, name, parent in results[0]
    ]


def heavy_imported(rows: list[tuple[int, int, str, str]]) -> dict[str, int]:
    """Cumulative us of each HEAVY top-level package that was imported."""
    found: dict[str, int] = {}
    for cumulative, _self, name, _parent in rows:
        if name in HEAVY:
            found[name] = cumulative
    return found


def describe(found: dict[str, int]) -> str:
    if not found:
        return "none"
    return ", ".join(f"{name} ({us / 1e3:.1f} ms)" for name, us in found.items())


def main() -> None:
    started = time.perf_counter()
    print(f"newsletter start-up benchmark -- python {sys.version.split()[0]}, {sys.executable}")
    if not SCRIPT.exists():
        sys.exit(f"no console script at {SCRIPT}; install the package into this environment")

    commands = {
        "newsletter --help": [str(SCRIPT), "--help"],
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        'python -c "pass"': [sys.executable, "-c", "pass"],
    }
    samples = interleaved(commands, RUNS)

    print()
    print(f"Process wall time ({RUNS} runs each, interleaved)")
    print(f"  {'':<28} {'median':>8} {'min':>8} {'p90':>8} {'max':>8}")
    for name, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        figures = (statistics.median(values), min(values), p90, max(values))
        print(f"  {name:<28} " + " ".join(f"{1e3 * x:8.1f}" for x in figures) + "  ms")
    cli, typer_, bare = (statistics.median(values) for values in samples.values())
    ratio = cli / typer_
    print(
        f"  --help / import typer: {ratio:.2f}x (target about {TARGET_RATIO:g}x);  "
        f"--help / bare python: {cli / bare:.2f}x;  "
        f"over import typer: {1e3 * (cli - typer_):.0f} ms"
    )
    cli_ok = "OK" if cli * 1e3 <= TARGET_MS else "MISSED"
    print(f"  target: --help <= {TARGET_MS:g} ms -> {cli_ok} ({1e3 * cli:.0f} ms)")

    rows = importtime_median(
        [sys.executable, "-X", "importtime", "-c", "import newsletter.cli"], IMPORTTIME_RUNS
    )
    print()
    print(
        'python -X importtime -c "import newsletter.cli": 10 heaviest imports '
        f"(cumulative; medians of {IMPORTTIME_RUNS} runs)"
    )
    print(f"  {'cumulative':>10} {'self':>8}  {'module':<36} imported by")
    for cumulative, self_us, name, parent in sorted(rows, reverse=True)[:10]:
        print(f"  {cumulative / 1e3:8.1f}ms {self_us / 1e3:6.1f}ms  {name:<36} {parent or '-'}")
    total = sum(self_us for _c, self_us, _n, _p in rows)
    print(f"  {len(rows)} modules, {total / 1e3:.1f} ms in all")
    by_self = sorted(rows, key=lambda row: row[1], reverse=True)[:5]
    print("  top self times: " + ", ".join(f"{n} {s / 1e3:.1f}ms" for _c, s, n, _p in by_self))

    help_rows = importtime([sys.executable, "-X", "importtime", str(SCRIPT), "--help"])
    print()
    print(f"Heavy libraries ({', '.join(HEAVY)}) imported:")
    print(f"  by import newsletter.cli: {describe(heavy_imported(rows))}")
    print(f"  by newsletter --help:     {describe(heavy_imported(help_rows))}")
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
