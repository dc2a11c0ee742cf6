"""The `preview --serve` page in real headless Chromium: the views switch, and an
edit to the article shows on the page by itself (tests/browser/preview_page.mjs)."""

import json
import shutil
import subprocess

import pytest
from conftest import REPO, SAMPLE_ARTICLE, require_tool

from newsletter.preview.live import LivePreview, make_app
from newsletter.web.server import Server

pytestmark = pytest.mark.slow  # a real browser


def test_the_preview_page_switches_views_and_follows_an_edit(project_dir, tmp_path):
    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((REPO / "node_modules" / "playwright-core").is_dir(), "playwright-core (npm ci)")
    require_tool(shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    article = project_dir / SAMPLE_ARTICLE
    live = LivePreview(project_dir, [article], "sample")
    with live.watching(), Server(make_app(live), on_stop=live.close).start() as server:
        done = subprocess.run(
            ["node", str(REPO / "tests" / "browser" / "preview_page.mjs"),
             f"http://127.0.0.1:{server.port}/", str(article), str(tmp_path)],
            capture_output=True, text=True, cwd=REPO, timeout=180,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    print("\nscreenshots:", *result["screenshots"], sep="\n  ")
    print(f"the page showed the edit {result['updateMs']} ms after it was saved")
    views = result["views"]
    assert {v: views[v]["pressed"] for v in views} == dict.fromkeys(views, "true")
    assert views["desktop"]["frameWidth"] == 600 and views["phone"]["frameWidth"] == 375
    assert "Hi Ada Lovelace," in views["desktop"]["frameText"]
    assert views["dark"]["frameBackground"] != views["desktop"]["frameBackground"]
    assert views["text"]["textShown"] and not views["desktop"]["textShown"]
    assert "Hi Ada Lovelace," in views["text"]["text"]
    assert views["headers"]["headersShown"]
    names = [name for name, _ in views["headers"]["headers"]]
    assert names[:3] == ["Subject", "From", "To"] and "List-Unsubscribe-Post" in names
    assert views["phone"]["hash"] == "#phone"
    assert result["subjectAfter"].startswith("Edited While Watching")
    assert result["scroll375light"] <= 375  # the page itself holds on a phone
    assert result["reloaded"] is False  # updated in place, not by reloading the page
