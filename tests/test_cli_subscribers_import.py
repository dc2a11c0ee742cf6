"""`subscribers import` through typer: a summary line, rejected rows on stderr, --json,
one-line errors with exit 1 (2 for a wrong --from).

The command is registered on the `subscribers` group when that group lands; here it is
registered on a throwaway app built like the real one (the same error handling)."""

from __future__ import annotations

import json

import pytest
import typer
from conftest import DATA, write
from typer.testing import CliRunner

from newsletter.cli import _Commands
from newsletter.cli.subscribers_import import import_

SAMPLES = DATA / "imports"


@pytest.fixture
def run(project_dir):
    app = typer.Typer(cls=_Commands, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """A group, as `subscribers` will be."""

    app.command("import")(import_)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["import", *args], catch_exceptions=False)

    return invoke


def test_import_prints_one_summary_line_and_the_rejected_rows_on_stderr(run, project_dir):
    result = run("news", str(SAMPLES / "mailchimp_subscribed.csv"))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "(mailchimp) into subscribers/news.csv (new list): 3 added, 0 updated" in lines[0]
    assert ", 1 rejected." in lines[0]
    assert result.stderr.splitlines() == [
        f"rejected: {SAMPLES / 'mailchimp_subscribed.csv'}:5: 'no-at-sign.example.com' "
        "invalid address: An email address must have an @-sign."
    ]
    assert (project_dir / "subscribers" / "news.csv").exists()


def test_import_from_a_relative_path_inside_the_project(run, project_dir):
    write(project_dir / "exports" / "people.csv", "email,name\nnew@example.com,New\n")
    result = run("sample", "exports/people.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "Imported exports/people.csv (csv) into subscribers/sample.csv: 1 added"
    )


def test_import_json_gives_the_summary_as_data(run):
    result = run(
        "news", str(SAMPLES / "buttondown_subscribers.csv"), "--from", "buttondown", "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["format"] == "buttondown"
    assert (data["added"], data["suppressed"], data["skipped"], data["rejected"]) == (2, 3, 1, 0)
    assert data["skipped_rows"] == [
        {"line": 5, "email": "pending.reader@example.com",
         "reason": "never confirmed (Buttondown type unactivated)"}
    ]  # fmt: skip


def test_import_names_the_columns_an_existing_list_has_no_room_for(run):
    result = run("sample", str(SAMPLES / "listmonk_subscribers.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip().endswith(
        "1 suppressed (1 new), 0 skipped, 0 rejected; left out (the list has no column "
        "for them): likes_tea, projects."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Name,Phone\nAda,1\n",
         "people.csv:1: no email column in the header (found: Name, Phone)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
         "people.csv:3: binary data, not text"),
        ("", "people.csv:1: the file is empty: expected a header row with an email column"),
        (None, "people.csv: no such file"),
    ],
    ids=["no-email-column", "binary", "empty", "missing"],
)  # fmt: skip
def test_a_file_that_cannot_be_imported_is_one_line_and_exit_1(run, project_dir, content, message):
    before = (project_dir / "subscribers" / "sample.csv").read_bytes()
    if content is not None:
        write(project_dir / "people.csv", content)
    result = run("sample", "people.csv")
    assert result.exit_code == 1
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""
    assert (project_dir / "subscribers" / "sample.csv").read_bytes() == before
    assert not (project_dir / ".newsletter" / "state.db").exists()


def test_a_wrong_format_is_a_usage_error(run):
    result = run("sample", str(SAMPLES / "plain_semicolon.csv"), "--from", "aweber")
    assert result.exit_code == 2
    assert (
        "--from 'aweber': use auto, mailchimp, substack, buttondown, listmonk, csv" in result.stderr
    )


def test_a_bad_list_name_is_a_usage_error(run):
    result = run("../etc", str(SAMPLES / "plain_semicolon.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --list '../etc': use letters")
