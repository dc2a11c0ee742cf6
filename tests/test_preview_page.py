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


LONG_FROM = (
    "The Extraordinarily Long-Named Pop Culture Weekly "
    "<extraordinarily-long-newsletter-address@news.example.com>"
)
LONG_TITLE = (
    "A Subject Long Enough To Wrap Twice, With "
    "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherungsanstalt In It"
)
FINDINGS_ARTICLE = f"""---
title: "{LONG_TITLE}"
---
An image without alt text: ![](https://example.com/grey.png)

A [relative link](/issues/42) and a link whose text is markup:
[<b>bold</b> <img src=x onerror="document.title='pwned'">](http://example.com/x).
"""
CLEAN_ARTICLE = """---
title: A Clean Issue
summary: Nothing here that check would mind.
---
A paragraph with an [absolute link](https://example.com/docs).
"""


def findings_project(project_dir):
    """The sample project with a long From, an https unsubscribe link (so the only
    findings are the article's), and an article with findings."""
    settings = project_dir / "newsletter.toml"
    text = settings.read_text()
    text = text.replace('from = "Pop Culture Weekly <news@example.com>"', f'from = "{LONG_FROM}"')
    text = text.replace("http://127.0.0.1:8025/unsubscribe", "https://news.example.com/unsubscribe")
    settings.write_text(text)
    article = project_dir / "articles" / "findings.md"
    article.write_text(FINDINGS_ARTICLE)
    return article


def test_the_page_shows_what_check_finds_and_the_headers_never_break_a_word(project_dir, tmp_path):
    """Item 8 of issue 15: the check's errors and warnings beside the email (above it
    on a narrow screen), as text, following a save; the headers view breaks a value
    only at spaces and after / & ? = , ; and scrolls what cannot fit in its own box."""
    from newsletter.check import check_issue, command_check
    from newsletter.project import Project

    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((REPO / "node_modules" / "playwright-core").is_dir(), "playwright-core (npm ci)")
    require_tool(shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    article = findings_project(project_dir)
    fixed = tmp_path / "clean.md"
    fixed.write_text(CLEAN_ARTICLE)
    with Project.open(project_dir) as project:
        expected = check_issue(project, [article], "sample")
    shown = [(f.severity, f.rule, f.message) for f in expected.findings if f.severity != "note"]
    assert {"img-alt", "link-relative", "subject"} <= {rule for _, rule, _ in shown}
    live = LivePreview(project_dir, [article], "sample", lint=command_check)
    meta = live.current.meta
    with live.watching(), Server(make_app(live), on_stop=live.close).start() as server:
        done = subprocess.run(
            ["node", str(REPO / "tests" / "browser" / "preview_findings.mjs"),
             f"http://127.0.0.1:{server.port}/", str(article), str(fixed), str(tmp_path)],
            capture_output=True, text=True, cwd=REPO, timeout=180,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    print("\nscreenshots:", *result["screenshots"], sep="\n  ")
    print(f"the panel followed the fix {result['clean']['updateMs']} ms after it was saved")
    errors, warnings = len(expected.errors), len(expected.warnings)
    for width, panel in result["panels"].items():
        assert panel["present"] and panel["visible"], width
        listed = [(f["severity"], f["rule"], f["message"]) for f in panel["findings"]]
        assert listed == shown, width  # what `newsletter check` finds, in its order
        assert f"{errors} error{'s' * (errors != 1)}, {warnings} warnings" in panel["summary"]
        assert "newsletter check --all" in panel["note"]  # the notes are counted
        assert panel["foreign"] == [] and panel["title"] != "pwned"  # text, never markup
        assert any("<b>bold</b>" in message for _, _, message in listed)
        assert panel["scrollWidth"] <= int(width.split("-")[0]), width  # no sideways scroll
    assert result["panels"]["1200"]["beside"]
    for width in ("600-light", "600-dark", "375-light", "375-dark"):
        assert result["panels"][width]["above"], width
    names = {"Subject", "From", "To", "Reply-To", "Preheader", "List-Unsubscribe",
             "List-Unsubscribe-Post"}  # fmt: skip
    for width, view in result["headers"].items():
        assert view["split"] == [], width  # no word over two lines
        assert view["scrollWidth"] <= int(width), width  # the page holds; a value box scrolls
        copied = {v["name"]: v["copied"] for v in view["values"]}
        assert names <= set(copied), width
        assert copied["From"] == meta["from"] == LONG_FROM  # copying gives the value itself
        assert copied["List-Unsubscribe"] == meta["list_unsubscribe"]
        assert copied["Subject"] == meta["subject"] == LONG_TITLE
        assert all(v["scrolls"] for v in view["values"] if v["overflows"]), width
    clean = result["clean"]
    assert clean["reloaded"] is False
    assert clean["panel"]["findings"] == [] and "no errors or warnings" in clean["panel"]["summary"]
    for width, broken in result["broken"].items():  # a render error stays in sight
        assert broken["error"].startswith("Render error: ") and broken["errorHeight"] > 0, width
        assert broken["errorTop"] < 400, width
        assert broken["panel"]["findings"] == [] and "not run" in broken["panel"]["summary"]
