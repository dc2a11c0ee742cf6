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
