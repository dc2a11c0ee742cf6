"""`newsletter check`: the lint rules, client support from caniemail's data, and the
check `send` and `schedule` run first."""

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import REPO, SAMPLE_ARTICLE, write

from newsletter.check import support
from newsletter.check.links import broken_links
from newsletter.check.rules import Email, run

BODY = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 40 for i in range(110))
BAD = f"""---
title: A bad one
---
![](pictures/cat.jpg)

See [our page](about/index.html).

{BODY}
"""


def rules_of(result) -> set[str]:
    return {line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("error")}


def test_the_sample_has_no_error(project_dir, cli):
    result = cli("check", SAMPLE_ARTICLE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Checked “Chrissy Teigen Says")
    assert re.search(r"as ada@example\.com: 1\d\.\d KB of HTML", result.stdout)
    assert result.stdout.splitlines()[-1].startswith("0 errors, 1 warning (")
    assert (
        "warning: link-local: link “Unsubscribe” and link “Manage preferences” lead to 127.0.0.1"
        in result.stdout
    )


def test_an_article_with_no_alt_a_relative_link_and_a_huge_body_fails(project_dir, cli):
    write(project_dir / "articles" / "bad.md", BAD)
    result = cli("check", "articles/bad.md")
    assert result.exit_code == 1
    assert rules_of(result) == {"html-size", "img-alt"}
    out = result.stdout
    assert re.search(r"error: html-size: the HTML is 1\d\d KB: Gmail clips messages over about "
                     "102 KB", out)  # fmt: skip
    assert "error: img-alt: image https://example.com/pictures/cat.jpg has no alt text" in out
    assert ("warning: link-relative: articles/bad.md: the relative URL about/index.html was "
            "made absolute as https://example.com/about/index.html") in out  # fmt: skip
    data = json.loads(cli("check", "articles/bad.md", "--json").stdout)
    assert data["errors"] == 2 and data["html_bytes"] > 120_000
    assert {f["rule"] for f in data["findings"]} >= {"html-size", "img-alt", "link-relative"}
    assert all(set(f) == {"rule", "severity", "message"} for f in data["findings"])


def test_send_and_schedule_refuse_an_email_with_errors_unless_forced(project_dir, cli):
    write(project_dir / "articles" / "bad.md", BAD)
    refused = cli("send", "articles/bad.md", "--list", "sample", "--yes")
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("error: html-size: ") and lines[1].startswith("error: img-alt: ")
    assert lines[-1].startswith(
        "error: `newsletter check` finds 2 errors in the email (html-size: "
    )
    assert lines[-1].endswith("; and 1 more): fix them, or send or queue it with --force")
    assert not (project_dir / "outbox").exists()
    dry = cli("send", "articles/bad.md", "--list", "sample", "--dry-run")
    assert dry.exit_code == 1 and dry.stdout.startswith("Dry run: nothing is sent.")
    assert "warning: link-relative" in dry.stderr  # a dry run shows the warnings too
    queued = cli("schedule", "articles/bad.md", "--list", "sample", "--now")
    assert queued.exit_code == 1 and queued.stderr.splitlines()[-1] == lines[-1]  # one wording
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"
    test_copy = cli("send", "articles/bad.md", "--list", "sample", "--test", "me@example.com")
    assert test_copy.exit_code == 0 and "error: img-alt" in test_copy.stderr  # shown, not fatal
    forced = cli("send", "articles/bad.md", "--list", "sample", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(list((project_dir / "outbox" / "bad").glob("*.eml"))) == 4


def test_a_field_the_list_lacks_and_missing_footer_parts_are_errors(project_dir, cli):
    template = (REPO / "newsletter" / "templates" / "email.html").read_text()
    template = template.replace('<p class="footer-p">{{ newsletter.postal_address }}</p>', "")
    template = template.replace('href="{{ unsubscribe_url }}">', 'href="#">')
    template = template.replace('{{ t("greeting"', '{{ subscriber.town }}: {{ t("greeting"')
    write(project_dir / "templates" / "email.html", template)
    result = cli("check", SAMPLE_ARTICLE, "--list", "sample")
    assert result.exit_code == 1
    assert rules_of(result) == {"field", "unsubscribe-link", "postal-address"}
    assert "the templates use the subscriber field 'town', which no subscriber has" in result.stdout
    assert "no visible unsubscribe link in the HTML part" in result.stdout
    assert "the HTML part does not show the postal address" in result.stdout


def email(**changes) -> Email:
    base = dict(subject="Hello", html="", text="https://u.example/x 1 Main St",
                preheader="A preview", unsubscribe_url="https://u.example/x",
                postal_address="1 Main St", fields=frozenset(), columns=None,
                headers={"list-unsubscribe": "<https://u.example/x>",
                         "list-unsubscribe-post": "List-Unsubscribe=One-Click"})  # fmt: skip
    return Email(**{**base, **changes})


FOOTER = '<p><a href="https://u.example/x">Unsubscribe</a> 1 Main St</p>'


def findings(html: str, **changes) -> dict[str, str]:
    return {f.rule + ":" + f.severity: f.message for f in run(email(html=html + FOOTER, **changes))}


def test_a_clean_email_has_no_finding():
    assert findings("<p>Hi</p>") == {}


@pytest.mark.parametrize(
    ("html", "changes", "expected"),
    [
        ('<img src="https://x/a.png" width="600">', {}, "img-alt:error"),
        ('<img src="https://x/a.png" alt="A cat">', {}, "img-width:error"),
        ('<a href="">x</a>', {}, "link-empty:error"),
        ('<a href="/about">about</a>', {}, "link-relative:error"),
        ('<a href="http://x.example/">x</a>', {}, "link-http:warning"),
        ('<a href="javascript:alert(1)">x</a>', {}, "link-script:error"),
        ('<a href="http://localhost:8025/u">x</a>', {}, "link-local:warning"),
        ("<p>x</p>", {"subject": " "}, "subject:error"),
        ("<p>x</p>", {"subject": "S" * 79}, "subject:warning"),
        ("<p>x</p>", {"preheader": ""}, "preheader:warning"),
        ("<p>x</p>", {"preheader": "p" * 101}, "preheader:warning"),
        ("<p>x</p>", {"headers": {}}, "list-unsubscribe:error"),
        ("<p>x</p>", {"text": "1 Main St"}, "unsubscribe-link:error"),
        ("<p>x</p>", {"text": "https://u.example/x"}, "postal-address:error"),
        ("<p>x</p>", {"html": "x" * (103 * 1024) + FOOTER}, "html-size:error"),
        ("<p>x</p>", {"html": "x" * (81 * 1024) + FOOTER}, "html-size:warning"),
        ("<p>x</p>", {"fields": frozenset({"city"}), "columns": frozenset({"email"})},
         "field:error"),
    ],
)  # fmt: skip
def test_each_rule(html, changes, expected):
    changes = {"html": html + FOOTER, **changes}
    found = {f.rule + ":" + f.severity for f in run(email(**changes))}
    assert expected in found


def test_a_decorative_image_may_have_empty_alt():
    html = '<img src="https://x/a.png" alt="" role="presentation" width="10">'
    assert findings(html) == {}


def test_layout_features_a_client_lacks_are_errors_naming_the_clients():
    found = findings(
        '<style>.row { display: flex; position: absolute }</style><p class="row">x</p>'
    )
    message = found["css-support:error"]
    assert "(css-display-flex) is not supported by " in message or "(css-position)" in message
    assert "Outlook (Windows)" in message and "see https://www.caniemail.com/features/" in message


def test_progressive_hidden_and_reset_styles_are_not_errors():
    html = (
        "<style>@media (max-width: 600px) { .x { display: flex } }</style>"
        '<div style="display:none;max-height:0;opacity:0">preheader</div>'
        '<img src="https://x/a.png" alt="a" width="1" style="height:auto;outline:none">'
    )
    found = findings(html)
    assert not [k for k in found if k.endswith(":error")], found
    assert "css-support:note" in found  # @media is reported, as a note


def test_the_client_data_is_shipped_with_its_licence():
    assert len(support.features()) > 250
    assert (
        (REPO / "newsletter" / "check" / "caniemail-LICENSE")
        .read_text()
        .startswith("The data in caniemail.json is caniemail.com's")
    )
    assert support.data_date() >= "2026-01-01"


class _Links(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        code = {"/ok": 200, "/gone": 404, "/nohead": 405, "/moved": 301}[self.path]
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/ok")
        self.end_headers()

    def do_GET(self):
        self.send_response(200 if self.path in ("/ok", "/nohead") else 404)
        self.end_headers()


def test_online_link_check_against_a_local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Links)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        urls = [f"{base}/ok", f"{base}/gone", f"{base}/nohead", f"{base}/moved",
                "http://127.0.0.1:9/refused"]  # fmt: skip
        found = broken_links(urls, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert [f.message.split()[0] for f in found] == [f"{base}/gone", "http://127.0.0.1:9/refused"]
    assert "answered 404" in found[0].message and "did not answer" in found[1].message


def test_cron_checks_a_due_issue_again_and_keeps_it_queued_on_an_error(
    project_dir, cli, moving_clock
):
    article = write(project_dir / "articles" / "later.md", "---\ntitle: Later\n---\nFine.\n")
    assert cli("schedule", "articles/later.md", "--list", "sample", "--now").exit_code == 0
    article.write_text("---\ntitle: Later\n---\n![](https://example.com/a.png)\n")  # no alt now
    due = cli("cron")
    assert due.exit_code == 1 and due.stdout == ""
    assert due.stderr.startswith(
        "error: issue later: `newsletter check` finds 1 error in the email"
    )
    assert "img-alt" in due.stderr and not (project_dir / "outbox").exists()
    assert "last try failed" in cli("schedule", "--list-queued").stdout
    article.write_text("---\ntitle: Later\n---\n![A chart](https://example.com/a.png)\n")
    moving_clock.at += timedelta(seconds=61)  # past the back-off after the failure
    fixed = cli("cron")
    assert fixed.exit_code == 0 and fixed.stdout.startswith("Sent issue later")


def test_an_issue_queued_with_force_is_sent_despite_errors(project_dir, cli):
    write(project_dir / "articles" / "bad.md", BAD)
    queued = cli("schedule", "articles/bad.md", "--list", "sample", "--now", "--force")
    assert queued.exit_code == 0 and "error: img-alt" in queued.stderr
    sent = cli("cron")
    assert sent.exit_code == 0 and sent.stdout.startswith("Sent issue bad")


def set_unsubscribe_url(project_dir, url: str, kind: str = "outbox") -> None:
    settings = project_dir / "newsletter.toml"
    text = settings.read_text().replace(
        'url = "http://127.0.0.1:8025/unsubscribe"', f'url = "{url}"'
    )
    settings.write_text(text.replace('kind = "outbox"', f'kind = "{kind}"'))


@pytest.mark.parametrize(
    ("url", "kind", "severity"),
    [
        ("http://news.example.com/unsubscribe", "sendgrid", "error"),
        ("http://news.example.com/unsubscribe", "smtp", "error"),
        ("http://news.example.com/unsubscribe", "outbox", "warning"),
        ("https://news.example.com/unsubscribe", "sendgrid", None),
        ("http://localhost:8025/unsubscribe", "sendgrid", None),
        ("http://[::1]:8025/unsubscribe", "sendgrid", None),
    ],
)
def test_one_click_needs_https_for_a_real_send(project_dir, cli, url, kind, severity):
    set_unsubscribe_url(project_dir, url, kind)
    result = cli("check", SAMPLE_ARTICLE, "--json")
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "unsubscribe-https"]
    assert [f["severity"] for f in found] == ([severity] if severity else [])
    assert result.exit_code == (1 if severity == "error" else 0)


def test_a_real_send_with_an_http_unsubscribe_link_is_refused(project_dir, cli, on_fake):
    set_unsubscribe_url(project_dir, "http://news.example.com/unsubscribe")
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "sendgrid")
    assert result.exit_code == 1 and "unsubscribe-https" in result.output
    assert on_fake.accepted_emails() == []
    outbox = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")  # trying it: a warning
    assert outbox.exit_code == 0, outbox.output


def test_a_grouped_rule_is_named_by_its_first_selector_not_a_list_of_commas():
    from newsletter.check.support import unsupported

    html = ("<html><head><style>a[x-one], u + #body a, #MessageViewBody a { color: inherit; }"
            "</style></head><body><p>x</p></body></html>")  # fmt: skip
    found = {u.slug: u.places for u in unsupported(html)}
    places = found["css-selector-attribute"]
    assert places == ("<style> a[x-one] (+2 selectors)",), places
