"""`newsletter archive build`: the web archive of the issues sent, built from a
ledger with three sent issues and one `archive: false`, on both state engines."""

from __future__ import annotations

import email
import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from conftest import open_state, write

from newsletter.archive.contents import ArchivedIssue
from newsletter.archive.page import NAV, READER, PageSite, issue_page
from newsletter.project import Project
from newsletter.render import PACKAGE_TEMPLATES
from newsletter.render.placeholders import Template
from newsletter.render.words import words
from newsletter.state.issues import dump_rendered, load_rendered

pytestmark = pytest.mark.usefixtures("engine")

URL = "https://example.github.io/letter"
ARTICLES = {
    "first": ("2025-11-03T09:00:00+00:00", "---\ntitle: The first issue\nsubject: Hello\n"
              "preheader: Where it all started.\n---\nOne.\n"),
    "second": ("2026-01-12T09:00:00+00:00", "---\ntitle: The second issue\n---\nTwo, with a "
               "[link](https://example.com/two).\n"),
    "third": ("2026-11-20T09:00:00+00:00", "---\ntitle: Das dritte Heft\nsubject: Third\n---\n"
              "Three.\n"),
    "private": ("2026-11-21T09:00:00+00:00", "---\ntitle: For subscribers only\narchive: false\n"
                "---\nNot for the web.\n"),
}  # fmt: skip
SENT = ("third", "second", "first")  # newest first


def with_archive_url(project_dir: Path, url: str = URL) -> None:
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text() + f'\n[archive]\nurl = "{url}"\n')


@pytest.fixture
def sent(project_dir, cli, moving_clock):
    """The sample project with [archive] url and four issues sent to its list, one of
    them `archive: false`; each subject ends in the reader's name (the fallback: friend)."""
    with_archive_url(project_dir)
    write(
        project_dir / "templates" / "subject.txt",
        '{{ issue_subject or articles[0].title }}, {{ subscriber.get("name", "friend") }}\n',
    )
    for name, (at, text) in ARTICLES.items():
        write(project_dir / "articles" / f"{name}.md", text)
        moving_clock.at = datetime.fromisoformat(at)
        result = cli("send", f"articles/{name}.md", "--list", "sample", "--yes")
        assert result.exit_code == 0, result.output
    return project_dir


@pytest.fixture
def built(sent, cli):
    result = cli("archive", "build")
    assert result.exit_code == 0, result.output
    return sent / "archive"


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def readers(project_dir: Path) -> list[str]:
    """Every address and name of the sample list, as written and as HTML escapes them."""
    found = []
    for line in (project_dir / "subscribers" / "sample.csv").read_text().splitlines()[1:]:
        address, name, _city = line.split(",")
        for value in (address, name):
            if value:
                found += [value, html.escape(value), html.escape(value, quote=False)]
    return found


# --- what is in it ---


def test_every_sent_issue_has_a_page_of_its_own_and_archive_false_keeps_one_out(built, cli):
    files = every_file(built)
    assert {f"issues/{name}/index.html" for name in SENT} <= set(files)
    assert not (built / "issues" / "private").exists()
    assert {"index.html", "feed.xml", "sitemap.xml", ".newsletter-archive"} <= set(files)
    index = files["index.html"].decode()
    order = [index.index(f'href="issues/{name}/index.html"') for name in SENT]
    assert order == sorted(order), "newest first"
    assert "For subscribers only" not in index


def test_no_address_or_name_of_a_subscriber_appears_in_any_file(built, sent):
    found = every_file(built)
    assert len(found) >= 7
    for name, data in found.items():
        text = data.decode("utf-8")
        for value in readers(sent):
            assert value.lower() not in text.lower(), (name, value)
        assert "unsubscribe?" not in text and "127.0.0.1" not in text, name
        assert "%%nl" not in text, f"{name}: a placeholder left"


def test_a_page_fills_fields_with_their_fallback_and_links_to_subscribe(built):
    page = (built / "issues" / "first" / "index.html").read_text()
    assert "<title>Hello, friend · Pop Culture Weekly</title>" in page  # the fallback
    assert "Hi there," in page
    assert "Unsubscribe" not in page and "Manage preferences" not in page
    assert "This is the web version of an issue of Pop Culture Weekly." in page
    assert 'href="https://example.com">Subscribe to Pop Culture Weekly</a>' in page  # no signup
    assert NAV[0] not in page and READER[0] not in page


def test_each_page_links_to_the_issues_sent_before_and_after_it(built):
    def page(name):
        return (built / "issues" / name / "index.html").read_text()

    assert 'href="../first/index.html">Previous issue: Hello, friend</a>' in page("second")
    assert 'href="../third/index.html">Next issue: Third, friend</a>' in page("second")
    assert "Next issue" not in page("third") and "Previous issue" not in page("first")
    assert "For subscribers only" not in page("third")  # archive: false is nobody's neighbour


def test_a_list_with_a_signup_page_gets_its_subscribe_link(sent, cli):
    path = sent / "newsletter.toml"
    path.write_text(path.read_text() + "\n[lists.sample]\nsignup = true\n")
    assert cli("archive", "build").exit_code == 0
    page = (sent / "archive" / "issues" / "second" / "index.html").read_text()
    assert 'href="http://127.0.0.1:8025/subscribe/sample"' in page
    index = (sent / "archive" / "index.html").read_text()
    assert 'class="button" href="http://127.0.0.1:8025/subscribe/sample"' in index


def test_pages_have_their_language_title_canonical_link_and_the_feed(built):
    page = (built / "issues" / "third" / "index.html").read_text()
    assert re.search(r'<html lang="en"', page)
    assert "<title>Third, friend · Pop Culture Weekly</title>" in page
    assert f'<link rel="canonical" href="{URL}/issues/third/">' in page
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page
    index = (built / "index.html").read_text()
    assert '<html lang="en" dir="ltr">' in index
    assert f'<link rel="canonical" href="{URL}/">' in index
    assert '<link rel="alternate" type="application/atom+xml" title="Pop Culture Weekly" ' \
           'href="feed.xml">' in index  # fmt: skip
    assert "November 20, 2026" in index and "January 12, 2026" in index
    assert ">2025</h2>" in index and ">2026</h2>" in index  # grouped by year


def test_every_link_between_pages_is_relative_and_leads_to_a_file(built):
    for path in built.rglob("*.html"):
        for href in re.findall(r'href="([^"]+)"', path.read_text()):
            if re.match(r"[a-z]+:", href) or href.startswith("#"):
                continue
            assert not href.startswith("/"), (path, href)
            assert (path.parent / href).resolve().is_file(), (path, href)


def test_the_index_is_in_the_projects_language(sent, cli):
    path = sent / "newsletter.toml"
    path.write_text(path.read_text().replace('language = "en"', 'language = "de"'))
    assert cli("archive", "build").exit_code == 0
    index = (sent / "archive" / "index.html").read_text()
    assert '<html lang="de"' in index and "Alle Ausgaben" in index
    assert "20. November 2026" in index and "Abonnieren" in index


# --- the feed and the sitemap ---


def test_the_feed_reads_back_with_feedparser(built):
    import feedparser

    feed = feedparser.parse((built / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Pop Culture Weekly"
    assert [e.title for e in feed.entries] == [
        "Third, friend",
        "The second issue, friend",
        "Hello, friend",
    ]
    assert [e.link for e in feed.entries] == [f"{URL}/issues/{n}/" for n in SENT]
    assert [e.id for e in feed.entries] == [f"{URL}/issues/{n}/" for n in SENT]
    assert feed.entries[2].summary == "Where it all started."
    assert feed.entries[0].published_parsed[:3] == (2026, 11, 20)
    assert any(link.rel == "self" and link.href == f"{URL}/feed.xml" for link in feed.feed.links)


def test_the_sitemap_lists_the_index_and_every_page(built):
    root = ET.fromstring((built / "sitemap.xml").read_bytes())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [loc.text for loc in root.findall("s:url/s:loc", ns)]
    assert locations == [f"{URL}/", *(f"{URL}/issues/{n}/" for n in SENT)]


def test_without_an_archive_url_the_pages_are_built_and_the_feed_is_not(project_dir, cli):
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    result = cli("archive", "build", "--output", "site")
    assert result.exit_code == 0, result.output
    assert "need [archive] url" in result.stderr and len(result.stderr.splitlines()) == 1
    site = project_dir / "site"
    assert (site / "issues" / "welcome" / "index.html").is_file()
    assert not (site / "feed.xml").exists() and not (site / "sitemap.xml").exists()
    index = (site / "index.html").read_text()
    assert "canonical" not in index and "application/atom+xml" not in index
    assert "View in browser" not in (site / "issues" / "welcome" / "index.html").read_text()


# --- what is not in it ---


def test_welcome_issues_and_issues_nobody_was_sent_are_not_in_it(project_dir, cli):
    with_archive_url(project_dir)
    assert cli("send", "articles/welcome.md", "--id", "welcome-sample-3", "--list", "sample",
               "--yes").exit_code == 0  # fmt: skip
    with Project.open(project_dir) as project:  # frozen, never sent
        issue = project.read_issue([project_dir / "articles" / "000_1718b35f7cc77fd8.txt"])
        rendered = project.render(issue)
        reader = type("Reader", (), {"email": "a@example.com", "name": "", "fields": {}})()
        project.state.ledger.freeze(rendered, "sample", "outbox", [], "x", [reader],
                                    datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    result = cli("archive", "build", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["issues"] == 0
    assert not (project_dir / "archive" / "issues").exists()
    assert "No issues yet." in (project_dir / "archive" / "index.html").read_text()
    # and the welcome issue's email did not link to a page that will never be
    eml = next((project_dir / "outbox" / "welcome-sample-3").glob("*.eml")).read_text()
    assert "View in browser" not in eml


# --- the emails link to their page ---


def message_of(folder: Path) -> email.message.EmailMessage:
    raw = next(folder.glob("*.eml")).read_bytes()
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_every_archived_email_says_view_in_browser_at_its_page(sent):
    message = message_of(sent / "outbox" / "second")
    page = f"{URL}/issues/second/"
    body = message.get_body(("html",)).get_content()
    assert f'href="{page}"' in body and "View in browser" in body
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"View in browser:\n{page}\n" in text
    private = message_of(sent / "outbox" / "private")
    assert "View in browser" not in private.get_body(("html",)).get_content()


def test_web_url_wins_over_the_archive(project_dir, cli):
    with_archive_url(project_dir)
    path = project_dir / "newsletter.toml"
    old, new = "# web_url = ", 'web_url = "https://example.com/i/{issue}"  # '
    path.write_text(path.read_text().replace(old, new))
    assert cli("send", "articles/welcome.md", "--list", "sample", "--yes").exit_code == 0
    body = message_of(project_dir / "outbox" / "welcome").get_body(("html",)).get_content()
    assert 'href="https://example.com/i/welcome"' in body and f"{URL}/issues" not in body


def test_check_finds_nothing_new_in_an_email_with_the_archive_link(project_dir, cli):
    before = cli("check", "articles/welcome.md", "--json")
    with_archive_url(project_dir)
    after = cli("check", "articles/welcome.md", "--json")
    assert after.exit_code == 0, after.output
    found = json.loads(after.stdout)
    assert {k: v for k, v in found.items() if k != "html_bytes"} == {
        k: v for k, v in json.loads(before.stdout).items() if k != "html_bytes"
    }


def test_archive_false_must_be_true_or_false(project_dir, cli):
    write(project_dir / "articles" / "x.md", "---\ntitle: X\narchive: nope\n---\nBody.\n")
    result = cli("preview", "articles/x.md", "--output", "preview")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: articles/x.md: front matter `archive` must be true or false, got 'nope'"
    )


# --- frozen before the archive ---


def test_content_frozen_before_issue_17_reads_as_archived():
    assert load_rendered(_old_json()).archived is True


def _old_json() -> str:
    data = {"id": "old", "subject": {"literals": ["Old"], "keys": [], "prefix": "%%nlx"},
            "html": {"literals": ["<p>x</p>"], "keys": [], "prefix": "%%nlx"},
            "text": {"literals": ["x"], "keys": [], "prefix": "%%nlx"},
            "preheader": "", "language": "en", "fields": {}}  # fmt: skip
    return json.dumps(data)


def test_the_archive_flag_is_frozen_with_the_content(project):
    issue = project.read_issue([project.root / "articles" / "welcome.md"])
    rendered = replace(project.render(issue), archived=False)
    assert load_rendered(dump_rendered(rendered)).archived is False


def test_an_issue_frozen_before_the_markers_loses_its_readers_part_too(project):
    """Its footer as the template wrote it before issue 17: no comments to find."""
    issue = project.read_issue([project.root / "articles" / "welcome.md"])
    rendered = project.render(issue)
    unmarked = Template(tuple(re.sub(r"<!--/?archive:\w+-->", "", lit)
                              for lit in rendered.html.literals),
                        rendered.html.keys, rendered.html.prefix)  # fmt: skip
    rendered = replace(rendered, html=unmarked)
    site = PageSite("Pop Culture Weekly", False, "sans-serif",
                    lambda lang: words(lang, (), PACKAGE_TEMPLATES))  # fmt: skip
    now = datetime(2026, 11, 1, tzinfo=UTC)
    page = issue_page(ArchivedIssue("welcome", rendered, "sample", now), site, "",
                      "https://example.com/join")  # fmt: skip
    assert "Unsubscribe" not in page and "Manage preferences" not in page
    assert "is subscribed to" not in page
    assert '<a class="footer-link" href="https://example.com/join"' in page
    assert "Subscribe to Pop Culture Weekly</a>" in page
    assert 'class="archive-nav"' in page and page.index('class="archive-nav"') < page.index(
        'class="container"'
    )


# --- rebuilds and the folder it owns ---


def test_a_rebuild_writes_nothing_when_nothing_changed(built, cli):
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*") if p.is_file()}
    result = cli("archive", "build", "--json")
    assert json.loads(result.stdout) | {"folder": ""} == {
        "folder": "",
        "issues": 3,
        "written": 0,
        "unchanged": 6,
        "removed": 0,
        "feed": True,
    }
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*") if p.is_file()} == before


def test_a_rebuild_removes_what_it_wrote_before_and_nothing_else(built, cli):
    marker = built / ".newsletter-archive"
    data = json.loads(marker.read_text())
    data["files"].append("issues/gone/index.html")
    marker.write_text(json.dumps(data))
    write(built / "issues" / "gone" / "index.html", "an issue no longer in the archive")
    write(built / "CNAME", "news.example.com\n")  # the editor's own file
    result = cli("archive", "build")
    assert result.exit_code == 0, result.output
    assert "1 removed" in result.stdout
    assert not (built / "issues" / "gone").exists()
    assert (built / "CNAME").read_text() == "news.example.com\n"
    assert "issues/gone/index.html" not in marker.read_text()


@pytest.mark.parametrize("where", ["/", "foreign", "."])
def test_a_folder_it_does_not_own_is_refused_in_one_line(sent, cli, where):
    write(sent / "foreign" / "notes.txt", "mine")
    result = cli("archive", "build", "--output", where)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert (sent / "foreign" / "notes.txt").read_text() == "mine"
    assert not (sent / "foreign" / "index.html").exists()


def test_a_refused_archive_dir_names_the_setting(sent, cli):
    path = sent / "newsletter.toml"
    path.write_text(path.read_text() + 'dir = "subscribers"\n')  # [archive] is the last table
    result = cli("archive", "build")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: newsletter.toml: [archive] dir: subscribers is not "
        "empty and was not written by `newsletter archive build`"
    )
    assert sorted(p.name for p in (sent / "subscribers").iterdir()) == ["sample.csv"]


def test_an_empty_folder_is_taken(sent, cli):
    (sent / "empty").mkdir()
    assert cli("archive", "build", "-o", "empty").exit_code == 0
    assert (sent / "empty" / "index.html").is_file()


def test_the_state_holds_the_issues_on_either_engine(sent):
    with open_state(sent) as state:
        assert {r.id for r in state.issues.all()} == set(ARTICLES)


# --- in a browser, as the email is checked ---

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
def test_the_pages_pass_the_emails_browser_checks_at_375_and_1024(built, tmp_path):
    from conftest import require_tool
    from test_email_quality import MIN_CONTRAST, node

    require_tool(CHROMIUM.exists(), f"Chromium ({CHROMIUM}; Debian's `chromium` package)")
    pages = tmp_path / "pages"
    shutil.copytree(built, pages)
    files = [pages / "index.html", *(pages / "issues" / n / f"{n}.html" for n in SENT)]
    for name, file in zip(SENT, files[1:], strict=True):
        (pages / "issues" / name / "index.html").rename(file)
    found = node("inspect.mjs", "--out", str(tmp_path), "--widths", "375,1024",
                 *map(str, files), tool="playwright-core")  # fmt: skip
    assert sorted(found) == sorted(["index", *SENT])
    for name, views in found.items():
        assert {(v["width"], v["scheme"]) for v in views} == {
            (w, s) for w in (375, 1024) for s in ("light", "dark")
        }
        for view in views:
            where = f"{name} at {view['width']} px, {view['scheme']}"
            assert view["scrollWidth"] <= view["viewportWidth"], where
            if view["width"] == 1024:
                assert view["contentWidth"] <= 600, where
                assert view["containerWidth"] is not None and view["containerWidth"] <= 600
            hard = [t for t in view["texts"] if t["contrast"] < MIN_CONTRAST]
            assert hard == [], f"{where}: contrast under {MIN_CONTRAST}: {hard}"
            for image in view["images"]:
                assert (image["alt"] or "").strip(), where
            for block in view["blocks"]:  # the articles' tables and code stay in the column
                inside = block["left"] >= block["columnLeft"] - 1
                assert inside and block["right"] <= block["columnRight"] + 1, (where, block)
            # the card's background (the one most text is on): dark in dark mode only
            backgrounds = Counter(t["background"] for t in view["texts"])
            card = backgrounds.most_common(1)[0][0]
            assert (int(card[1:3], 16) < 0x40) == (view["scheme"] == "dark"), (where, card)


def test_check_online_does_not_count_the_page_the_archive_publishes_after_the_send(
    project_dir, cli
):
    """Every other link answers; the issue's page is not there yet (404), and is left out."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Site(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404 if self.path.startswith("/archive/") else 200)
            self.end_headers()

        do_GET = do_HEAD

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = f"http://127.0.0.1:{server.server_address[1]}"
        path = project_dir / "newsletter.toml"
        text = path.read_text().replace('site_url = "https://example.com"', f'site_url = "{local}"')
        text = text.replace("http://127.0.0.1:8025/unsubscribe", f"{local}/unsubscribe")
        path.write_text(text)
        with_archive_url(project_dir, f"{local}/archive")
        write(project_dir / "articles" / "plain.md", "---\ntitle: Plain\n---\nNo links.\n")
        result = cli("check", "articles/plain.md", "--online", "--json")
        assert result.exit_code == 0, result.output
        found = json.loads(result.stdout)
        assert "link-broken" not in json.dumps(found), found
        assert cli("preview", "articles/plain.md", "--output", "preview").exit_code == 0
        html = (project_dir / "preview" / "plain.html").read_text()
        assert f'href="{local}/archive/issues/plain/"' in html  # the page is linked
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_pages_are_valid_html_by_the_emails_rules(built, tmp_path):
    import subprocess

    from conftest import REPO, require_tool
    from test_email_quality import BIN, BROWSER

    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((BIN / "html-validate").exists(), "npm package html-validate (`npm ci`)")
    files = [str(built / "index.html"), *(str(built / "issues" / n / "index.html") for n in SENT)]
    out = tmp_path / "html-validate.json"
    done = subprocess.run(
        [str(BIN / "html-validate"), "--config", str(BROWSER / "htmlvalidate.cjs"),
         "-f", f"json={out}", *files],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.exists() and out.read_text().strip(), done.stderr
    problems = [f"{r['filePath']}:{m['line']}:{m['column']} {m['ruleId']}: {m['message']}"
                for r in json.loads(out.read_text()) for m in r["messages"]]  # fmt: skip
    assert problems == [], "\n".join(problems)
