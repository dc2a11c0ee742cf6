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


def start_measured(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The same measured program, started and not waited for (several run at once);
    its output goes to `log` (stdout) and `log`.err; `measured_result` reads them."""
    with log.open("w") as out, log.with_suffix(".err").open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-c", MEASURED, *args], cwd=cwd, env=env, stdout=out, stderr=err
        )


def measured_result(process: subprocess.Popen, log: Path) -> tuple[str, float, float]:
    """(its stdout, CPU seconds, peak RSS in MB) of a program `start_measured` began."""
    process.wait()
    err = log.with_suffix(".err").read_text()
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, process.args[3:]))}\n{err[-2000:]}")
    cpu, rss = err.strip().splitlines()[-1].split()
    return log.read_text(), float(cpu), int(rss) / 1024


def postgres_server():
    """A throw-away PostgreSQL server, as the tests use (tests/postgres_server.py:
    initdb in a temporary folder, on 127.0.0.1, as the `postgres` user when root).
    The caller stops it (`stop()`), in a finally."""
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from postgres_server import PostgresServer, bindir

    if bindir() is None:
        sys.exit("PostgreSQL's server is not installed (Debian: postgresql; pg_config --bindir)")
    return PostgresServer()


def drop_database(server, name: str) -> None:
    """Remove a database of the throw-away server (its rows take disk, not the result)."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version(server) -> str:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as admin:
        return str(admin.execute("SHOW server_version").fetchone()[0]).split()[0]
