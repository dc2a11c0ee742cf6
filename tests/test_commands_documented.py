"""Every command has --help text and an entry in the README."""

import re

import pytest
from conftest import REPO
from typer.main import get_command

from newsletter.cli import app

COMMANDS = sorted(get_command(app).commands)
README = (REPO / "README.md").read_text()


def test_there_are_commands():
    assert {"init", "preview", "send"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_text(cli, name):
    result = cli(name, "--help")
    assert result.exit_code == 0
    assert len(get_command(app).commands[name].help or "") > 20


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_the_readme(name):
    assert re.search(rf"`newsletter {name}\b", README), name


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    assert "newsletter send articles/000_1718b35f7cc77fd8.txt --list sample --yes" in README
    assert "bash scripts/test.sh" in README
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def every_command(group=None, path=()):
    group = group or get_command(app)
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from every_command(command, (*path, name))


@pytest.mark.parametrize("path", list(every_command()), ids=" ".join)
def test_help_writes_arguments_as_the_readme_does(cli, path):
    """`ARTICLE...`, `[LIST]`, `[ISSUE]`: not typer's `ARTICLE <list[Path]>`,
    `[[LIST]]`, `issue <str>` or `{ARTICLE}...`."""
    shown = cli(*path, "--help").output
    assert not re.search(r"<(str|int|path|list\[|Path|bool)", shown), shown
    assert "[[" not in shown and "{" not in shown.split("\n", 1)[0], shown
    usage = shown.split("\n", 1)[0]
    for word in usage.split("[OPTIONS]", 1)[-1].split():  # in capitals, as in the README
        assert re.fullmatch(r"\[?[A-Z][A-Z_]*\]?(\.\.\.)?", word), usage


def test_init_comes_first_in_the_command_list(cli):
    listed = cli("--help").output.split("Commands:", 1)[1].split()
    assert listed[0] == "init" and listed.index("preview") < listed.index("send")


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_shows_examples_of_itself(cli, name):
    shown = cli(name, "--help").output
    assert "Examples:\n" in shown, shown
    examples = shown.split("Examples:\n", 1)[1].strip().splitlines()
    assert examples and all(line.strip().startswith(f"newsletter {name}") for line in examples)


def test_the_shell_completes_commands_and_options(tmp_path):
    """typer's own completion (`newsletter --install-completion`), as bash asks it."""
    import os
    import subprocess
    import sys

    def complete(words: str) -> list[str]:
        env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1),
                   _NEWSLETTER_COMPLETE="complete_bash")  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "newsletter"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("newsletter pre") == ["preview"]
    assert "--list" in complete("newsletter send --li")
    assert any("--install-completion" in p.opts for p in get_command(app).params)
