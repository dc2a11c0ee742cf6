"""Words mean one thing (README, Words): output says *accepted* (what a transport
took), and *delivered* only where a provider's delivery event says so (`report`, and
the events' columns of `status`); a recipient's state is one of the ledger's; no class
shares a name with a package or with another class."""

import ast
import json
import re
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_ARTICLE

from newsletter.cli import app
from newsletter.state.recipients import STATES

PACKAGE = REPO / "newsletter"
# `status --json` keeps the names of earlier releases beside the new ones, for scripts
COMPATIBLE_KEYS = re.compile(r'"(delivered|failed)": \d+')
NOT_OUR_WORDS = re.compile(r"\bdeliver(ed|y|ies|s)?\b|\bfailed recipients?\b", re.I)
# the commands that speak of what delivery events said
OF_EVENTS = {("report",), ("status",), ("bounces",), ("bounces", "read")}


def commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))


def test_no_help_text_says_delivered(cli):
    import typer

    root = typer.main.get_command(app)
    texts = [cli(*c, "--help").stdout for c in commands(root) if c not in OF_EVENTS]
    assert len(texts) > 12
    for text in texts:
        assert not NOT_OUR_WORDS.search(text), text
    listed = cli("--help").stdout  # the summaries of the commands of events apart
    rest = [
        line
        for line in listed.splitlines()
        if line.split()[:1] not in (["report"], ["status"], ["bounces"])
    ]
    assert not NOT_OUR_WORDS.search("\n".join(rest)), listed


def test_what_a_send_prints_says_accepted_and_states_are_the_ledgers(project_dir, cli):
    outputs = [
        cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run"),
        cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes"),
        cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--json"),
        cli("schedule", "articles/welcome.md", "--list", "sample", "--now"),
        cli("schedule", "--list-queued"),
        cli("cron"),
        cli("status"),
        cli("status", "--json"),
        cli("subscribers", "list"),
    ]
    for n, result in enumerate(outputs):
        assert result.exit_code == 0, result.output
        if n in (6, 7):  # status: its events' columns say what delivery events said
            continue
        text = COMPATIBLE_KEYS.sub("", result.stdout + result.stderr)
        assert not NOT_OUR_WORDS.search(text), text
    assert "4 accepted by outbox" in outputs[1].stdout
    table = outputs[6].stdout.splitlines()[0].split()
    assert table[3:] == ["accepted", "refused", "skipped", "pending", "ambiguous", "delivered",
                         "bounced", "issue"]  # fmt: skip
    events = json.loads(outputs[7].stdout)[0]["events"]
    assert events["delivered"] == events["bounced"] == 0  # the outbox has no delivery events
    detail = cli("status", SAMPLE_ARTICLE.split("/")[1][:-4], "--recipients", "--json")
    states = {r["state"] for r in json.loads(detail.stdout)["recipients"]}
    assert states and states <= set(STATES)


def _classes():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                yield node.name, path.relative_to(REPO)


def test_no_class_shares_a_name_with_a_package_or_another_class():
    packages = {p.name for p in PACKAGE.rglob("*") if (p / "__init__.py").is_file()}
    seen: dict[str, Path] = {}
    for name, path in _classes():
        assert name.lower() not in packages, f"{path}: class {name} is named like a package"
        assert name not in seen, f"class {name} is in {seen[name]} and {path}"
        seen[name] = path
    assert len(seen) > 40


@pytest.mark.parametrize("state", ["failed", "delivered"])
def test_the_ledger_has_no_state_nothing_writes(state):
    assert state not in STATES
