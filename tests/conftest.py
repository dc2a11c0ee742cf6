"""Shared fixtures: a temporary copy of the sample project, a fixed clock, the CLI."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.cli.common import Wiring
from newsletter.clock import FixedClock, SystemClock
from newsletter.project import Project

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE_ARTICLE = "articles/000_1718b35f7cc77fd8.txt"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's sample project; the current folder for the test."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root)
    for folder in ("articles", "subscribers"):
        shutil.copytree(REPO / folder, root / folder)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    return root


@pytest.fixture
def project(project_dir: Path):
    """The sample project, opened with a fixed clock (its state closed after the test)."""
    with Project.open(project_dir, clock=FixedClock(NOW)) as opened:
        yield opened


@pytest.fixture
def wiring() -> dict:
    """What the test puts in place for the commands it runs (see cli.common.Wiring):
    clock=..., transports=..., terminal=True/False."""
    return {}


@pytest.fixture
def cli(wiring):
    """Run a `newsletter` command line; returns click's Result (stdout, stderr apart)."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(
            app, list(args), input=input, catch_exceptions=False, obj=Wiring(**wiring)
        )

    return run


class SleeplessClock(SystemClock):
    """The real time, but a wait is only recorded (a retry's back-off costs nothing)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def sleepless(wiring) -> SleeplessClock:
    """The commands of the test do not wait for back-offs; `.slept` says what they asked."""
    clock = SleeplessClock()
    wiring["clock"] = clock
    return clock


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def point_sendgrid_at(project_dir: Path, url: str, **settings: str) -> None:
    """Point the project's [sendgrid] host at a local server; `settings` replace other
    [sendgrid] lines, e.g. sandbox="true" or timeout="1" (added when absent)."""
    path = project_dir / "newsletter.toml"
    text = path.read_text().replace('host = "https://api.sendgrid.com"', f'host = "{url}"')
    for key, value in settings.items():
        line = re.search(rf"^{key} = .*$", text, re.M)
        if line:
            text = text.replace(line.group(0), f"{key} = {value}")
        else:
            text = text.replace("[sendgrid]\n", f"[sendgrid]\n{key} = {value}\n")
    path.write_text(text)


@pytest.fixture
def fake():
    """A local SendGrid-like server (tests/fake_sendgrid.py), stopped after the test."""
    from fake_sendgrid import FakeSendGrid

    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def on_fake(project_dir, fake, monkeypatch):
    """The sample project sending through the local server, its key in the environment."""
    point_sendgrid_at(project_dir, fake.url)
    monkeypatch.setenv("SENDGRID_API_KEY", fake.api_key)
    return fake


def require_tool(ok: bool, what: str) -> None:
    """Skip without `what` locally; fail where scripts/test.sh installed everything
    (it sets NEWSLETTER_REQUIRE_TOOLS) or in CI."""
    if ok:
        return
    message = f"{what} is missing: run `bash scripts/test.sh` (it installs it)"
    if os.environ.get("CI") or os.environ.get("NEWSLETTER_REQUIRE_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


def point_smtp_at(project_dir: Path, port: int, **settings: str) -> None:
    """Point the project's [smtp] at a local server on `port`; `settings` replace or add
    [smtp] lines, e.g. security='"none"' or connections="4"."""
    path = project_dir / "newsletter.toml"
    head, _, section = path.read_text().partition("[smtp]\n")
    settings = {"host": '"127.0.0.1"', "port": str(port), "timeout": "5", **settings}
    for key, value in settings.items():
        line = re.search(rf"^{key} = .*$", section, re.M)
        if line:
            section = section.replace(line.group(0), f"{key} = {value}")
        else:
            section += f"{key} = {value}\n"
    path.write_text(f"{head}[smtp]\n{section}")


@pytest.fixture(scope="session")
def smtp_ca(tmp_path_factory):
    """A private CA and a certificate it signed for 127.0.0.1 (made once a run)."""
    from fake_smtp import make_ca

    return make_ca(tmp_path_factory.mktemp("smtp-ca"))


@pytest.fixture
def smtp_server():
    """A local aiosmtpd server in plain text (tests/fake_smtp.py), stopped after the test."""
    from fake_smtp import FakeSmtp

    with FakeSmtp() as server:
        yield server


@pytest.fixture
def moving_clock(wiring) -> FixedClock:
    """The clock every command of the test reads (NOW, until the test moves it)."""
    fixed = FixedClock(NOW)
    wiring["clock"] = fixed
    return fixed


def compose(project: Project, paths, given_id: str | None = None):
    """The articles at `paths` read as an issue and rendered once: (issue, rendered)."""
    issue = project.read_issue(paths, given_id)
    return issue, project.render(issue)


# --- the state's two engines (one parametrised fixture; issue 13) ---

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server (tests/postgres_server.py), for the session."""
    from postgres_server import PostgresServer, bindir

    require_tool(bindir() is not None, "PostgreSQL's server (Debian: postgresql)")
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch) -> str:
    """The engine the project's state is on for this test: the embedded SQLite file,
    or a fresh database of the throw-away PostgreSQL server (NEWSLETTER_STATE_URL,
    which every command and process of the test sees). Modules whose tests hold for
    both say `pytestmark = pytest.mark.usefixtures("engine")`."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("NEWSLETTER_STATE_URL", server.url(server.new_database()))
    else:
        monkeypatch.delenv("NEWSLETTER_STATE_URL", raising=False)
    return str(request.param)


def open_state(project_dir: Path):
    """The project's state, on whichever engine the test put it."""
    from newsletter.state import Database

    url = os.environ.get("NEWSLETTER_STATE_URL")
    return Database(url) if url else Database(project_dir / ".newsletter" / "state.db")
