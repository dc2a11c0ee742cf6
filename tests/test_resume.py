"""`send --id ID` with no ARTICLE resumes a started issue from the ledger alone."""

import json

import pytest
from conftest import SAMPLE_ARTICLE

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

ISSUE = "000_1718b35f7cc77fd8"


def test_a_held_batch_is_resent_by_id_after_the_articles_are_gone(project_dir, cli, on_fake):
    on_fake.inject("drop")  # the connection drops after the request: held as ambiguous
    first = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "sendgrid")
    assert first.exit_code == 1
    assert f"to resend them: newsletter send --id {ISSUE} --retry-ambiguous" in first.stderr
    (project_dir / SAMPLE_ARTICLE).unlink()

    dry = cli("send", "--id", ISSUE, "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.startswith(f"Dry run: nothing is sent. Issue {ISSUE} (“Chrissy Teigen")
    assert "0 sent, 0 not sent yet, 4 held as ambiguous" in dry.stdout
    data = json.loads(cli("send", "--id", ISSUE, "--dry-run", "--json").stdout)
    assert data["resume"] is True and data["ambiguous"] == 4

    retried = cli("send", "--id", ISSUE, "--retry-ambiguous", "--yes")
    assert retried.exit_code == 0, retried.output
    assert "4 accepted by sendgrid" in retried.stdout
    bodies = on_fake.accepted
    assert bodies[-1]["subject"].startswith("Chrissy Teigen Says")
    again = cli("send", "--id", ISSUE, "--yes")
    assert again.exit_code == 0 and "nothing more to send" in again.stdout


def test_resuming_by_id_needs_a_started_issue_and_its_own_list(project_dir, cli):
    neither = cli("send", "--list", "sample", "--yes")
    assert neither.exit_code == 2
    assert "missing ARTICLE (or --id ID of a started issue, to resume it)" in neither.stderr
    unknown = cli("send", "--id", "nope", "--yes")
    assert unknown.exit_code == 1 and "no issue 'nope' in the ledger to resume" in unknown.stderr
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    write_list = project_dir / "subscribers" / "other.csv"
    write_list.write_text("email\nx@example.com\n")
    other = cli("send", "--id", ISSUE, "--list", "other", "--yes")
    assert other.exit_code == 1
    assert f"issue {ISSUE} was started for list sample, not other" in other.stderr
