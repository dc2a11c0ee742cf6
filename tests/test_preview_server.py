"""`preview --serve`: the live preview page's server, over real HTTP on 127.0.0.1."""

import json
import urllib.error
import urllib.request

import pytest
from conftest import SAMPLE_ARTICLE, write

from newsletter.preview.live import LivePreview, make_app
from newsletter.web.server import Server


@pytest.fixture
def served(project_dir):
    live = LivePreview(project_dir, [project_dir / SAMPLE_ARTICLE], "sample")
    with live.watching(), Server(make_app(live), on_stop=live.close).start() as server:
        yield live, f"http://127.0.0.1:{server.port}"


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def meta(base: str) -> dict:
    return json.loads(get(f"{base}/meta.json")[2])


def test_the_page_the_email_its_text_and_headers(served):
    _, base = served
    status, kind, page = get(base + "/")
    assert status == 200 and kind.startswith("text/html")
    assert 'data-view="phone"' in page and "EventSource" in page
    assert "http" not in page.replace("http-equiv", "")  # no external assets
    data = meta(base)
    assert data["version"] == 1 and data["error"] is None
    assert data["subject"].startswith("Chrissy Teigen") and data["to"].endswith("<ada@example.com>")
    assert data["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    html = get(base + "/email.html")[2]
    assert "Hi Ada Lovelace," in html and "prefers-color-scheme: dark" in html
    dark = get(base + "/email.html?dark=1")[2]
    assert "prefers-color-scheme" not in dark and "@media all" in dark
    assert "Hi Ada Lovelace," in get(base + "/email.txt")[2]
    assert get(base + "/nope")[0] == 404


def test_only_get_is_answered(served):
    _, base = served
    request = urllib.request.Request(base + "/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405


def test_an_edit_is_pushed_to_open_pages(served, project_dir):
    live, base = served
    with urllib.request.urlopen(base + "/events", timeout=10) as stream:
        assert stream.readline() == b"retry: 500\n"
        assert stream.readline() == b"data: 1\n"
        stream.readline()
        article = project_dir / SAMPLE_ARTICLE
        article.write_text(article.read_text().replace("Chrissy Teigen Says", "Edited:"))
        # the watcher notices within a fraction of a second; the stream blocks until then
        assert stream.readline() == b"data: 2\n"
    assert meta(base)["subject"].startswith("Edited:")
    assert live.refresh() is False  # nothing changed since
    assert live.current.version == 2


def test_a_render_error_shows_on_the_page_and_the_server_keeps_running(served, project_dir):
    live, base = served
    templates = project_dir / "templates"
    write(templates / "email.html", "<p>{{ broken( }}</p>")
    live.refresh()  # or the watcher did, a moment ago
    assert live.wait(1, 5).version == 2
    data = meta(base)
    assert data["version"] == 2
    assert data["error"].startswith("templates/email.html:1:")
    assert "The issue does not render" in get(base + "/email.html")[2]
    (templates / "email.html").unlink()
    live.refresh()
    assert live.wait(2, 5).version == 3
    assert meta(base)["error"] is None


def test_preview_serve_refuses_a_port_in_use(project_dir, cli, served):
    _, base = served
    port = base.rsplit(":", 1)[1]
    result = cli("preview", SAMPLE_ARTICLE, "--serve", "--port", port)
    assert result.exit_code == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr


def get_as(base: str, path: str, host: str) -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection(base.split("//")[1], timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/", "/meta.json", "/email.html", "/email.txt", "/events"])
def test_a_page_asking_by_another_name_gets_nothing(served, path):
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 must not read the
    subscriber's address, name or signed link; only this machine's names answer."""
    _, base = served
    status, body = get_as(base, path, "evil.example")
    assert status == 403 and "ada@example.com" not in body and "Ada" not in body
    port = base.rsplit(":", 1)[1]
    assert get_as(base, path, f"evil.example:{port}")[0] == 403
    assert get_as(base, path, "localhost:1")[0] == 403  # another port: another server's name


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_this_machines_names_with_the_port_are_answered(served, name):
    _, base = served
    port = base.rsplit(":", 1)[1]
    status, body = get_as(base, "/meta.json", f"{name}:{port}")
    assert status == 200 and "ada@example.com" in body


FINDINGS = """---
title: An Issue With Findings
---
An image without alt text: ![](https://example.com/grey.png)

A [relative link](/issues/42) and [one over http](http://example.com/<b>x</b>).
"""


def lint_of(project_dir, article):
    """What `newsletter check` finds in the article, as the page lists it."""
    from newsletter.check import check_issue
    from newsletter.project import Project

    with Project.open(project_dir) as project:
        report = check_issue(project, [article], "sample")
    return report, [f.data() for f in report.findings if f.severity != "note"]


@pytest.fixture
def checked(project_dir):
    from newsletter.check import command_check

    article = project_dir / "articles" / "findings.md"
    article.write_text(FINDINGS)
    live = LivePreview(project_dir, [article], "sample", lint=command_check)
    with live.watching(), Server(make_app(live), on_stop=live.close).start() as server:
        yield live, f"http://127.0.0.1:{server.port}", article


def test_the_page_gets_what_check_finds_in_the_same_render(checked, project_dir):
    _, base, article = checked
    report, shown = lint_of(project_dir, article)
    check = meta(base)["check"]
    assert check["errors"] == len(report.errors) >= 1
    assert check["warnings"] == len(report.warnings) >= 2
    assert check["findings"] == shown  # errors first, as `newsletter check` prints them
    assert {"img-alt", "link-relative", "link-http"} <= {f["rule"] for f in shown}
    notes = len(report.findings) - len(report.errors) - len(report.warnings)
    assert check["notes"] == notes > 0
    print(f"\ncheck took {check['ms']} ms on this save")


def test_the_findings_follow_every_save(checked, project_dir):
    live, base, article = checked
    version = meta(base)["version"]
    article.write_text(FINDINGS.replace("![](", "![A grey square]("))
    live.refresh()  # or the watcher did, a moment ago
    assert live.wait(version, 5).version == version + 1
    after = meta(base)["check"]
    assert "img-alt" not in {f["rule"] for f in after["findings"]}
    assert after["findings"] == lint_of(project_dir, article)[1]


def test_a_render_error_is_not_hidden_by_the_findings(checked, project_dir):
    live, base, article = checked
    article.write_text("---\ntitle: [unclosed\n---\nBody\n")
    live.refresh()
    assert live.wait(1, 5).version == 2
    data = meta(base)
    assert data["error"] and "findings.md" in data["error"]
    assert data["check"] is None  # nothing checked: no stale findings beside the error
    assert "The issue does not render" in get(base + "/email.html")[2]
    article.write_text(FINDINGS)
    live.refresh()
    assert live.wait(2, 5).version == 3
    data = meta(base)
    assert data["error"] is None and data["check"]["errors"] >= 1


def test_a_check_that_stops_says_why_and_the_email_still_shows(project_dir):
    from newsletter.errors import NewsletterError

    def stops(project, sample):
        raise NewsletterError("subscribers/sample.csv: cannot be read")

    live = LivePreview(project_dir, [project_dir / SAMPLE_ARTICLE], "sample", lint=stops)
    assert live.current.error is None and "Hi Ada Lovelace," in live.current.html
    assert live.current.check == {"error": "subscribers/sample.csv: cannot be read"}


def test_preview_serve_shows_what_check_finds(project_dir):
    """The command itself wires `newsletter check`'s own function into the page."""
    import signal
    import subprocess
    import sys

    (project_dir / "articles" / "findings.md").write_text(FINDINGS)
    command = [sys.executable, "-m", "newsletter", "preview", "articles/findings.md",
               "--serve", "--port", "0"]  # fmt: skip
    server = subprocess.Popen(command, cwd=project_dir, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line.startswith("Preview at http://127.0.0.1:"), line + server.stderr.read()
        base = line.split()[2].rstrip("/")
        check = meta(base)["check"]
        assert check["findings"] == lint_of(project_dir, project_dir / "articles/findings.md")[1]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
