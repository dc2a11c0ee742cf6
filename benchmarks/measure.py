"""Running a Python program in a new process and measuring it, for the benchmarks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

MEASURED = textwrap.dedent(
    """
    import resource, runpy, sys
    script, *rest = sys.argv[1:]
    try:
        if script == "-m":
            sys.argv = rest
            runpy.run_module(rest[0], run_name="__main__", alter_sys=True)
        else:
            sys.argv = [script, *rest]
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        if exit.code not in (0, None):
            raise
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=sys.stderr)
    """
)


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of a Python program run in a new
    process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,  # mailmerge prints every message it sends
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr[-2000:]}")
    cpu, rss = done.stderr.strip().splitlines()[-1].split()
    return wall, float(cpu), int(rss) / 1024
