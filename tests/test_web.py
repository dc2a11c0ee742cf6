"""The unsubscribe endpoint (`newsletter serve`, newsletter.web), over real HTTP on
127.0.0.1: the whole loop from an email's List-Unsubscribe header to a skipped send."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import SAMPLE_ARTICLE, SECRET, open_state

from newsletter.signing import link_reader
from newsletter.web import make_app
from newsletter.web.production import Endpoint

pytestmark = pytest.mark.usefixtures("engine")  # both engines: SQLite, PostgreSQL


@pytest.fixture
def endpoint(project_dir):
    with Endpoint(make_app(project_dir)).start() as server:
        yield f"http://127.0.0.1:{server.port}"


def call(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    method = "POST" if body is not None else "GET"
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def suppressed(project_dir) -> dict[str, tuple[str, str]]:
    with open_state(project_dir) as state:
        return {s.email: (s.reason, s.source) for s in state.suppressions.all()}


def link_for(project_dir, endpoint, email: str) -> str:
    """The List-Unsubscribe link of `email`'s .eml, pointed at the test endpoint."""
    for eml in (project_dir / "outbox").rglob("*.eml"):
        head = eml.read_text().split("\n\n", 1)[0]
        found = re.search(r"^List-Unsubscribe: <([^>]+)>", head, re.M)
        if found and (link_reader(SECRET.encode(), found.group(1)) or ("", ""))[1] == email:
            parts = urllib.parse.urlsplit(found.group(1))
            return f"{endpoint}{parts.path}?{parts.query}"
    raise AssertionError(f"no email to {email}")


ONE_CLICK = b"List-Unsubscribe=One-Click"


def test_one_click_unsubscribe_then_the_next_send_skips_the_address(project_dir, cli, endpoint):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, endpoint, "zoe@example.org")

    status, page = call(link)  # a mail scanner fetching the link: nothing happens
    assert status == 200 and "Stop sending Pop Culture Weekly to zoe@example.org?" in page
    assert '<form method="post"' in page and suppressed(project_dir) == {}

    status, page = call(link, ONE_CLICK)
    assert status == 200 and "zoe@example.org will not get Pop Culture Weekly again." in page
    assert suppressed(project_dir) == {"zoe@example.org": ("unsubscribed", "one-click")}
    assert call(link, ONE_CLICK)[0] == 200  # again: harmless
    assert suppressed(project_dir) == {"zoe@example.org": ("unsubscribed", "one-click")}

    second = cli("send", "articles/welcome.md", "--list", "sample", "--yes")
    assert second.exit_code == 0, second.output
    sent = sorted(p.name for p in (project_dir / "outbox" / "welcome").glob("*.eml"))
    assert "zoe@example.org.eml" not in sent and len(sent) == 3
    status = cli("status", "welcome", "--recipients", "--json").stdout
    assert '"state": "skipped"' in status and "unsubscribed (one-click)" in status


def press(endpoint: str, page: str, which: str = "") -> tuple[str, bytes]:
    """What a browser posts for the page's button: the form's action (the one whose
    action holds `which`) and its fields."""
    for form in re.findall(r"<form.*?</form>", page):
        action = re.search(r'action="([^"]+)"', form).group(1).replace("&amp;", "&")
        if which in action:
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
            return endpoint + action, urllib.parse.urlencode(fields).encode()
    raise AssertionError(f"no form with {which!r} in {page}")


SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


def test_the_confirmation_button_and_the_way_back(project_dir, cli, endpoint):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, endpoint, "ada@example.com")
    status, page = call(*press(endpoint, call(link)[1]), SAME_ORIGIN)
    assert status == 200 and suppressed(project_dir) == {
        "ada@example.com": ("unsubscribed", "link")
    }
    status, page = call(*press(endpoint, page, "a=resubscribe"), SAME_ORIGIN)
    assert status == 200 and "ada@example.com will get Pop Culture Weekly again." in page
    assert suppressed(project_dir) == {}


def test_another_sites_page_can_press_neither_button(project_dir, cli, endpoint):
    """A page elsewhere with the reader's link (from a forwarded email) posts through
    the reader's browser: without the page's token, or marked cross-site by the
    browser, nothing changes (403); the RFC 8058 one-click POST is still taken."""
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, endpoint, "ada@example.com")
    forged = [(b"confirm=1", {}), (b"confirm=1&token=" + b"0" * 32, {}),
              (press(endpoint, call(link)[1])[1], CROSS_SITE)]  # fmt: skip
    for body, headers in forged:
        status, page = call(link, body, headers)
        assert status == 403 and "This button has expired" in page and "Nothing was changed" in page
        assert suppressed(project_dir) == {}
    status, page = call(*press(endpoint, call(link)[1]))  # the reader presses it
    assert status == 200 and suppressed(project_dir) == {
        "ada@example.com": ("unsubscribed", "link")
    }
    _, back = press(endpoint, page, "a=resubscribe")
    undo = link + "&a=resubscribe"
    for body, headers in [(b"", {}), (press(endpoint, call(link)[1])[1], {}), (back, CROSS_SITE)]:
        assert call(undo, body, headers)[0] == 403
    # someone with the link posts the button again: unsubscribed, and no way back for them
    status, page = call(*press(endpoint, call(link)[1]))
    assert status == 200 and "a=resubscribe" not in page
    assert suppressed(project_dir) == {"ada@example.com": ("unsubscribed", "link")}
    assert call(undo, back)[0] == 200 and suppressed(project_dir) == {}  # the reader's own
    status, _ = call(link, ONE_CLICK, CROSS_SITE)  # RFC 8058: from anywhere
    assert status == 200 and suppressed(project_dir) == {
        "ada@example.com": ("unsubscribed", "one-click")
    }
    assert call(undo, back)[0] == 403  # the old page's way back lifts only its own


def test_a_bounce_is_not_undone_by_the_link(project_dir, cli, endpoint, project):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    project.state.suppressions.add("ada@example.com", "bounced", "sendgrid", project.clock.now())
    link = link_for(project_dir, endpoint, "ada@example.com")
    status, page = call(link + "&a=resubscribe", b"")
    assert status == 200 and "stays unsubscribed" in page
    assert suppressed(project_dir) == {"ada@example.com": ("bounced", "sendgrid")}


def flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.mark.parametrize(
    "change",
    [
        lambda q: flip(q, q.index("t=") + 7),  # one character of the token changed
        lambda q: q.replace("l=sample", "l=other"),  # the token of another list
        lambda q: q[:-3],  # truncated token
        lambda q: re.sub(r"t=[^&]+", "t=" + "A" * 43, q),  # forged token
        lambda q: re.sub(r"&t=[^&]+", "", q),  # no token
        lambda q: q + "&t=extra",  # two tokens
    ],
)
def test_forged_altered_or_truncated_links_record_nothing(project_dir, cli, endpoint, change):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = change(link_for(project_dir, endpoint, "zoe@example.org"))
    for body in (None, ONE_CLICK, b"confirm=1"):
        status, page = call(link, body)
        assert status == 400 and "This unsubscribe link is incomplete or has been changed" in page
    assert suppressed(project_dir) == {}


def signed_link(endpoint: str, email: str) -> str:
    """An earlier issue's link: the address and its signature in the URL."""
    from newsletter.signing import Links

    return Links(f"{endpoint}/unsubscribe", SECRET.encode(), "sample").signed_url(email)


@pytest.mark.parametrize(
    "change",
    [
        lambda q: q.replace("e=zoe@example.org", "e=zoe@example.org.evil"),
        lambda q: q.replace("e=zoe@example.org", "e=ada@example.com"),
        lambda q: q.replace("l=sample", "l=other"),  # the signature of another list
        lambda q: q[:-3],  # truncated signature
        lambda q: re.sub(r"s=[^&]+", "s=" + "A" * 43, q),  # forged signature
        lambda q: re.sub(r"&s=[^&]+", "", q),  # no signature
        lambda q: q + "&s=extra",  # two signatures
    ],
)
def test_earlier_issues_signed_links_forged_or_altered_record_nothing(endpoint, change):
    link = change(signed_link(endpoint, "zoe@example.org"))
    for body in (None, ONE_CLICK, b"confirm=1"):
        status, page = call(link, body)
        assert status == 400 and "This unsubscribe link is incomplete or has been changed" in page


def test_an_earlier_issues_signed_link_still_unsubscribes(project_dir, endpoint):
    status, page = call(signed_link(endpoint, "zoe@example.org"), ONE_CLICK)
    assert status == 200 and "zoe@example.org will not get" in page
    assert suppressed(project_dir) == {"zoe@example.org": ("unsubscribed", "one-click")}


def test_pages_are_in_the_newsletters_language_and_lock_down_the_browser(
    project_dir, cli, endpoint
):
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace('language = "en"', 'language = "de"'))
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, endpoint, "zoe@example.org")
    with urllib.request.urlopen(link, timeout=10) as answer:
        headers, page = answer.headers, answer.read().decode()
    assert '<html lang="de"' in page and "Abmelden" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert "http" not in page.split("<form")[0].replace("http-equiv", "")  # no external assets


def test_other_methods_are_refused(endpoint):
    request = urllib.request.Request(endpoint + "/unsubscribe", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405


def test_the_module_level_application_reads_the_project_from_the_environment(
    project_dir, cli, monkeypatch
):
    from wsgiref.util import setup_testing_defaults

    from newsletter.web import application

    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, "", "tom@example.net")
    monkeypatch.setenv("NEWSLETTER_PROJECT", str(project_dir))
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    environ = {"PATH_INFO": "/unsubscribe", "QUERY_STRING": link.split("?", 1)[1]}
    setup_testing_defaults(environ)
    seen = []
    body = b"".join(application(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"] and b"tom@example.net" in body


@contextlib.contextmanager
def serving(project_dir, stop: signal.Signals):
    """`newsletter serve --port 0` in a process of its own: yields (base URL, the
    process); stopped with `stop`; its stderr is kept as `process.err`."""
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "--port", "0"], cwd=project_dir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("Unsubscribe endpoint at http://127.0.0.1:"), line
        yield line.split()[3].rstrip("/"), process
    finally:
        process.send_signal(stop)
        _, process.err = process.communicate(timeout=15)


@pytest.mark.slow
def test_the_serve_command_runs_the_endpoint_and_logs_no_address(project_dir, cli):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    with serving(project_dir, signal.SIGINT) as (base, process):  # Ctrl-C: a clean stop
        link = link_for(project_dir, base, "tom@example.net")
        assert call(link, ONE_CLICK)[0] == 200
        assert suppressed(project_dir) == {"tom@example.net": ("unsubscribed", "one-click")}
    assert process.returncode == 0, process.err
    assert "POST /unsubscribe 200" in process.err and "tom@example.net" not in process.err
    lines = process.err.splitlines()  # one line a request: no address, query or token
    assert all(re.fullmatch(r"(GET|POST|HEAD) /\S* \d{3} \d+ ms", line) for line in lines), lines


def test_healthz_answers_while_the_state_can_be_read(project_dir, endpoint):
    assert call(f"{endpoint}/healthz") == (200, "ok\n")
    assert call(f"{endpoint}/healthz", b"")[0] == 405
    assert call(f"{endpoint}/healthz?x=1")[0] == 200  # a monitor's cache-buster


def test_healthz_is_503_when_the_settings_are_broken_and_the_link_page_too(project_dir, endpoint):
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[newsletter]", "[newsletter"))
    status, body = call(f"{endpoint}/healthz")
    assert status == 503 and "state" in body
    assert call(f"{endpoint}/unsubscribe?l=sample&e=a%40b.c&s=x")[0] == 503  # never a 500


@pytest.mark.parametrize("command", [("serve",), ("preview", SAMPLE_ARTICLE, "--serve")])
def test_a_port_out_of_range_is_a_usage_error(project_dir, cli, command):
    result = cli(*command, "--port", "99999")
    assert result.exit_code == 2 and "--port" in result.output


@pytest.mark.slow
def test_serve_cuts_a_partial_request_at_its_default_limit_and_stops_on_sigterm(project_dir):
    with serving(project_dir, signal.SIGTERM) as (base, process):  # systemd's stop
        port = int(base.rsplit(":", 1)[1])
        partial = socket.create_connection(("127.0.0.1", port), timeout=30)
        partial.sendall(b"POST /unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\nab")
        started = time.monotonic()
        assert call(f"{base}/unsubscribe")[0] == 400  # others are answered meanwhile
        with contextlib.suppress(ConnectionResetError):
            assert partial.recv(1024) == b""  # cut, with no answer
        assert 9 < time.monotonic() - started < 15  # Limits.request_time, 10 s
    assert process.returncode == 0, process.err
    assert "Traceback" not in process.err


def test_a_path_that_is_not_the_links_is_404(project_dir, endpoint):
    for path in ("/", "/nope", "/unsubscribe/extra", "/healthz/"):
        status, body = call(f"{endpoint}{path}")
        assert status == 404 and "Nothing here" in body, path


def test_serve_refuses_a_state_other_than_the_projects(project_dir, cli):
    """A host deployed without its state would answer every link already sent with 400
    (its new key refuses them): serve does not start from it."""
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text() + '\n[state]\nid = "0123456789abcdef"\n')
    result = cli("serve", "--port", "0")
    assert result.exit_code == 1
    assert "[state] id" in result.stderr and "not the state 0123456789abcdef" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_links_answer_503_when_the_state_is_not_the_projects(project_dir, cli, endpoint):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    link = link_for(project_dir, endpoint, "tom@example.net")
    settings = project_dir / "newsletter.toml"
    settings.write_text(settings.read_text() + '\n[state]\nid = "0123456789abcdef"\n')
    assert call(link, ONE_CLICK)[0] == 503  # not 400: the link is good, the state is not
    assert call(f"{endpoint}/healthz")[0] == 503
    assert suppressed(project_dir) == {}
