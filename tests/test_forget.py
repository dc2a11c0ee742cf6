"""A person's data on request (issue 16, item 8): `subscribers export EMAIL` shows
everything the project holds of an address; `subscribers forget EMAIL` removes it from
every list, the state and the outbox, keeping only a keyed hash; after it the address
is in no file or table in clear, and no import, add, send or state import brings it
back."""

import json
import shutil

import pytest
from conftest import DATA, NOW, SAMPLE_ARTICLE, open_state, write
from test_bad_input import assert_one_line_error

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL

SAMPLE = "subscribers/sample.csv"
ISSUE = "000_1718b35f7cc77fd8"
ADA = "ada@example.com"
CSV = "email,name,city\nada@example.com,Ada Lovelace,London\nzoe@example.org,Zoë,Malmö\n"


def send(cli, article: str = SAMPLE_ARTICLE):
    result = cli("send", article, "--list", "sample", "--yes")
    assert result.exit_code == 0, result.stderr
    return result


def dump(project_dir) -> list[str]:
    """Every row of every table of the state, as text."""
    with open_state(project_dir) as state:
        engine = state.engine
        return [f"{table}: {row}" for table in sorted(engine.tables())
                for row in engine.all(f"SELECT * FROM {table}")]  # fmt: skip


def in_clear(project_dir, address: str = ADA) -> list[str]:
    """Where the address is, in any case: the project's files (lists, outbox, the
    state's folder, anything else) and every row of the state."""
    needle = address.lower().encode()
    found = [str(path.relative_to(project_dir)) for path in sorted(project_dir.rglob("*"))
             if path.is_file() and needle in path.read_bytes().lower()]  # fmt: skip
    found += [row for row in dump(project_dir) if address.lower() in row.lower()]
    return found


def test_export_shows_every_row_suppression_lift_and_delivery(project_dir, cli):
    write(project_dir / "subscribers" / "more.csv", "email,name\nADA@example.com,Ada L.\n")
    send(cli)
    with open_state(project_dir) as state:
        state.suppressions.add(ADA, "removed", "manual", NOW)
    assert cli("subscribers", "suppressions", "lift", ADA, "--reason", "asked back").exit_code == 0
    assert cli("subscribers", "remove", "more", ADA).exit_code == 0
    data = json.loads(cli("subscribers", "export", "Ada@Example.com", "--json").stdout)
    assert data["email"] == "Ada@example.com" and data["held"] and not data["forgotten"]
    assert data["lists"] == [
        {"list": "sample", "line": 2, "skipped": None,
         "fields": {"email": ADA, "name": "Ada Lovelace", "city": "London"}},
        {"list": "sample", "line": 6, "skipped": "duplicate of line 2",
         "fields": {"email": "ADA@Example.com"}},
    ]  # fmt: skip
    assert data["suppression"]["reason"] == "removed" and data["suppression"]["source"] == "manual"
    (lift,) = data["lifts"]
    assert lift["lift_reason"] == "asked back" and lift["lifted_by"] == "lift"
    (delivery,) = data["issues"]
    assert delivery["issue"] == ISSUE and delivery["list"] == "sample"
    assert delivery["state"] == "sent" and delivery["message_id"].startswith(f"<{ISSUE}.")
    assert delivery["fields"] == {"email": ADA, "name": "Ada Lovelace", "city": "London"}
    assert delivery["at"]
    assert data["signups"] == []
    assert data["outbox"] == [f"outbox/{ISSUE}/{ADA}.eml"]
    text = cli("subscribers", "export", ADA)
    assert text.exit_code == 0
    assert "  sample, line 2: email=ada@example.com, name=Ada Lovelace, city=London" in text.stdout
    assert f"  {ISSUE} (list sample): sent " in text.stdout
    assert "suppression: removed (manual, " in text.stdout
    assert "why: asked back" in text.stdout and "signups and consent: none kept" in text.stdout


def test_export_of_an_address_the_project_does_not_hold(project_dir, cli):
    result = cli("subscribers", "export", "nobody@example.com")
    assert result.exit_code == 0
    assert result.stdout == (
        "nobody@example.com: nothing held (on no list, no suppression, no issue sent to it).\n"
    )
    data = json.loads(cli("subscribers", "export", "nobody@example.com", "--json").stdout)
    assert not data["held"] and data["lists"] == [] and data["issues"] == []
    bad = cli("subscribers", "export", "not an address")
    assert_one_line_error(bad, 2, "EMAIL 'not an address'")


def test_after_forget_the_address_is_in_no_file_or_table_in_clear(project_dir, cli):
    write(
        project_dir / "subscribers" / "more.csv",
        "email,name\nzoe@example.org,Z\nAda@example.com,A\n",
    )
    send(cli)
    assert cli("send", SAMPLE_ARTICLE, "--test", ADA).exit_code == 0  # a test copy, too
    assert cli("subscribers", "remove", "more", "zoe@example.org").exit_code == 0
    with open_state(project_dir) as state:  # a refusal that quotes the address
        state.engine.execute(
            "UPDATE deliveries SET state = 'refused', reason = '550 <ADA@example.com>: no' "
            "WHERE email_key = ?", (ADA,)
        )  # fmt: skip
        state.engine.execute(  # a bounce event's words that quote it
            "INSERT INTO fates (seq, issue, state, bounce, reason, at, updated_at) "
            "SELECT seq, issue, 'bounced', 'hard', '550 5.1.1 <Ada@Example.com> unknown', 0, '' "
            "FROM deliveries WHERE email_key = ?", (ADA,)
        )  # fmt: skip
    assert in_clear(project_dir)  # everywhere before
    before = {path: (project_dir / path).read_bytes() for path in (SAMPLE, "subscribers/more.csv")}
    counts = json.loads(cli("status", ISSUE, "--json").stdout)
    result = cli("subscribers", "forget", "ADA@example.com", "--yes")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Forgot ADA@example.com:\n")
    assert (
        "  lists: removed subscribers/more.csv line 2; subscribers/sample.csv lines 2, 6\n" in out
    )
    assert "  issues: 1 recipient row kept in their counts under its hash\n" in out
    assert "  outbox: 2 files deleted\n" in out
    assert "git history still holds earlier versions of subscribers/more.csv" in result.stderr
    assert "state export" in result.stderr
    assert in_clear(project_dir) == []
    # every other row of the lists byte for byte, the issue's counts as they were
    assert (project_dir / SAMPLE).read_bytes() == before[SAMPLE].replace(
        b"ada@example.com,Ada Lovelace,London\n", b""
    ).replace(b"ADA@Example.com,Ada Again,London\n", b"")
    assert (project_dir / "subscribers/more.csv").read_bytes() == b"email,name\n"
    assert json.loads(cli("status", ISSUE, "--json").stdout) == counts
    hashed = out.split("its hash ", 1)[1].split()[0]
    with open_state(project_dir) as state:
        assert state.suppressions.get(hashed).reason == "forgotten"
        assert state.suppressions.get("zoe@example.org") is not None  # others stay
    shown = cli("subscribers", "suppressions").stdout
    assert hashed in shown and "forgotten" in shown
    export = json.loads(cli("subscribers", "export", ADA, "--json").stdout)
    assert export["forgotten"] and export["lists"] == []
    assert export["issues"][0]["email"] == hashed
    assert export["issues"][0]["reason"] == f"550 <{hashed}>: no"
    again = cli("subscribers", "forget", ADA, "--yes")  # nothing left: says so, changes nothing
    assert again.exit_code == 0 and "forgotten before" in again.stdout
    assert "lists: on none" in again.stdout


def test_nothing_brings_a_forgotten_address_back(project_dir, cli):
    send(cli)
    shutil.copy(project_dir / SAMPLE, project_dir / "old-list.csv")  # a copy kept elsewhere
    write(project_dir / "old-export.csv", CSV)  # an old export of another tool, with it
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    # subscribers add: refused, one line, nothing written
    before = (project_dir / SAMPLE).read_bytes()
    added = cli("subscribers", "add", "sample", "Ada@example.com", "--name", "Ada")
    assert_one_line_error(added, 1, "Ada@example.com: asked to be forgotten", "nothing changed")
    assert (project_dir / SAMPLE).read_bytes() == before
    # subscribers import: the row skipped, with why; neither a row nor a suppression
    imported = cli("subscribers", "import", "sample", "old-export.csv", "--json")
    assert imported.exit_code == 0, imported.stderr
    summary = json.loads(imported.stdout)
    assert summary["skipped_rows"] == [
        {"line": 2, "email": ADA, "reason": "asked to be forgotten (subscribers forget)"}
    ]
    unsubscribed = (DATA / "imports" / "mailchimp_unsubscribed.csv").read_text()
    write(project_dir / "marked.csv", unsubscribed.replace("quit.reader@example.com", ADA))
    marked = cli("subscribers", "import", "sample", "marked.csv", "--from", "mailchimp")
    assert marked.exit_code == 0, marked.stderr  # its mark: no suppression in clear
    assert {"line": 2, "email": ADA, "reason": "asked to be forgotten (subscribers forget)"} in (
        json.loads(cli("subscribers", "import", "sample", "marked.csv", "--json").stdout)[
            "skipped_rows"]
    )  # fmt: skip
    for name in ("old-export.csv", "old-list.csv", "marked.csv"):
        (project_dir / name).unlink()
    assert in_clear(project_dir) == []
    # a row put back by hand (or a git revert): the send skips it, the ledger never has it
    (project_dir / SAMPLE).write_bytes(before + b"ada@example.com,Ada Back,London\n")
    listed = json.loads(cli("subscribers", "list", "--json").stdout)[0]
    assert listed["suppressed"] == 1
    dry = cli("send", "articles/welcome.md", "--list", "sample", "--dry-run")
    assert "1 suppressed" in dry.stdout
    assert "3 accepted" in send(cli, "articles/welcome.md").stdout  # ada left out
    recipients = cli("status", "welcome", "--recipients").stdout.lower()
    assert ADA not in recipients and "forgotten:" not in recipients  # never frozen
    (project_dir / SAMPLE).write_bytes(before)
    assert in_clear(project_dir) == []
    assert not list((project_dir / "outbox").rglob(f"{ADA}.eml"))


def test_sendgrids_lists_and_an_old_unsubscribe_link_bring_nothing_back(
    project_dir, cli, on_fake, monkeypatch
):
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    from newsletter.project import Project
    from newsletter.web import make_app

    with Project.open(project_dir) as project:  # the link of an earlier issue's email
        link = project.signer.links("sample").url(ADA)
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    on_fake.suppressions["bounces"] = [{"email": "ADA@example.com", "created": 1, "reason": "x"}]
    synced = cli("subscribers", "sync")
    assert synced.exit_code == 0 and "0 new suppressions" in synced.stdout
    environ = {"PATH_INFO": "/unsubscribe", "QUERY_STRING": link.split("?", 1)[1],
               "REQUEST_METHOD": "POST", "CONTENT_LENGTH": "26",
               "wsgi.input": BytesIO(b"List-Unsubscribe=One-Click")}  # fmt: skip
    setup_testing_defaults(environ)
    seen: list[str] = []
    body = b"".join(make_app(project_dir)(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"] and body
    assert in_clear(project_dir) == []


def test_a_state_export_made_before_the_forget_brings_nothing_back(project_dir, cli):
    """The issue in both is the same issue (its rows of the address compared under the
    hash), so the import is not refused; the old suppression stays out."""
    send(cli)
    with open_state(project_dir) as state:
        state.suppressions.add(ADA, "removed", "manual", NOW)
    assert cli("state", "export", "before.jsonl").exit_code == 0
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    result = cli("state", "import", "before.jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["already"]["issues"] == 1
    (project_dir / "before.jsonl").unlink()
    assert in_clear(project_dir) == []


def test_a_forget_moves_to_another_state_with_its_export(project_dir, cli, engine, request,
                                                        monkeypatch):  # fmt: skip
    """State B, imported from A before A forgot the address, forgets it too when it
    imports A's later export."""
    send(cli)
    assert cli("state", "export", "a-before.jsonl").exit_code == 0
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    assert cli("state", "export", "a-after.jsonl").exit_code == 0
    clone = project_dir.parent / "clone"
    shutil.copytree(project_dir, clone, ignore=shutil.ignore_patterns(".newsletter", "outbox",
                                                                      "*.jsonl"))  # fmt: skip
    if engine == "postgresql":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("NEWSLETTER_STATE_URL", server.url(server.new_database()))
    for export in ("a-before.jsonl", "a-after.jsonl"):
        done = cli("state", "import", str(project_dir / export), "--project", str(clone))
        assert done.exit_code == 0, done.stderr
    for export in ("a-before.jsonl", "a-after.jsonl"):
        (project_dir / export).unlink()
    assert in_clear(clone) == []


def test_two_states_that_forgot_under_keys_of_their_own_are_not_merged(
    project_dir, cli, engine, request, monkeypatch
):
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    assert cli("state", "export", "a.jsonl").exit_code == 0
    clone = project_dir.parent / "clone"
    shutil.copytree(project_dir, clone, ignore=shutil.ignore_patterns(".newsletter", "*.jsonl"))
    if engine == "postgresql":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("NEWSLETTER_STATE_URL", server.url(server.new_database()))
    assert (
        cli("subscribers", "forget", "zoe@example.org", "--yes", "--project", str(clone)).exit_code
        == 0
    )
    refused = cli("state", "import", str(project_dir / "a.jsonl"), "--project", str(clone))
    assert_one_line_error(refused, 1, "forgot addresses under a key of their own",
                          "nothing was imported")  # fmt: skip


def test_a_forgotten_address_is_lifted_only_with_force_and_the_lift_keeps_no_address(
    project_dir, cli
):
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    refused = cli("subscribers", "suppressions", "lift", ADA, "--reason", "came back")
    assert_one_line_error(refused, 1, f"{ADA}: forgotten (forget, ", "asked to be forgotten",
                          "--force")  # fmt: skip
    hashed = json.loads(cli("subscribers", "suppressions", "--json").stdout)[0]["email"]
    again = cli("subscribers", "forget", hashed, "--yes")
    assert_one_line_error(again, 1, f"{hashed}: is a forgotten address's hash")
    lifted = cli("subscribers", "suppressions", "lift", ADA, "--reason", "came back", "--force")
    assert lifted.exit_code == 0, lifted.stderr
    assert lifted.stdout.startswith(f"Lifted the suppression of {hashed}: forgotten (forget")
    assert in_clear(project_dir) == []  # the lift is recorded under the hash
    with open_state(project_dir) as state:
        (lift,) = state.suppressions.lifts()
        assert (lift.email, lift.lifted_by) == (hashed, "lift --force")
        assert lift.lift_reason == "came back"
    assert cli("subscribers", "add", "sample", ADA).exit_code == 0  # welcome back


def test_forget_asks_on_a_terminal(project_dir, cli, wiring):
    wiring["terminal"] = True
    no = cli("subscribers", "forget", ADA, input="n\n")
    assert no.exit_code == 1 and "Forget ada@example.com (on sample)" in no.stdout
    assert ADA in (project_dir / SAMPLE).read_text()
    yes = cli("subscribers", "forget", ADA, input="y\n")
    assert yes.exit_code == 0 and ADA not in (project_dir / SAMPLE).read_text().lower()


def test_the_forgotten_hash_does_not_depend_on_the_links_secret(project_dir, cli, monkeypatch):
    """Its key is the state's own: a host without NEWSLETTER_SECRET (or with another)
    still knows the forgotten address."""
    assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
    monkeypatch.delenv("NEWSLETTER_SECRET")
    added = cli("subscribers", "add", "sample", ADA)
    assert_one_line_error(added, 1, "asked to be forgotten")
    monkeypatch.setenv("NEWSLETTER_SECRET", "yet-another-secret-0123456789abcdef012345")
    assert_one_line_error(cli("subscribers", "add", "sample", ADA), 1, "asked to be forgotten")


def test_the_forgotten_hash_is_stable_and_keyed(project_dir, project):
    from newsletter.signing import AddressHash

    hasher = project.address_hash
    assert hasher(ADA) == hasher(" ADA@Example.com ") and hasher(ADA) != hasher("zoe@example.org")
    assert hasher(ADA).startswith("forgotten:") and "@" not in hasher(ADA)
    assert AddressHash(b"another-secret-0123456789abcdef0123456789")(ADA) != hasher(ADA)


def test_the_sqlite_files_hold_no_old_copy_while_another_process_has_the_state_open(
    project_dir, cli, engine
):
    """With `serve` (here: a connection) holding the state open, its write-ahead log
    outlives each command: forget empties it (and zeroes the space it frees)."""
    if engine != "sqlite":
        pytest.skip("SQLite's own files")
    import sqlite3

    send(cli)
    other = sqlite3.connect(project_dir / ".newsletter" / "state.db")
    try:
        other.execute("SELECT count(*) FROM deliveries").fetchone()
        assert cli("subscribers", "remove", "sample", "zoe@example.org").exit_code == 0
        assert in_clear(project_dir)  # the log holds it, at least
        assert cli("subscribers", "forget", ADA, "--yes").exit_code == 0
        assert in_clear(project_dir) == []
    finally:
        other.close()


def test_a_send_not_finished_skips_the_forgotten_recipient(project_dir, cli):
    write(project_dir / "outbox" / ISSUE, "in the way")  # the outbox cannot be written
    stopped = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert stopped.exit_code == 1, stopped.output
    assert json.loads(cli("status", ISSUE, "--json").stdout)[0]["pending"] == 4
    forgot = cli("subscribers", "forget", ADA, "--yes")
    assert (
        "1 recipient row kept in their counts under its hash (1 still waiting in a send: "
        "skipped)" in forgot.stdout
    )
    (project_dir / "outbox" / ISSUE).unlink()
    resumed = cli("send", "--id", ISSUE, "--yes")
    assert resumed.exit_code == 0, resumed.output
    (status,) = json.loads(cli("status", ISSUE, "--json").stdout)
    assert (status["accepted"], status["skipped"], status["pending"]) == (3, 1, 0)
    (row,) = json.loads(cli("subscribers", "export", ADA, "--json").stdout)["issues"]
    assert (row["state"], row["reason"]) == ("skipped", "forgotten (forget)")
    assert not (project_dir / "outbox" / ISSUE / f"{ADA}.eml").exists()
    assert in_clear(project_dir) == []


def test_export_shows_the_signups_consent_and_lists_left_and_forget_deletes_them(project_dir, cli):
    write(project_dir / "subscribers" / "more.csv", "email,name\nzoe@example.org,Z\n")
    send(cli)
    with open_state(project_dir) as state:  # a web signup, confirmed; a list left
        asked = state.signups.ask("more", ADA, {"name": "Ada"}, "page", "c" * 32, NOW)
        state.signups.confirm(asked.n, "d" * 32, "unsubscribed (link, 2026-11-01)", NOW)
        state.leaves.add("sample", ADA, "preferences", NOW)
    data = json.loads(cli("subscribers", "export", ADA, "--json").stdout)
    (signup,) = data["signups"]
    assert (signup["list"], signup["state"], signup["form"]) == ("more", "confirmed", "page")
    assert signup["client_hash"] == "c" * 32 and signup["confirmed_at"] == NOW.isoformat()
    assert signup["lifted"] == "unsubscribed (link, 2026-11-01)"
    assert data["left"] == [{"list": "sample", "at": NOW.isoformat()}]
    text = cli("subscribers", "export", ADA).stdout
    assert "  more: confirmed, asked " in text and "on page (client hash cccccccccccc)" in text
    assert "  left list sample on the preferences page " in text
    result = cli("subscribers", "forget", ADA, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "  signups and list leaves: 2 deleted" in result.stdout
    assert in_clear(project_dir) == []
    with open_state(project_dir) as state:
        assert state.signups.of_address(ADA) == [] and state.leaves.of_address(ADA) == {}
