"""A reader signs up in real headless Chromium (tests/browser/signup_page.mjs), end to
end, on both state engines: fills the form, the confirmation mail is read from the
outbox, the link's GET changes nothing, the button confirms, and the address gets the
next send and the welcome issue, once."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import REPO, SAMPLE_ARTICLE, require_tool
from test_signup import confirmation_link, state_rows

from newsletter.web import make_app
from newsletter.web.production import Endpoint

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine")]  # a real browser


def browse(*args: str) -> dict:
    done = subprocess.run(["node", str(REPO / "tests" / "browser" / "signup_page.mjs"), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_reader_signs_up_confirms_and_gets_the_next_issue_and_the_welcome_once(
    project_dir, tmp_path, cli
):
    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((REPO / "node_modules" / "playwright-core").is_dir(), "playwright-core (npm ci)")
    require_tool(shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write('\n[lists.sample]\nsignup = true\nfields = ["name"]\n'
                       'welcome = "articles/welcome.md"\n')  # fmt: skip
    with Endpoint(make_app(project_dir)).start() as server:
        endpoint = f"http://127.0.0.1:{server.port}"
        filled = browse("fill", f"{endpoint}/subscribe/sample", "Reader@Example.org",
                        "Rea Der", str(tmp_path))  # fmt: skip
        form, sent = filled["pages"]
        assert form["heading"] == "Subscribe to Pop Culture Weekly"
        assert filled["labels"] == ["Email address", "Name (optional)"]  # the honeypot hidden
        assert sent["heading"] == "Check your inbox" and "Reader@example.org" in sent["text"]
        assert cli("cron").exit_code == 0  # the confirmation mail (no serve mailer here)
        link = confirmation_link(project_dir, endpoint, "Reader@example.org")
        before = state_rows(project_dir)
        confirmed = browse("confirm", link, str(tmp_path))
        shown, done = confirmed["pages"]
        assert shown["heading"] == "Confirm your subscription"
        assert shown["buttons"] == ["Yes, subscribe me"]
        assert done["heading"] == "You are subscribed"
        assert state_rows(project_dir) != before
    for seen in (filled, confirmed):  # no sideways scroll on a phone
        assert seen["scroll"] == {"375": 375, "600": 600}, seen["scroll"]
    print("\nscreenshots:", *filled["screenshots"], *confirmed["screenshots"], sep="\n  ")
    assert cli("cron").exit_code == 0  # the welcome issue
    assert cli("cron").exit_code == 0  # and never twice
    welcomes = [p for p in (project_dir / "outbox").iterdir() if p.name.startswith("welcome-")]
    assert [sorted(f.name for f in w.glob("*.eml")) for w in welcomes] == [
        ["reader@example.org.eml"]
    ]
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    issue = project_dir / "outbox" / SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    assert (issue / "reader@example.org.eml").exists()
