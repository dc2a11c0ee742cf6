"""README's "Start your own newsletter", followed command by command: the commands are
read from the section's ```sh blocks, so the README and this test cannot drift apart.

Each runs as a process of its own, in a temporary folder, with no terminal, with the
tool installed into a new virtualenv outside this checkout. Three are changed, and only
these (each must be found, so a README edit that drops one fails here):

- `pipx install "git+URL"`: `pip install --no-deps --no-build-isolation --no-index
  "git+file://CLONE"`, CLONE a git repository of this checkout's files, into a
  virtualenv that sees this one's packages (the dependencies, setuptools) through a
  .pth file: it builds and installs the package as pipx would, offline;
- `--at WHEN`: a day ahead, so the time is never in the past;
- `newsletter serve`: on a free loopback port, until `/healthz` answers, then stopped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, require_tool

SECTION = "Start your own newsletter"
TIMEOUT = 120  # seconds any one command may take
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for loopback


def readme_commands() -> list[str]:
    """The lines of the ```sh blocks of the README's section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"^## {SECTION}\n(.*?)(?=^## )", text, re.M | re.S)
    assert found, f"README.md has no section {SECTION!r}"
    blocks = re.findall(r"^```sh\n(.*?)^```", found.group(1), re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_section_holds_the_whole_walkthrough():
    commands = readme_commands()
    firsts = [" ".join(shlex.split(c)[:2]) for c in commands]
    for step in ("pipx install", "newsletter init", "cd my-letter", "newsletter preview",
                 "newsletter send", "newsletter schedule", "newsletter cron",
                 "newsletter serve"):  # fmt: skip
        assert any(f.startswith(step) for f in firsts), step
    assert any("--test" in c for c in commands) and any("--list sample" in c for c in commands)


def checkout_clone(root: Path) -> Path:
    """A git repository of this checkout's files as they are now (committed or not)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True,
                            timeout=TIMEOUT)  # fmt: skip
    require_tool(listed.returncode == 0, "a git checkout of the repository")
    files = listed.stdout.split(b"\0")
    clone = root / "clone"
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if source.is_file():  # a file deleted but not yet committed is left out
            target = clone / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    who = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}  # fmt: skip
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout"]):
        subprocess.run(["git", *args], cwd=clone, env={**os.environ, **who}, check=True,
                       capture_output=True, timeout=TIMEOUT)  # fmt: skip
    return clone


def tool_venv(root: Path) -> Path:
    """A new virtualenv that sees this one's packages (but not its newsletter, whose
    editable install is a .pth of this one's, which a path in a .pth does not run)."""
    venv = root / "tool"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=TIMEOUT)  # fmt: skip
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True,
                             timeout=TIMEOUT).stdout.strip()  # fmt: skip
    Path(purelib, "_test_venv_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Walk:
    """Runs the README's commands one by one, keeping the folder `cd` moves to."""

    def __init__(self, root: Path, venv: Path, clone: Path) -> None:
        self.cwd = root / "home"
        self.cwd.mkdir()
        self.venv, self.clone = venv, clone
        left_out = ("NEWSLETTER_", "PYTHON", "VIRTUAL_ENV", "SENDGRID_")
        keep = {k: v for k, v in os.environ.items() if not k.startswith(left_out)}
        path = f"{venv / 'bin'}{os.pathsep}{keep.get('PATH', os.defpath)}"
        self.env = {**keep, "HOME": str(self.cwd), "PIP_NO_INDEX": "1", "PATH": path}
        self.used: set[str] = set()

    def step(self, command: str) -> str:
        words = shlex.split(command)
        if words[0] == "cd":
            assert len(words) == 2, command
            self.cwd = self.cwd / words[1]
            assert self.cwd.is_dir(), command
            return ""
        if words[:2] == ["pipx", "install"]:
            assert any(w.startswith("git+") for w in words), command
            self.used.add("install")
            command = shlex.join([str(self.venv / "bin" / "python"), "-m", "pip", "install",
                                  "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                                  "--ignore-installed", f"git+file://{self.clone}"])  # fmt: skip
        if "--at" in words:
            self.used.add("at")
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00Z")
            at = words.index("--at")
            command = shlex.join([*words[: at + 1], tomorrow, *words[at + 2 :]])
        if words[:2] == ["newsletter", "serve"]:
            self.used.add("serve")
            return self.serve(words)
        done = subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TIMEOUT)  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{command}\n{done.stderr}"
        return done.stdout

    def serve(self, words: list[str]) -> str:
        port = free_port()
        server = subprocess.Popen([*words, "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with DIRECT.open(url, timeout=5) as answer:
                        assert answer.status == 200
                        return answer.read().decode()
                except OSError:
                    assert server.poll() is None, server.communicate()[0]
                    assert time.monotonic() < deadline, "serve did not answer /healthz"
                    time.sleep(0.2)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=15)
            if server.stdout:
                server.stdout.close()


@pytest.mark.slow  # a dozen processes and a package build: about 6 s
def test_the_readme_walkthrough_runs_command_by_command(tmp_path):
    require_tool(shutil.which("git") is not None, "git")
    try:
        import setuptools
    except ImportError:
        setuptools = None
    version = tuple(int(n) for n in getattr(setuptools, "__version__", "0").split(".")[:1])
    require_tool(version >= (77,), "setuptools>=77 (the test extra)")
    walk = Walk(tmp_path, tool_venv(tmp_path), checkout_clone(tmp_path))
    said = {command: walk.step(command) for command in readme_commands()}
    assert walk.used == {"install", "at", "serve"}  # each change to the README's commands made

    installed = subprocess.run([walk.venv / "bin" / "python", "-c", "import newsletter; "
                                "print(newsletter.__file__)"], capture_output=True, text=True,
                               env=walk.env, cwd=tmp_path, timeout=TIMEOUT).stdout  # fmt: skip
    assert installed.startswith(str(walk.venv)), installed  # the built one, not this checkout
    command = shutil.which("newsletter", path=walk.env["PATH"])
    assert command == str(walk.venv / "bin" / "newsletter")
    project = walk.cwd
    assert project == tmp_path / "home" / "my-letter"
    init = next(out for command, out in said.items() if command.startswith("newsletter init"))
    assert "Still to set in" in init  # no terminal: placeholders, named
    for made in (".gitignore", "README.md", "newsletter.toml", "subscribers/sample.csv"):
        assert (project / made).is_file(), made  # the wheel carries the whole skeleton
    assert (project / "preview" / "welcome.html").is_file()
    assert (project / "outbox" / "welcome" / "test" / "you@example.com.eml").is_file()
    assert len(list((project / "outbox" / "welcome").glob("*.eml"))) == 2
    shown = next(out for command, out in said.items() if command == "newsletter status")
    assert "welcome" in shown and "next" in shown, shown
    status = subprocess.run(["newsletter", "status", "--json"], cwd=project, env=walk.env,
                            capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    issues = {row["issue"]: row for row in json.loads(status.stdout)}
    assert (issues["welcome"]["state"], issues["welcome"]["accepted"]) == ("done", 2), issues
    assert (issues["next"]["state"], issues["next"]["list"]) == ("queued", "sample"), issues
