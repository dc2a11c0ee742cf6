"""scripts/system-packages.sh, the apt step of the test command, run against stand-in
`apt-get`, `dpkg-query`, `pg_config` and `id` commands: it skips apt when everything is
on the machine, and waits for a lock another apt or dpkg holds instead of failing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "system-packages.sh"
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, Path]:
    """A machine with nothing installed, apt-get logging its calls to apt.log."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    _stub(stubs, "id", "echo 0")
    _stub(stubs, "dpkg-query", 'grep -qx "$3" "$STATE/installed" 2>/dev/null '
                               '&& echo "install ok installed"')  # fmt: skip
    _stub(stubs, "pg_config", 'cat "$STATE/pg_bindir" 2>/dev/null || exit 1')
    # apt-get fails with the lock message while $STATE/locked counts down from N.
    _stub(stubs, "apt-get", '\n'.join([
        'echo "$*" >> "$STATE/apt.log"',
        'n=$(cat "$STATE/locked" 2>/dev/null || echo 0)',
        'if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STATE/locked"; '
        f'echo "{LOCKED}" >&2; exit 100; fi',
        'if [ -e "$STATE/broken" ]; then echo "E: Unable to locate package chromium" >&2; '
        'exit 100; fi',
    ]))  # fmt: skip
    state = tmp_path / "state"
    state.mkdir()
    return {"stubs": stubs, "state": state, "root": tmp_path}


def _run(machine: dict[str, Path], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": f"{machine['stubs']}:/usr/bin:/bin",
        "STATE": str(machine["state"]),
        "NEWSLETTER_CHROMIUM": str(machine["root"] / "no-chromium"),
        "NEWSLETTER_PG_GLOB": str(machine["root"] / "no-postgresql" / "*" / "initdb"),
        "NEWSLETTER_APT_PAUSE": "0.05",
        **env,
    }
    return subprocess.run(["bash", str(SCRIPT)], env=environment, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def _apt_calls(machine: dict[str, Path]) -> list[str]:
    log = machine["state"] / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def _everything_there(machine: dict[str, Path]) -> dict[str, str]:
    chromium = machine["root"] / "chromium"
    _stub(chromium.parent, chromium.name, "true")
    (machine["state"] / "installed").write_text("fonts-liberation\n")
    pg = machine["root"] / "pg15" / "bin"
    pg.mkdir(parents=True)
    _stub(pg, "initdb", "true")
    (machine["state"] / "pg_bindir").write_text(str(pg))
    return {"NEWSLETTER_CHROMIUM": str(chromium)}


def test_everything_on_the_machine_runs_no_apt(machine: dict[str, Path]) -> None:
    done = _run(machine, **_everything_there(machine))
    assert done.returncode == 0, done.stderr
    assert _apt_calls(machine) == []
    assert done.stdout == ""


def test_an_initdb_outside_pg_config_counts_as_postgresql(machine: dict[str, Path]) -> None:
    env = _everything_there(machine)
    (machine["state"] / "pg_bindir").unlink()  # pg_config is not there: Debian's folder is
    env["NEWSLETTER_PG_GLOB"] = str(machine["root"] / "pg*" / "bin" / "initdb")
    done = _run(machine, **env)
    assert done.returncode == 0, done.stderr
    assert _apt_calls(machine) == []


def test_installs_only_what_is_missing(machine: dict[str, Path]) -> None:
    (machine["state"] / "installed").write_text("fonts-liberation\n")
    done = _run(machine)
    assert done.returncode == 0, done.stderr
    calls = _apt_calls(machine)
    assert len(calls) == 2
    assert "update" in calls[0]
    assert "install" in calls[1]
    assert calls[1].endswith("chromium postgresql")
    assert "DPkg::Lock::Timeout=300" in calls[1]
    assert "installing chromium postgresql" in done.stdout


def test_a_held_lock_is_waited_for(machine: dict[str, Path]) -> None:
    (machine["state"] / "locked").write_text("3")  # three tries fail, the fourth works
    done = _run(machine)
    assert done.returncode == 0, done.stderr
    calls = _apt_calls(machine)
    assert [c.split()[-2:] for c in calls[:4]] == [["update", "-qq"]] * 4
    assert "install" in calls[4]
    assert done.stdout.count("waiting for it") == 1
    assert LOCKED not in done.stderr


def test_a_lock_held_too_long_fails_saying_so(machine: dict[str, Path]) -> None:
    (machine["state"] / "locked").write_text("1000")
    done = _run(machine, NEWSLETTER_APT_WAIT="1", NEWSLETTER_APT_PAUSE="0.2")
    assert done.returncode == 1
    assert LOCKED in done.stderr
    assert "still could not get its lock after 1s" in done.stderr
    assert 2 <= len(_apt_calls(machine)) <= 10


def test_another_apt_failure_is_not_waited_for(machine: dict[str, Path]) -> None:
    (machine["state"] / "broken").write_text("")
    done = _run(machine)
    assert done.returncode == 1
    assert "Unable to locate package chromium" in done.stderr
    assert len(_apt_calls(machine)) == 1
    assert "waiting" not in done.stdout


def test_without_root_or_sudo_it_says_what_it_needs(machine: dict[str, Path]) -> None:
    _stub(machine["stubs"], "id", "echo 1000")
    bare = machine["root"] / "bare"
    bare.mkdir()
    for tool in ("bash", "grep", "env", "cat", "sleep"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        os.symlink(found.stdout.strip(), bare / tool)
    done = _run(machine, PATH=f"{machine['stubs']}:{bare}")
    assert done.returncode == 1
    assert "installing chromium fonts-liberation postgresql needs root or sudo" in done.stderr
    assert _apt_calls(machine) == []
