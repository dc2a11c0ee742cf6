"""Nothing lost when the project moves (issue 13, item 4): `state export` and `state
import` carry all of the state between machines and engines, atomically and
idempotently; and the clone guard: a real send from a checkout that does not reach
the state the project recorded ([state] id) refuses and says how to reach it."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from conftest import NOW, REPO, SAMPLE_ARTICLE, SECRET, point_sendgrid_at, write
from test_state_engines import one_line

from newsletter.settings import with_state_id
from newsletter.state import Database
from newsletter.state.secrets import UNSUBSCRIBE

ISSUE = "000_1718b35f7cc77fd8"


def newsletter(project_dir: Path, *args: str, url: str | None = None, secret: bool = True):
    """The command as a process; with `secret` false, the signing key is the state's."""
    import subprocess
    import sys

    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    env.pop("NEWSLETTER_STATE_URL", None)
    if not secret:
        env.pop("NEWSLETTER_SECRET")
    if url is not None:
        env["NEWSLETTER_STATE_URL"] = url
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=project_dir,
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip


def ok(result) -> str:
    assert result.returncode == 0, f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    return result.stdout


def seen(project_dir: Path, url: str | None = None) -> dict:
    """What a user sees of the state: status, the queue, suppressions per list."""

    def shown(*args: str):
        return json.loads(ok(newsletter(project_dir, *args, "--json", url=url)))

    with Database(url or project_dir / ".newsletter" / "state.db") as state:
        suppressions = sorted(s.data().items() for s in state.suppressions.all())
    return {
        "status": shown("status"),
        "queued": shown("schedule", "--list-queued"),
        "lists": shown("subscribers", "list", "sample"),
        "suppressions": suppressions,
    }


def fill(project_dir: Path, url: str | None = None) -> None:
    """A state with some of everything: a sent issue, a queued one, suppressions."""
    ok(newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes", url=url))
    ok(newsletter(project_dir, "schedule", "articles/welcome.md", "--list", "sample",
                  "--at", "2030-01-01T09:00Z", "--subject", "Welcome, all", "--number", "2",
                  url=url))  # fmt: skip
    ok(newsletter(project_dir, "subscribers", "remove", "sample", "zoe@example.org", url=url))
    with Database(url or project_dir / ".newsletter" / "state.db") as state:  # a web signup
        asked = state.signups.ask("sample", "web@example.org", {"name": "Web"}, "page", "c" * 32,
                                  NOW)  # fmt: skip
        state.signups.confirm(asked.n, "d" * 32, None, NOW)
        state.leaves.add("sample", "tom@example.net", "preferences", NOW)  # left one list


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, postgres):
    """target() -> where the state of the checkout an export goes into is: None for
    its SQLite file, or a new database of the throw-away PostgreSQL server."""
    if request.param == "sqlite":
        return lambda: None
    return lambda: postgres.url(postgres.new_database())


def clone(project_dir: Path, where: Path) -> Path:
    """A copy of the project's committed files (no .newsletter, no outbox)."""
    shutil.copytree(project_dir, where, ignore=shutil.ignore_patterns(".newsletter", "outbox"))
    return where


@pytest.mark.parametrize("compressed", [False, True])
def test_an_export_imported_into_the_other_engine_shows_the_same_and_back(
    project_dir, postgres, tmp_path, compressed
):
    fill(project_dir)
    before = seen(project_dir)
    export = tmp_path / ("state.jsonl.gz" if compressed else "state.jsonl")
    said = ok(newsletter(project_dir, "state", "export", str(export)))
    assert "1 issue, 4 recipients, 1 schedule entry, 1 suppression" in said
    assert stat.S_IMODE(export.stat().st_mode) == 0o600  # addresses, and the secret
    if compressed:
        assert export.read_bytes()[:2] == b"\x1f\x8b"

    server = clone(project_dir, tmp_path / "server")
    url = postgres.url(postgres.new_database())
    said = ok(newsletter(server, "state", "import", str(export), url=url))
    assert "1 new issue, 1 new suppression, 1 new schedule entry" in said
    assert seen(server, url) == before
    # a PostgreSQL state made by an import goes on as any: the queued issue sent now
    # gets keys and recipients of its own
    ok(newsletter(server, "send", "articles/welcome.md", "--list", "sample", "--yes", url=url,
                  ))  # fmt: skip

    # and back, into a new SQLite state on a third machine
    back = tmp_path / "back.jsonl"
    ok(newsletter(server, "state", "export", str(back), url=url))
    third = clone(project_dir, tmp_path / "third")
    ok(newsletter(third, "state", "import", str(back)))
    assert seen(third) == seen(server, url)
    assert len(seen(third)["status"]) == 2


def test_an_import_twice_changes_nothing(project_dir, tmp_path, target):
    fill(project_dir)
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    where = clone(project_dir, tmp_path / "target")
    url = target()
    ok(newsletter(where, "state", "import", str(export), url=url))
    once = seen(where, url)
    again = json.loads(ok(newsletter(where, "state", "import", str(export), "--json", url=url)))
    assert again["new"] == {"issues": 0, "suppressions": 0, "cron_backoff": 0, "schedule": 0,
                            "signups": 0, "list_leaves": 0, "events": 0, "fates": 0,
                            "engagement": 0}  # fmt: skip
    assert again["already"]["signups"] == 1 and again["already"]["list_leaves"] == 1
    assert again["already"]["issues"] == 1 and again["already"]["suppressions"] == 1
    assert again["already"]["schedule"] == 1 and not again["adopted"]
    assert seen(where, url) == once
    # into its own source, too: everything is there already
    ok(newsletter(project_dir, "state", "import", str(export)))
    assert seen(project_dir) == once


def test_an_import_merges_into_a_state_that_has_other_things(project_dir, tmp_path, target):
    fill(project_dir)
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    other = clone(project_dir, tmp_path / "other")
    url = target()
    ok(newsletter(other, "send", "articles/welcome.md", "--list", "sample", "--yes", url=url))
    ok(newsletter(other, "subscribers", "remove", "sample", "tom@example.net", url=url))
    ok(newsletter(other, "state", "import", str(export), url=url))
    status = {s["issue"]: s for s in seen(other, url)["status"]}
    assert set(status) == {ISSUE, "welcome"}
    assert status[ISSUE]["accepted"] == 4  # before zoe left
    assert status["welcome"]["accepted"] == 3  # ada, nameless and tom, who left after
    suppressed = {dict(s)["email"] for s in seen(other, url)["suppressions"]}
    assert suppressed == {"zoe@example.org", "tom@example.net"}
    with Database(url or other / ".newsletter" / "state.db") as state:  # each run its keys
        runs = state.engine.all("SELECT first_seq, last_seq FROM issue_keys ORDER BY first_seq")
    assert runs[0][1] < runs[1][0]


def test_an_issue_in_both_states_sent_apart_is_refused_and_nothing_changes(
    project_dir, tmp_path, target
):
    ok(newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes"))
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    other = clone(project_dir, tmp_path / "other")
    url = target()
    ok(newsletter(other, "subscribers", "remove", "sample", "ada@example.com", url=url))
    ok(
        newsletter(other, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes", url=url)
    )  # the same id
    before = seen(other, url)
    refused = newsletter(other, "state", "import", str(export), url=url)
    one_line(refused, "state.jsonl", f"issue {ISSUE} is in this state and in the export",
             "nothing was imported")  # fmt: skip
    assert seen(other, url) == before


def test_an_import_into_a_state_that_signs_with_another_secret_is_refused(project_dir, tmp_path):
    ok(newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes", secret=False))
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    secret = Database(project_dir / ".newsletter" / "state.db").secrets.get(UNSUBSCRIBE)
    assert secret and secret in export.read_text()  # it travels with the export

    fresh = clone(project_dir, tmp_path / "fresh")  # takes the secret: links keep verifying
    ok(newsletter(fresh, "state", "import", str(export)))
    assert Database(fresh / ".newsletter" / "state.db").secrets.get(UNSUBSCRIBE) == secret

    other = clone(project_dir, tmp_path / "other")
    ok(newsletter(other, "send", "articles/welcome.md", "--list", "sample", "--yes",
                  secret=False))  # fmt: skip
    refused = newsletter(other, "state", "import", str(export))
    one_line(refused, "another unsubscribe secret", "import into a new state instead")
    assert secret not in refused.stderr + refused.stdout
    assert len(seen(other)["status"]) == 1


def damaged(export: Path, where: Path) -> dict[str, Path]:
    lines = export.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    newer = dict(header, schema=[*header["schema"], "9999_from_the_future"])
    older = dict(header, schema=header["schema"][:-1])
    files = {
        "cut off": "".join(lines[:-1]),
        "end line": "".join(lines[:-3] + lines[-1:]),
        "not json": "".join([*lines[:3], "{oops\n", *lines[3:]]),
        "newer": json.dumps(newer) + "\n" + "".join(lines[1:]),
        "older": json.dumps(older) + "\n" + "".join(lines[1:]),
        "other file": "email,name\nada@example.com,Ada\n",
        "empty": "",
        "bad row": "".join([*lines[:2], '["unsubscribe", {"a": 1}, "x"]\n', *lines[3:]]),
        "bad kind": re.sub(r"^\[(\d+),(\d+),", r'["\1",\2,', "".join(lines), count=1, flags=re.M),
        "null": "".join([*lines[:2], '["unsubscribe", null, "x"]\n', *lines[3:]]),
        "bad options": "".join(lines).replace('\\"number\\": 2', '\\"number\\": \\"seven\\"'),
    }
    assert files["bad options"] != "".join(lines), "the export has no queued --number"
    made = {name: write(where / f"{name.replace(' ', '-')}.jsonl", text)
            for name, text in files.items()}  # fmt: skip
    made["gzip cut"] = write(where / "cut.jsonl.gz", gzip.compress(export.read_bytes())[:-30])
    return made


def test_a_damaged_or_foreign_export_is_one_line_and_nothing_is_imported(project_dir, tmp_path):
    fill(project_dir)
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    target = clone(project_dir, tmp_path / "target")
    ok(newsletter(target, "subscribers", "remove", "sample", "tom@example.net"))
    before = seen(target)
    expected = {
        "cut off": "ends before its last line",
        "end line": "do not match",
        "not json": "not a line of a newsletter state export",
        "newer": "newer version of newsletter",
        "older": "older version of newsletter",
        "other file": "not a newsletter state export",
        "empty": "ends before its last line",
        "bad row": "not 3 values of its columns' kinds",
        "bad kind": "values of its columns' kinds",
        "null": "not 3 values of its columns' kinds",
        "bad options": "holds options newsletter does not write",
        "gzip cut": "cannot read the export",
    }
    for name, path in damaged(export, tmp_path / "damaged").items():
        line = one_line(newsletter(target, "state", "import", str(path)), path.name,
                        expected[name])  # fmt: skip
        assert "nothing was imported" in line, name
        assert seen(target) == before, name
    one_line(newsletter(target, "state", "import", str(tmp_path / "nope.jsonl")), "no such file")
    wrong = newsletter(target, "state", "import")
    assert wrong.returncode == 2


def test_an_export_to_a_folder_that_cannot_be_written_is_one_line(project_dir, tmp_path):
    ok(newsletter(project_dir, "status"))
    one_line(newsletter(project_dir, "state", "export", str(tmp_path / "no" / "such.jsonl")),
             "cannot write the export")  # fmt: skip


def test_an_export_to_standard_output_imports_from_standard_input(project_dir, tmp_path):
    import subprocess
    import sys

    fill(project_dir)
    target = clone(project_dir, tmp_path / "target")
    env = dict(os.environ)
    env.pop("NEWSLETTER_STATE_URL", None)
    command = [sys.executable, "-m", "newsletter", "state"]
    out = subprocess.run([*command, "export", "-"], cwd=project_dir, env=env,
                         capture_output=True, check=True)  # fmt: skip
    assert out.stdout.startswith(b'{"newsletter_state":1')
    subprocess.run([*command, "import", "-"], cwd=target, env=env, input=out.stdout,
                   capture_output=True, check=True)  # fmt: skip
    assert seen(target) == seen(project_dir)


# --- the clone guard ---


def test_a_clone_without_the_state_refuses_a_real_send_and_names_the_way_out(
    project_dir, fake, tmp_path, monkeypatch
):
    point_sendgrid_at(project_dir, fake.url)
    monkeypatch.setenv("SENDGRID_API_KEY", fake.api_key)
    first = newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes",
                       "--transport", "sendgrid")  # fmt: skip
    ok(first)
    assert "recorded [state] id" in first.stderr and "commit it" in first.stderr
    settings = (project_dir / "newsletter.toml").read_text()
    recorded = Database(project_dir / ".newsletter" / "state.db").identity.get()
    assert f'[state]\nid = "{recorded}"' in settings
    ok(newsletter(project_dir, "subscribers", "remove", "sample", "zoe@example.org"))
    sent = len(fake.accepted_emails())

    laptop = clone(project_dir, tmp_path / "laptop")  # `git clone`: no state comes along
    refused = newsletter(laptop, "send", "articles/welcome.md", "--list", "sample", "--yes",
                         "--transport", "sendgrid")  # fmt: skip
    line = one_line(refused, "newsletter.toml: [state] id", "a new, empty state",
                    f"not the state {recorded}", "NEWSLETTER_STATE_URL", "newsletter state import",
                    "newsletter state adopt")  # fmt: skip
    assert ".newsletter/state.db" in line
    assert len(fake.accepted_emails()) == sent
    shown = newsletter(laptop, "status")  # a command that only reads says so too
    assert shown.returncode == 0 and shown.stderr.count("warning: newsletter.toml: [state] id") == 1
    for queued in (["schedule", "articles/welcome.md", "--list", "sample", "--now",
                    "--transport", "sendgrid"], ["cron"]):  # fmt: skip
        if queued == ["cron"]:
            continue  # nothing is queued in this state to refuse
        one_line(newsletter(laptop, *queued), "[state] id")
    # a dry run, a test copy and the outbox only warn
    dry = newsletter(laptop, "send", "articles/welcome.md", "--list", "sample", "--dry-run",
                     "--transport", "sendgrid")  # fmt: skip
    assert dry.returncode == 0 and "warning: newsletter.toml: [state] id:" in dry.stderr
    outbox = newsletter(laptop, "send", "articles/welcome.md", "--list", "sample", "--yes")
    assert outbox.returncode == 0 and "warning:" in outbox.stderr
    assert (project_dir / "newsletter.toml").read_text() == settings  # never rewritten

    # the way out: the state moved here; the suppression recorded there holds
    export = tmp_path / "state.jsonl"
    ok(newsletter(project_dir, "state", "export", str(export)))
    moved = clone(project_dir, tmp_path / "moved")
    shutil.copy(REPO / "subscribers" / "sample.csv", moved / "subscribers")  # zoe's row back
    ok(newsletter(moved, "state", "import", str(export)))
    assert (moved / "newsletter.toml").read_text() == settings  # the same state, moved
    ok(newsletter(moved, "send", "articles/welcome.md", "--list", "sample", "--yes",
                  "--transport", "sendgrid"))  # fmt: skip
    assert "zoe@example.org" not in fake.accepted_emails()[sent:]  # the state's suppression
    assert len(fake.accepted_emails()) == sent + 3


def test_adopt_starts_a_new_state_on_purpose(project_dir, fake, tmp_path, monkeypatch):
    point_sendgrid_at(project_dir, fake.url)
    monkeypatch.setenv("SENDGRID_API_KEY", fake.api_key)
    ok(newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes",
                  "--transport", "sendgrid"))  # fmt: skip
    fresh = clone(project_dir, tmp_path / "fresh")
    adopted = newsletter(fresh, "state", "adopt")
    ok(adopted)
    assert "recorded [state] id" in adopted.stderr
    new_id = Database(fresh / ".newsletter" / "state.db").identity.get()
    assert f'id = "{new_id}"' in (fresh / "newsletter.toml").read_text()
    ok(newsletter(fresh, "send", "articles/welcome.md", "--list", "sample", "--yes",
                  "--transport", "sendgrid"))  # fmt: skip
    assert "already" in ok(newsletter(fresh, "state", "adopt"))


def test_a_clone_pointed_at_the_shared_state_sends(project_dir, fake, postgres, tmp_path,
                                                    monkeypatch):  # fmt: skip
    url = postgres.url(postgres.new_database())
    point_sendgrid_at(project_dir, fake.url)
    monkeypatch.setenv("SENDGRID_API_KEY", fake.api_key)
    ok(newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes",
                  "--transport", "sendgrid", url=url))  # fmt: skip
    assert "[state]\nid =" in (project_dir / "newsletter.toml").read_text()
    server = clone(project_dir, tmp_path / "server")
    sent = ok(newsletter(server, "send", "articles/welcome.md", "--list", "sample", "--yes",
                         "--transport", "sendgrid", url=url))  # fmt: skip
    assert "4 accepted" in sent
    assert one_line(newsletter(server, "send", "articles/welcome.md", "--list", "sample",
                               "--yes", "--id", "again", "--transport", "sendgrid"),
                    "[state] id")  # fmt: skip


# --- the one line written into newsletter.toml ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[newsletter]\nname = "N"\n',
            '[newsletter]\nname = "N"\n\n[state]\nid = "abcdef0123456789"',
        ),
        (
            'name = 1\n[state]\nurl = "sqlite:///x.db"\n[smtp]\nport = 1\n',
            '[state]\nid = "abcdef0123456789"  # the state this project sends from (see README)\n'
            'url = "sqlite:///x.db"\n[smtp]',
        ),
        (
            '[state]  # where\nid = "0000000000000000"\nurl = "x"\n',
            '[state]  # where\nid = "abcdef0123456789"',
        ),
        ('[newsletter]\nname = "N"', '[newsletter]\nname = "N"\n\n[state]\nid = '),
    ],
)
def test_the_state_id_goes_into_the_state_table(text, expected):
    edited = with_state_id(text, "abcdef0123456789")
    assert edited is not None and expected in edited


def test_a_state_table_written_another_way_is_not_edited():
    assert with_state_id('state.url = "sqlite:///x.db"\n', "abcdef0123456789") is None
    assert with_state_id("[state.extra]\nx = 1\n[state]\n", "abcdef0123456789") is not None


def test_every_table_of_the_state_is_exported(tmp_path):
    """A table added by a migration but not to the export would be lost by a move."""
    from newsletter.state.transfer import OWN_TABLES, TABLES

    with Database(tmp_path / "state.db") as state:
        assert state.engine.tables() == OWN_TABLES
        for table, columns in TABLES.items():
            found = state.engine.all(f"SELECT name FROM pragma_table_info('{table}')")
            assert tuple(row[0] for row in found) == columns, table
