"""The default template proves itself: the sample email, the kitchen sink and a
three-article digest, as a subscriber gets them (`newsletter preview`), judged by
`newsletter check`, by html-validate, by caniemail.com's data (doiuse-email) and in
real headless Chromium, plus their size and their text part.

The npm tools come from package.json (`npm ci`), Chromium is Debian's
/usr/bin/chromium (scripts/test.sh installs both). A test that needs them skips
locally when they are missing, and fails instead when CI or
NEWSLETTER_REQUIRE_TOOLS is set (scripts/test.sh sets the latter).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_ARTICLE, SECRET, require_tool
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.render.linebreak import display_width

pytestmark = pytest.mark.slow  # a real browser and the npm tools

BROWSER = REPO / "tests" / "browser"
BIN = REPO / "node_modules" / ".bin"
CHROMIUM = Path(os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium"))
CLIENTS = "gmail.*,outlook.windows,apple-mail.*,yahoo.*"
MAX_HTML_BYTES = 40_000
DIGEST = sorted((REPO / "tests" / "data" / "digest").glob("*.md"))  # 01_, 02_, 03_
# The email as a deployed project sends it: an unsubscribe link subscribers can
# follow (the sample project's 127.0.0.1 one is a `check` warning, rightly).
LOCAL_UNSUBSCRIBE = "http://127.0.0.1:8025/unsubscribe"
PUBLIC_UNSUBSCRIBE = "https://news.example.com/unsubscribe"
MAX_TEXT_COLUMNS = 78
MIN_CONTRAST = 4.5

# An article with what the sample lacks: a hero image, an inline image, a link and a
# URL too long for a phone's line.
PICTURES = """\
---
title: A picture article
image: https://example.com/hero.jpg
image_alt: A hero picture
image_credit: A. Photographer
url: https://example.com/pictures
---
An article with a hero image, an inline one and a URL longer than a phone's line:
https://example.com/a/long/path/that/has/no/place/to/break/at/all/0123456789abcdef

![A chart of readers per week](https://example.com/chart.png)

A [link to the docs](https://example.com/docs) in the text.
"""


def node(script: str, *args: str, tool: str) -> dict:
    """Run tests/browser/SCRIPT with node; its stdout is JSON."""
    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((REPO / "node_modules" / tool).is_dir(), f"npm package {tool} (`npm ci`)")
    done = subprocess.run(
        ["node", str(BROWSER / script), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


def show(request: pytest.FixtureRequest, line: str) -> None:
    """A line on the terminal even when pytest captures output."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


# name -> the articles of the issue and the options of `preview` and `check`
RUNS = {
    "sample": [SAMPLE_ARTICLE],
    "sample-tom": [SAMPLE_ARTICLE, "--as", "tom@example.net"],
    "pictures": ["articles/pictures.md"],
    "kitchen": ["articles/kitchen_sink.md"],  # every Markdown construct (issue 14)
    "digest": [f"articles/digest/{path.name}" for path in DIGEST],  # three articles
}


@pytest.fixture(scope="module")
def quality_project(tmp_path_factory) -> Path:
    """A copy of the sample project with the test articles, its unsubscribe link
    public (PUBLIC_UNSUBSCRIBE)."""
    project = tmp_path_factory.mktemp("quality") / "project"
    project.mkdir()
    settings = (REPO / "newsletter.toml").read_text(encoding="utf-8")
    public = settings.replace(f'url = "{LOCAL_UNSUBSCRIBE}"', f'url = "{PUBLIC_UNSUBSCRIBE}"')
    assert public != settings, f"newsletter.toml no longer has {LOCAL_UNSUBSCRIBE}"
    # with a logo and a web copy, so the masthead's image and "View in browser" are judged
    public = public.replace("[newsletter]\n", "[newsletter]\n"
                            'logo = "https://news.example.com/logo.png"\n'
                            'logo_dark = "https://news.example.com/logo-dark.png"\n'
                            'web_url = "https://news.example.com/issues/{issue}"\n', 1)  # fmt: skip
    (project / "newsletter.toml").write_text(public, encoding="utf-8")
    for folder in ("articles", "subscribers"):
        shutil.copytree(REPO / folder, project / folder)
    (project / "articles" / "pictures.md").write_text(PICTURES, encoding="utf-8")
    shutil.copy(REPO / "tests" / "data" / "kitchen_sink.md", project / "articles")
    (project / "articles" / "digest").mkdir()
    for path in DIGEST:
        shutil.copy(path, project / "articles" / "digest")
    return project


@pytest.fixture(scope="module")
def emails(quality_project) -> dict[str, Path]:
    """name -> the HTML file a subscriber gets (its text part beside it, .txt).

    `sample`: the sample article for the list's first subscriber; `sample-tom`: the
    same for the subscriber whose name holds markup and `&`; `pictures`: PICTURES;
    `kitchen`: tests/data/kitchen_sink.md (tables, tasks, footnotes, code, RTL, CJK);
    `digest`: the three articles of tests/data/digest/ as one issue."""
    root = quality_project.parent
    assert len(DIGEST) == 3, DIGEST
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSLETTER_SECRET", SECRET)
        patch.chdir(quality_project)
        for name, args in RUNS.items():
            out = root / name
            result = CliRunner().invoke(app, ["preview", *args, "--output", str(out)])
            assert result.exit_code == 0, result.output
            (html,) = out.glob("*.html")
            found[name] = html.rename(out / f"{name}.html")
            html.with_suffix(".txt").rename(out / f"{name}.txt")
    return found


# --- newsletter check ------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample", "kitchen", "digest"])
def test_the_email_passes_check_with_no_error_and_no_warning(quality_project, name):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSLETTER_SECRET", SECRET)
        patch.chdir(quality_project)
        result = CliRunner().invoke(app, ["check", *RUNS[name], "--json"])
    report = json.loads(result.stdout)
    found = [f"{f['severity']}: {f['rule']}: {f['message']}" for f in report["findings"]]
    assert [f for f in found if not f.startswith("note:")] == []
    assert result.exit_code == 0, result.output
    assert report["errors"] == report["warnings"] == 0


# --- html-validate ---------------------------------------------------------------

# Not an email: what the configuration must still refuse (a deprecated attribute
# outside the allowed idioms, a deprecated element, an image without alt text).
NOT_AN_EMAIL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tbody><tr><td valign="top"><center>x</center><img src="https://e.com/a.png"></td></tr>
</tbody></table></body></html>
"""


def test_the_email_is_valid_html_allowing_only_the_email_idioms(emails, tmp_path):
    control = tmp_path / "not-an-email.html"
    control.write_text(NOT_AN_EMAIL)
    require_tool(shutil.which("node") is not None, "Node.js")
    require_tool((BIN / "html-validate").exists(), "npm package html-validate (`npm ci`)")
    config = BROWSER / "htmlvalidate.cjs"
    files = [*map(str, emails.values()), str(control)]
    out = tmp_path / "html-validate.json"  # a file: node may cut a long stdout short
    done = subprocess.run(
        [str(BIN / "html-validate"), "--config", str(config), "-f", f"json={out}", *files],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.exists() and out.read_text().strip(), done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    report = {Path(r["filePath"]).name: r["messages"] for r in results}
    problems = [
        f"{name}:{m['line']}:{m['column']} {m['ruleId']}: {m['message']}"
        for name, messages in report.items()
        if name != control.name
        for m in messages
    ]
    assert problems == [], "\n".join(problems)
    refused = {m["ruleId"] for m in report[control.name]}
    assert {"no-deprecated-attr", "deprecated", "wcag/h37"} <= refused, refused


# --- doiuse-email (caniemail.com) ------------------------------------------------

GMAIL = {"gmail.desktop-webmail", "gmail.ios", "gmail.android", "gmail.mobile-webmail"}
GMAIL_APPS = {"gmail.ios", "gmail.android"}
YAHOO = {"yahoo.desktop-webmail", "yahoo.ios", "yahoo.android"}
APPLE = {"apple-mail.macos", "apple-mail.ios"}
OUTLOOK = {"outlook.windows"}
PREHEADER = "only the hidden preheader uses it, and it is hidden there by other means"

# Features a client does NOT support, per client, and why the email still holds.
# Anything else unsupported fails the test: decide, then add it here with a reason.
RESETS = (
    "a client reset (Apple Mail's detected links, Gmail's u + #body, Samsung's "
    "#MessageViewBody, Outlook.com's dark mode): not needed where not supported"
)
UNSUPPORTED: dict[str, tuple[set[str], str]] = {
    "@media": (
        {"gmail.mobile-webmail", "outlook.windows"},
        "progressive enhancement: without it the layout is the fluid 100%/600 px table "
        "(Outlook: the MSO ghost table) in light colours, which meet 4.5:1",
    ),
    "<body> element": (
        {"yahoo.ios", "yahoo.android"},
        "nothing rides on <body>: the wrapper table carries the background (bgcolor)",
    ),
    "display:none": ({"gmail.mobile-webmail"}, PREHEADER + " (max-height:0, overflow)"),
    "opacity": ({"gmail.mobile-webmail", *OUTLOOK, *YAHOO}, PREHEADER),
    "overflow": ({*OUTLOOK, "yahoo.android"}, PREHEADER + " (display:none, mso-hide)"),
    "border-radius": (OUTLOOK, "cosmetic: square corners on the card"),
    "outline": (OUTLOOK, "`outline:none` on images is a reset; Outlook draws none anyway"),
    "overflow-wrap": (
        GMAIL - {"gmail.mobile-webmail"} | OUTLOOK | APPLE | YAHOO,
        "a guard for words longer than a line (URLs); word-wrap:break-word, its older "
        "name, and word-break:break-word do the job where it is missing",
    ),
    "word-break": (YAHOO, "the same long-word guard; Yahoo gets word-wrap:break-word"),
    "table-layout": (
        OUTLOOK,
        "fixes the card's width so a wide table scrolls inside its own box; Outlook's "
        "column is the 600 px ghost table anyway",
    ),
    # the client resets (the <style data-premailer="ignore"> block): each is for the
    # client that needs it, and everything they refine is inlined
    "Attribute selector": ({"gmail.mobile-webmail", "outlook.windows"}, RESETS),
    "Adjacent sibling combinator": ({"gmail.mobile-webmail", "outlook.windows"}, RESETS),
    "Descendant combinator": ({"gmail.mobile-webmail"}, RESETS),
    "ID selector": ({"gmail.mobile-webmail"}, RESETS),
    "Class selector": ({"gmail.mobile-webmail"}, RESETS),
    "Type selector": ({"gmail.mobile-webmail"}, RESETS),
    "aria-label attribute": (
        {"yahoo.android", "yahoo.desktop-webmail", "yahoo.ios"},
        "the article wrapper's name for screen readers; the subject stays the <title>",
    ),
}

# Features a client supports only partly; the caniemail note and why it is harmless.
PARTIAL: dict[str, str] = {
    "@media": "no height queries (we use width), no prefers-color-scheme in Yahoo "
    "(light colours are the default), none in Gmail apps with non-Gmail accounts",
    "<body> element": "replaced by a <div>; the wrapper table carries the background",
    "dir attribute": "buggy on <a> in Outlook; dir is set on <html> and the article only",
    "lang attribute": "not on <td> in Yahoo; lang is set on <html> and the article only",
    "margin": "no negative or auto margins in Outlook; centring there is the ghost table's",
    "padding": "Outlook pads table cells only; the layout's padding is all on cells",
    "display": "we use only block, inline-block and none, which are supported",
    "display:none": "Outlook: not inherited by nested tables; the preheader has mso-hide",
    "line-height": "Outlook needs mso-line-height-rule:exactly, which the CSS sets",
    "max-width": "not on tables in iOS Mail and Yahoo iOS (the .shell div holds 600 px), "
    "only on tables in Outlook (the ghost table holds it)",
    "overflow": "Apple Mail cannot scroll hidden overflow; only the preheader hides any",
    "role attribute": "Yahoo honours it on tables only: the article wrapper's role is a "
    "hint for screen readers, the layout tables' presentation role holds",
    "width attribute": "Outlook's bugs are with percentage widths on images; ours are px",
    "border": "Outlook: partial for some border styles; we use solid borders and border:0",
    "border-radius": "Yahoo lacks the elliptical `/` form, which we do not use",
    "font-weight": "numeric weights are rounded; we use bold",
    "letter-spacing": "em values render a little tighter in Outlook: the masthead only",
    "text-transform": "Outlook lacks lowercase; we use uppercase",
    "text-decoration": "one value (underline/none) per rule, as Outlook needs",
    "overflow-wrap": "the long-word guard (see UNSUPPORTED)",
    "word-break": "the long-word guard: where buggy, long words break anywhere",
    "table-layout": "no data for Gmail's mobile webmail; Outlook on macOS forces fixed, "
    "which is what we set",
    "text-indent": "no negative values in Gmail and Yahoo: a code line's hanging indent "
    "is lost there, and each line starts 4 characters in (its indentation kept)",
    "text-align": "no flow-relative start/end; table cells use left, right and center",
    "!important keyword": "only in the <style> block (@media, the resets), to win over "
    "the inlined styles; where ignored, the inlined (light, desktop) styles hold",
    "Adjacent sibling combinator": RESETS,
    "Attribute selector": RESETS,
    "Class selector": RESETS,
    "Descendant combinator": RESETS,
    "ID selector": RESETS,
    "Type selector": RESETS,
}

FINDING = re.compile(r"^`(.+)` is (not|only partially) supported by `(.+)`$")


@pytest.fixture(scope="module")
def caniemail(emails) -> dict[str, dict[str, set[str]]]:
    """{"not"|"only partially": {feature: clients}} over the sample, PICTURES, the
    kitchen sink and the digest."""
    files = [str(emails[name]) for name in ("sample", "pictures", "kitchen", "digest")]
    results = node("doiuse.mjs", CLIENTS, *files, tool="doiuse-email")
    found: dict[str, dict[str, set[str]]] = {"not": {}, "only partially": {}}
    for result in results.values():
        for message in result["errors"] + result["warnings"]:
            match = FINDING.match(message)
            assert match, f"unexpected doiuse-email message: {message}"
            feature, level, client = match.groups()
            found[level].setdefault(feature, set()).add(client)
    return found


def test_no_client_lacks_a_feature_that_the_layout_needs(caniemail):
    new = {
        feature: sorted(clients - UNSUPPORTED.get(feature, (set(), ""))[0])
        for feature, clients in caniemail["not"].items()
    }
    new = {feature: clients for feature, clients in new.items() if clients}
    assert new == {}, f"unsupported and not yet judged (see UNSUPPORTED): {new}"
    stale = sorted(set(UNSUPPORTED) - set(caniemail["not"]))
    assert stale == [], f"no longer found, remove from UNSUPPORTED: {stale}"


def test_partly_supported_features_are_all_known_to_be_harmless(caniemail):
    new = sorted(set(caniemail["only partially"]) - set(PARTIAL))
    assert new == [], f"partly supported and not yet judged (see PARTIAL): {new}"
    stale = sorted(set(PARTIAL) - set(caniemail["only partially"]))
    assert stale == [], f"no longer found, remove from PARTIAL: {stale}"


# --- headless Chromium -------------------------------------------------------------


@pytest.fixture(scope="module")
def views(emails, tmp_path_factory, request) -> dict[str, list[dict]]:
    """{email: [one view per width and colour scheme]}, measured by inspect.mjs at
    375, 600 and 1024 px, light and dark, in one browser run: the sample, the
    pictures, the kitchen sink and the digest, and the sample, the kitchen sink and
    the digest as a client that drops the <style> block shows them (only the inlined
    styles: no phone widths, no dark mode), which must hold too."""
    require_tool(CHROMIUM.exists(), f"Chromium ({CHROMIUM}; Debian's `chromium` package)")
    shots = tmp_path_factory.mktemp("screenshots")
    files = [str(emails[name]) for name in ("sample", "pictures", "kitchen", "digest")]
    for name in ("sample", "kitchen", "digest"):
        bare = emails[name].with_name(f"{name}-nostyle.html")
        html = emails[name].read_text(encoding="utf-8")
        bare.write_text(re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S), encoding="utf-8")
        files.append(str(bare))
    found = node("inspect.mjs", "--out", str(shots), *files, tool="playwright-core")
    for email in found.values():
        for view in email:
            if view.get("screenshot"):
                show(request, f"screenshot: {view['screenshot']}")
    return found


STYLED = ("sample", "pictures", "kitchen", "digest")
BARE = ("sample-nostyle", "kitchen-nostyle", "digest-nostyle")
VIEWS = {(width, scheme) for width in (375, 600, 1024) for scheme in ("light", "dark")}


def test_every_email_is_seen_at_each_width_in_light_and_dark(views):
    assert sorted(views) == sorted(STYLED + BARE)
    for name, email in views.items():
        assert {(view["width"], view["scheme"]) for view in email} == VIEWS, name


def each_view(views, width=None):
    for name, email in views.items():
        for view in email:
            if width is None or view["width"] == width:
                yield f"{name} at {view['width']} px, {view['scheme']}", view


def test_a_375px_phone_never_scrolls_sideways(views):
    for where, view in each_view(views):
        assert view["scrollWidth"] <= view["viewportWidth"], where
    assert [where for where, _ in each_view(views, 375)]


def test_content_is_at_most_600px_wide_on_a_wide_screen(views):
    for where, view in each_view(views, 1024):
        assert view["contentWidth"] <= 600, where
        assert view["containerWidth"] is not None and view["containerWidth"] <= 600, where


def test_tables_and_code_blocks_stay_inside_the_text_column(views):
    """A wide table or code line may scroll inside its own box (or wrap, or stack),
    never stick out of the column, let alone the page."""
    for where, view in each_view(views):
        for block in view["blocks"]:
            inside = block["left"] >= block["columnLeft"] - 1
            inside = inside and block["right"] <= block["columnRight"] + 1
            assert inside, f"{where}: {block}"
    for name, tables, code in (("kitchen", 2, 1), ("digest", 1, 1)):  # not vacuous
        for view in views[name]:
            kinds = [block["kind"] for block in view["blocks"]]
            assert kinds.count("table") >= tables and kinds.count("code") >= code, name


def test_every_image_has_alt_text(views):
    for where, view in each_view(views):
        for image in view["images"]:
            assert (image["alt"] or "").strip(), f"{where}: {image['src']}"
    # not vacuous: the hero and the inline one, and the masthead's logo (light and dark)
    assert all(len(view["images"]) == 4 for view in views["pictures"])
    assert all(any(i["alt"] == "Pop Culture Weekly" for i in view["images"])
               for view in views["pictures"])  # fmt: skip


def test_the_dark_mode_logo_shows_in_dark_mode_and_only_there(views):
    for where, view in each_view({"pictures": views["pictures"]}):
        shown = {i["src"].rsplit("/", 1)[-1]: i["width"] > 0 for i in view["images"]}
        dark = view["scheme"] == "dark"
        assert shown["logo-dark.png"] is dark and shown["logo.png"] is not dark, (where, shown)


def test_text_is_readable_in_light_and_dark_mode(views):
    for where, view in each_view(views):
        hard = [t for t in view["texts"] if t["contrast"] < MIN_CONTRAST]
        assert hard == [], f"{where}: contrast under {MIN_CONTRAST}: {hard}"
        paragraphs = [t for t in view["texts"] if t["class"] == "p"]
        assert paragraphs, where
        dark_background = all(int(t["background"][1:3], 16) < 0x40 for t in paragraphs)
        styled = "nostyle" not in where  # without <style>, no dark mode: light, still readable
        wanted = view["scheme"] == "dark" and styled
        assert dark_background == wanted, f"{where}: dark mode {'not ' if wanted else ''}applied"


# --- size and the text part --------------------------------------------------------


@pytest.mark.parametrize("name", ["sample", "kitchen", "digest"])
def test_the_email_html_stays_under_40_kb(emails, name):
    size = len(emails[name].read_bytes())
    assert size < MAX_HTML_BYTES, f"{size} bytes"


LONE_URL = re.compile(r"\s*https?://\S+")


@pytest.mark.parametrize("name", ["sample", "pictures", "kitchen", "digest"])
def test_text_part_lines_fit_78_columns_but_a_url_alone_on_its_line(emails, name):
    text = emails[name].with_suffix(".txt").read_text(encoding="utf-8")
    long = [
        line
        for line in text.splitlines()
        if display_width(line) > MAX_TEXT_COLUMNS and not LONE_URL.fullmatch(line)
    ]
    assert long == []


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and re.match(r"https?://", href):
            self.hrefs.append(href)


@pytest.mark.parametrize("name", ["sample", "pictures", "kitchen", "digest"])
def test_text_part_lists_every_link_of_the_html_part(emails, name):
    parser = _Hrefs()
    parser.feed(emails[name].read_text(encoding="utf-8"))
    text = emails[name].with_suffix(".txt").read_text(encoding="utf-8")
    assert parser.hrefs
    missing = [href for href in parser.hrefs if href not in text]
    assert missing == []


def test_a_long_link_stands_alone_under_its_number_in_the_links_list():
    from newsletter.render.text import LinkList

    links = LinkList()
    short, long = "https://example.com/docs", "https://example.com/" + "x" * 80
    links.number(short)
    links.number(long)
    assert "\n".join(links.lines()).splitlines() == [f"[1] {short}", "[2]", f"    {long}"]
