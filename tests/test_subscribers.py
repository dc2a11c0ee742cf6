"""`subscribers list|add|remove|check|sync`: the CSV stays the source of truth and is
changed atomically, row by row; suppressions win; SendGrid's lists are pulled."""

import json
import time

import pytest
from conftest import SAMPLE_ARTICLE, open_state, point_sendgrid_at, write

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

SAMPLE = "subscribers/sample.csv"


def suppressed(project_dir) -> dict[str, tuple[str, str]]:
    with open_state(project_dir) as state:
        return {s.email.lower(): (s.reason, s.source) for s in state.suppressions.all()}


def test_list_counts_and_members(project_dir, cli):
    table = cli("subscribers", "list")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[1].split() == ["sample", "4", "0", "2", SAMPLE]
    assert cli("subscribers", "remove", "sample", "ZOE@example.org").exit_code == 0
    write(project_dir / "subscribers" / "more.csv", "email\nzoe@example.org\nnew@example.com\n")
    data = {d["list"]: d for d in json.loads(cli("subscribers", "list", "--json").stdout)}
    assert (data["sample"]["active"], data["sample"]["suppressed"]) == (3, 0)  # zoe's row is gone
    assert (data["more"]["active"], data["more"]["suppressed"]) == (1, 1)  # ...and wins here
    members = cli("subscribers", "list", "more").stdout.splitlines()
    assert members[0].startswith("zoe@example.org") and "suppressed: removed (manual" in members[0]
    rows = json.loads(cli("subscribers", "list", "more", "--json").stdout)
    assert [(r["email"], r["state"]) for r in rows] == [
        ("zoe@example.org", "suppressed"), ("new@example.com", "active"),
    ]  # fmt: skip


def test_add_appends_one_row_and_keeps_the_rest_byte_for_byte(project_dir, cli):
    path = project_dir / SAMPLE
    before = path.read_bytes()
    result = cli("subscribers", "add", "sample", "New@Example.com", "--name", "New  Person",
                 "--field", "city=Oslo, Norway")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added New@example.com to list sample (line 8).\n"
    after = path.read_bytes()
    assert (
        after.startswith(before)
        and after[len(before) :] == b'New@example.com,New Person,"Oslo, Norway"\n'
    )
    again = cli("subscribers", "add", "sample", "new@EXAMPLE.com")
    assert (
        again.exit_code == 1  # a fact of the list, not wrong usage
        and "error: subscribers/sample.csv:8: new@example.com is on list sample already"
        in again.stderr.lower()
    )
    unknown = cli("subscribers", "add", "sample", "x@example.com", "--field", "town=x")
    assert (
        unknown.exit_code == 1
        and "subscribers/sample.csv:1: has no column 'town' for --field town "
        "(columns: email, name, city)"
        in unknown.stderr
    )
    bad = cli("subscribers", "add", "sample", "not an address")
    assert bad.exit_code == 2 and "EMAIL 'not an address': not a valid address" in bad.stderr
    assert path.read_bytes() == after


def test_remove_takes_every_row_and_records_a_suppression(project_dir, cli):
    path = project_dir / SAMPLE
    lines = path.read_bytes().splitlines(keepends=True)
    result = cli("subscribers", "remove", "sample", "ada@example.com")
    assert result.exit_code == 0
    assert (
        result.stdout == "ada@example.com: removed lines 2, 6; suppressed.\n"
    )  # and its duplicate
    assert path.read_bytes() == b"".join(line for i, line in enumerate(lines) if i not in (1, 5))
    assert suppressed(project_dir) == {"ada@example.com": ("removed", "manual")}
    send = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run")
    assert "recipients  3 (skipping 1 bad rows)" in send.stdout
    added = cli("subscribers", "add", "sample", "ada@example.com", "--name", "Ada")
    assert "is suppressed (removed (manual" in added.stderr
    dry = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--dry-run")
    assert "recipients  3 (skipping 1 bad rows, 1 suppressed)" in dry.stdout
    back = cli("subscribers", "add", "sample", "ada@example.com", "--resubscribe")
    assert back.exit_code == 1  # the row is there already, but:
    cli("subscribers", "remove", "sample", "ada@example.com")
    back = cli("subscribers", "add", "sample", "ada@example.com", "--resubscribe")
    assert back.exit_code == 0 and "Lifted its suppression: removed (manual" in back.stdout
    assert suppressed(project_dir) == {}
    before = path.read_bytes()
    nobody = cli("subscribers", "remove", "sample", "ghost@example.com")  # a typo, say
    assert nobody.exit_code == 1 and nobody.stdout == ""
    assert nobody.stderr == (
        "error: subscribers/sample.csv: ghost@example.com is not on list sample: nothing "
        "changed (subscribers remove --suppress suppresses an address that is on no list)\n"
    )
    assert suppressed(project_dir) == {} and path.read_bytes() == before
    anyway = cli("subscribers", "remove", "sample", "ghost@example.com", "--suppress")
    assert anyway.stdout == "ghost@example.com: it was not on the list; suppressed.\n"
    assert suppressed(project_dir) == {"ghost@example.com": ("removed", "manual")}


def test_resubscribe_does_not_lift_a_bounce(project_dir, cli, project):
    project.state.suppressions.add(
        "new@example.com", "bounced", "sendgrid bounces", project.clock.now()
    )
    result = cli("subscribers", "add", "sample", "new@example.com", "--resubscribe")
    assert result.exit_code == 1 and "is not lifted by --resubscribe" in result.stderr
    assert suppressed(project_dir) == {"new@example.com": ("bounced", "sendgrid bounces")}


def test_check_reports_every_bad_row_with_its_line(project_dir, cli):
    result = cli("subscribers", "check", "sample")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "subscribers/sample.csv:5: 'not-an-email' invalid address: "
        "An email address must have an @-sign.",
        "subscribers/sample.csv:6: 'ADA@Example.com' duplicate of line 2",
        "subscribers/sample.csv: 6 rows, 2 bad.",
    ]  # fmt: skip
    data = json.loads(cli("subscribers", "check", "sample", "--json").stdout)
    assert [b["line"] for b in data["bad_rows"]] == [5, 6]
    write(project_dir / "subscribers" / "clean.csv", "email\na@example.com\n")
    assert cli("subscribers", "check", "clean").exit_code == 0
    missing = cli("subscribers", "check", "nope")
    assert missing.exit_code == 1 and "subscribers/nope.csv: no such list file" in missing.stderr


def _fill(fake, now: int) -> None:
    fake.suppressions["bounces"] = [
        {"email": f"bounce{i}@example.com", "created": now - 7200 - i, "reason": "550"}
        for i in range(1203)
    ]  # fmt: skip
    fake.suppressions["unsubscribes"] = [{"email": "Ada@Example.com", "created": now - 50}]
    fake.suppressions["spam_reports"] = [
        {"email": "zoe@example.org", "created": now - 10, "ip": "x"}
    ]
    fake.suppressions["blocks"] = [{"email": "tom@example.net", "created": now - 5, "reason": "x"}]
    fake.suppressions["invalid_emails"] = [{"email": "bad@example.com", "created": now - 5}]
    fake.groups[42] = ["nameless@example.com"]


def test_sync_pulls_each_list_page_by_page_then_only_what_is_new(project_dir, cli, on_fake):
    point_sendgrid_at(project_dir, on_fake.url, unsubscribe_group="42")
    now = int(time.time())
    _fill(on_fake, now)
    result = cli("subscribers", "sync")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Synced from SendGrid: 1 unsubscribes, 1,203 bounces, 1 spam reports, 1 blocks, "
        "1 invalid emails, 1 group 42; 1,208 new suppressions.\n"
    )
    found = suppressed(project_dir)
    assert found["ada@example.com"] == ("unsubscribed", "sendgrid unsubscribes")
    assert found["zoe@example.org"] == ("spam report", "sendgrid spam_reports")
    assert found["nameless@example.com"] == ("unsubscribed", "sendgrid group 42")
    assert found["bounce1202@example.com"] == ("bounced", "sendgrid bounces")
    bounces = [p for p in on_fake.gets if p.startswith("/v3/suppression/bounces")]
    assert len(bounces) == 3 and all("limit=500" in p for p in bounces)  # 500 + 500 + 203
    assert "offset=1000" in bounces[2] and "start_time=0" in bounces[0]

    on_fake.gets.clear()
    # recorded by SendGrid after the first sync, dated a little before it
    on_fake.suppressions["bounces"].append({"email": "late@example.com", "created": now - 1})
    second = json.loads(cli("subscribers", "sync", "--json").stdout)
    assert second["new_suppressions"] == 1
    assert second["pulled"]["bounces"] == 1  # only the last hour's, not everything again
    (get,) = [p for p in on_fake.gets if p.startswith("/v3/suppression/bounces")]
    start = int(get.split("start_time=")[1].split("&")[0])
    assert abs(start - (now - 3600)) <= 2  # from the cursor, less an hour


def test_sync_retries_a_429_and_a_500_and_stops_on_a_bad_key(
    project_dir, cli, on_fake, monkeypatch, sleepless
):
    _fill(on_fake, int(time.time()))
    on_fake.get_faults = ["429", "500"]
    on_fake.reset_in = 0
    assert cli("subscribers", "sync").exit_code == 0
    assert len(sleepless.slept) == 2  # waited once for each, on the command's clock
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong-key-000000")
    before = suppressed(project_dir)
    on_fake.suppressions["bounces"].append(
        {"email": "new@example.com", "created": int(time.time())}
    )
    result = cli("subscribers", "sync")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: SendGrid answered 401 to /v3/suppression/unsubscribes")
    assert "SG.wrong" not in result.output
    assert suppressed(project_dir) == before


def test_cron_syncs_first_so_a_sendgrid_unsubscribe_applies_to_its_send(project_dir, cli, on_fake):
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace('kind = "outbox"', 'kind = "sendgrid"'))
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--now").exit_code == 0
    on_fake.suppressions["unsubscribes"] = [
        {"email": "zoe@example.org", "created": int(time.time())}
    ]
    result = cli("cron")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Synced from SendGrid: 1 new suppression."
    assert "3 accepted by sendgrid" in result.stdout
    assert "zoe@example.org" not in on_fake.accepted_emails()
    quiet = cli("cron")
    assert (quiet.stdout, quiet.stderr) == ("", "")  # nothing new: silent


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"name,city\nAda,London\n"])
def test_commands_on_a_broken_list_give_one_line_errors(project_dir, cli, content):
    write(project_dir / "subscribers" / "broken.csv", content)
    for args in (("check", "broken"), ("add", "broken", "a@example.com"), ("list", "broken")):
        result = cli("subscribers", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: subscribers/broken.csv:")
        assert len(result.stderr.splitlines()) == 1
    assert (project_dir / "subscribers" / "broken.csv").read_bytes() == content


@pytest.mark.slow
def test_adds_at_the_same_time_all_land(project_dir):
    import os
    import subprocess
    import sys

    env = dict(os.environ)

    def add(i: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "newsletter", "subscribers", "add", "sample",
                   f"same{i}@example.com"]  # fmt: skip
        return subprocess.Popen(command, cwd=project_dir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip

    runs = [add(i) for i in range(6)]
    codes = [run.wait(timeout=60) for run in runs]
    assert codes == [0] * 6, [run.stderr.read() for run in runs]
    text = (project_dir / SAMPLE).read_text()
    assert all(f"same{i}@example.com" in text for i in range(6))
