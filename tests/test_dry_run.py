"""A dry run says what the send will do: the same decisions (newsletter.send.decide),
the same refusals in the same words, the same exit status. Each case runs the dry run
first, then the real send, on the same state."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_ARTICLE, write

ISSUE = "000_1718b35f7cc77fd8"


def _dry_then_real(cli, *args: str):
    dry = cli("send", *args, "--dry-run")
    real = cli("send", *args, "--yes")
    return dry, real


def _error_line(result) -> str:
    """The line the command failed with (a check's findings come before it)."""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error:"), result.stderr
    return last


def test_an_issue_started_for_another_list_is_refused_by_both(project_dir, cli):
    """The case found by trying it: the dry run said "a send now resumes it", exit 0."""
    write(project_dir / "subscribers" / "main.csv", "email\nann@example.com\n")
    assert cli("send", SAMPLE_ARTICLE, "--list", "main", "--yes").exit_code == 0
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "sample")
    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert _error_line(dry) == _error_line(real)
    assert f"issue {ISSUE} was started for list main, not sample" in dry.stderr
    assert "resumes" not in dry.stdout


def test_an_issue_queued_for_another_list_is_refused_by_both(project_dir, cli):
    write(project_dir / "subscribers" / "main.csv", "email\nann@example.com\n")
    queued = cli("schedule", SAMPLE_ARTICLE, "--list", "main", "--at", "2030-01-01T09:00")
    assert queued.exit_code == 0, queued.output
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "sample")
    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert _error_line(dry) == _error_line(real)
    assert f"issue {ISSUE} is queued for list main" in dry.stderr


def test_a_queued_issue_sent_now_says_it_is_that_send(project_dir, cli):
    """When it was queued for is shown in the project's zone, as everywhere."""
    settings = project_dir / "newsletter.toml"
    settings.write_text(
        settings.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Paris"')
    )
    assert (
        cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2030-01-01T09:00").exit_code
        == 0
    )
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "sample")
    assert (dry.exit_code, real.exit_code) == (0, 0)
    assert "queued      for 2030-01-01 09:00 CET: this send is that send" in dry.stdout
    assert "was queued for 2030-01-01 09:00 CET; this send is that send" in real.stderr


def test_a_done_issue_sends_nothing_more_and_the_dry_run_says_so(project_dir, cli):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "sample")
    assert (dry.exit_code, real.exit_code) == (0, 0)
    assert f"Issue {ISSUE} (“Chrissy Teigen" in dry.stdout
    assert "was sent to list sample through outbox on " in dry.stdout
    assert "(4 accepted); a send now sends nothing more." in dry.stdout
    assert "resumes" not in dry.stdout
    assert "nothing more to send" in real.stdout
    data = json.loads(cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run", "--json").stdout)
    assert data["done"] is True and data["recipients"] == 0 and data["sent"] == 4


def test_a_list_with_nobody_to_send_to_fails_both(project_dir, cli):
    write(project_dir / "subscribers" / "empty.csv", "email,name\n")
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "empty")
    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert _error_line(dry) == _error_line(real)
    assert "no valid subscribers on this list" in dry.stderr
    assert dry.stdout.startswith("Dry run: nothing is sent.")  # what it found, then why not


def test_a_list_whose_quoting_is_broken_stops_both(project_dir, cli):
    write(project_dir / "subscribers" / "broken.csv", 'email,name\n"ann@example.com,Ann\n')
    dry, real = _dry_then_real(cli, SAMPLE_ARTICLE, "--list", "broken")
    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert _error_line(dry) == _error_line(real)


def test_an_email_with_errors_fails_both_and_force_sends_both(project_dir, cli):
    write(project_dir / "articles" / "bad.md",
          "---\ntitle: Bad\n---\nText.\n\n![](https://example.com/a.png)\n")  # fmt: skip
    dry, real = _dry_then_real(cli, "articles/bad.md", "--list", "sample")
    assert (dry.exit_code, real.exit_code) == (1, 1)
    assert _error_line(dry) == _error_line(real)
    dry, real = _dry_then_real(cli, "articles/bad.md", "--list", "sample", "--force")
    assert (dry.exit_code, real.exit_code) == (0, 0)


@pytest.mark.parametrize("flag", ["--retry-ambiguous", "--mark-ambiguous-sent"])
def test_a_resume_says_what_becomes_of_the_ambiguous(project_dir, cli, on_fake, flag):
    on_fake.inject("drop")  # the connection drops after the request: held as ambiguous
    first = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "sendgrid")
    assert first.exit_code == 1
    plain = cli("send", "--id", ISSUE, "--dry-run")
    assert "0 sent, 0 not sent yet, 4 held as ambiguous; a send now resumes it" in plain.stdout
    dry = cli("send", "--id", ISSUE, flag, "--dry-run")
    assert dry.exit_code == 0
    said = "sends again to the 4" if flag == "--retry-ambiguous" else "counts the 4"
    assert f"a send now {said} held as ambiguous" in dry.stdout
    real = cli("send", "--id", ISSUE, flag, "--yes")
    assert real.exit_code == 0, real.output
