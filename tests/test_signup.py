"""Signup with double opt-in (issue 16, items 1 to 3), over real HTTP on 127.0.0.1
under the production server, on both state engines: the form, the confirmation mail
read from the outbox, its link (GET changes nothing, the button confirms), the
signup in the list's sends, `subscribers pull`; and the abuse rules."""

from __future__ import annotations

import json
import quopri
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import SAMPLE_ARTICLE, open_state

from newsletter.web import make_app
from newsletter.web.production import Endpoint

pytestmark = pytest.mark.usefixtures("engine")

LIST = "sample"
ORIGIN = "https://site.example"


@pytest.fixture
def signup_project(project_dir):
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write(
            f'\n[lists.{LIST}]\nsignup = true\nfields = ["name"]\ntitle = "The Sample List"\n'
            f'[serve]\nallowed_origins = ["{ORIGIN}"]\n'
        )
    return project_dir


@pytest.fixture
def endpoint(signup_project):
    with Endpoint(make_app(signup_project)).start() as server:
        yield f"http://127.0.0.1:{server.port}"


def call(url, body=None, headers=None, method=None):
    data = urllib.parse.urlencode(body).encode() if isinstance(body, dict) else body
    method = method or ("POST" if data is not None else "GET")
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def form_token(endpoint) -> str:
    status, page, _ = call(f"{endpoint}/subscribe/{LIST}")
    assert status == 200
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def sign_up(endpoint, email, name="", **more):
    return call(f"{endpoint}/subscribe/{LIST}",
                {"token": form_token(endpoint), "email": email, "name": name, "website": "",
                 **more})  # fmt: skip


def confirmation_link(project_dir, endpoint, email) -> str:
    eml = project_dir / "outbox" / f"signup-{LIST}" / f"{email.lower()}.eml"
    text = quopri.decodestring(eml.read_bytes()).decode()
    link = re.search(r"(http://\S+/subscribe/\S+/confirm\?t=[0-9a-f.]+)", text).group(1)
    parts = urllib.parse.urlsplit(link)
    return f"{endpoint}{parts.path}?{parts.query}"


def signups(project_dir):
    with open_state(project_dir) as state:
        return {
            row[0]: row[1:] for row in state.engine.all(
                "SELECT email, state, form, client, confirmed_at, lifted FROM signups")
        }  # fmt: skip


def state_rows(project_dir):
    """Every row of every table the web may change."""
    with open_state(project_dir) as state:
        return {table: state.engine.all(f"SELECT * FROM {table} ORDER BY 1")
                for table in ("signups", "suppressions")}  # fmt: skip


def test_the_whole_double_opt_in_and_the_next_send(signup_project, endpoint, cli):
    status, page, _ = sign_up(endpoint, "Reader@Example.org", "Rea Der")
    assert status == 200 and "Check your inbox" in page and "Reader@example.org" in page
    assert signups(signup_project)["Reader@example.org"][0] == "pending"
    result = cli("cron")
    assert result.exit_code == 0, result.output
    assert "Sent 1 signup confirmation mail" in result.output
    eml = (signup_project / "outbox" / f"signup-{LIST}" / "reader@example.org.eml").read_text()
    head = eml.split("\n\n", 1)[0]
    assert "List-Unsubscribe" not in head and "Subject: Confirm your subscription to The" in head
    link = confirmation_link(signup_project, endpoint, "Reader@example.org")
    assert "Reader" not in link and "example.org" not in link.split("?", 1)[1]  # opaque
    before = state_rows(signup_project)
    for method in ("GET", "HEAD", "GET"):  # a scanner fetching the link changes nothing
        status, page, _ = call(link, method=method)
        assert status == 200
    assert state_rows(signup_project) == before
    status, page, _ = call(link)
    check = re.search(r'name="check" value="([^"]+)"', page).group(1)
    status, page, _ = call(link, {"check": check, "confirm": "1"})
    assert status == 200 and "You are subscribed" in page
    found = signups(signup_project)["Reader@example.org"]
    assert found[0] == "confirmed" and found[1] == "page" and found[3] and len(found[2]) == 32
    assert "10.0.0" not in found[2] and "127.0.0.1" not in found[2]  # the client, hashed
    status, page, _ = call(link, {"check": check, "confirm": "1"})
    assert status == 200 and "Already confirmed" in page
    listed = cli("subscribers", "list", LIST, "--json")
    rows = {row["email"]: row for row in json.loads(listed.output)}
    assert rows["Reader@example.org"]["source"] == "form"
    assert rows["Reader@example.org"]["name"] == "Rea Der"
    sent = cli("send", SAMPLE_ARTICLE, "--list", LIST, "--yes")
    assert sent.exit_code == 0, sent.output
    issue = next(p for p in (signup_project / "outbox").iterdir() if p.name != f"signup-{LIST}")
    copy = (issue / "reader@example.org.eml").read_text()
    assert "Rea Der" in quopri.decodestring(copy.encode()).decode()


def test_pull_writes_the_confirmed_signups_into_the_file_once(signup_project, endpoint, cli):
    before = (signup_project / "subscribers" / f"{LIST}.csv").read_bytes()
    sign_up(endpoint, "one@example.org", "One")
    sign_up(endpoint, "two@example.org", "Two")  # never confirmed
    cli("cron")
    link = confirmation_link(signup_project, endpoint, "one@example.org")
    check = re.search(r'name="check" value="([^"]+)"', call(link)[1]).group(1)
    assert call(link, {"check": check, "confirm": "1"})[0] == 200
    pulled = cli("subscribers", "pull", LIST)
    assert pulled.exit_code == 0 and "Wrote 1 confirmed signup" in pulled.output
    after = (signup_project / "subscribers" / f"{LIST}.csv").read_bytes()
    assert after.startswith(before) and after[len(before) :] == b"one@example.org,One,\n"
    again = cli("subscribers", "pull", LIST)
    assert "No confirmed signups" in again.output
    assert (signup_project / "subscribers" / f"{LIST}.csv").read_bytes() == after
    listed = json.loads(cli("subscribers", "list", LIST, "--json").output)
    assert [r["email"] for r in listed].count("one@example.org") == 1
    assert "two@example.org" not in [r["email"] for r in listed]


def test_a_known_and_an_unknown_address_get_the_same_answer(signup_project, endpoint):
    known = sign_up(endpoint, "tom@example.net")  # on the list's file
    unknown = sign_up(endpoint, "nobody@example.org")
    strip = lambda page: page.replace("tom@example.net", "X").replace("nobody@example.org", "X")  # noqa: E731
    assert known[0] == unknown[0] == 200
    assert strip(known[1]) == strip(unknown[1])


def test_tokens_forged_altered_expired_and_of_another_list_get_400(signup_project, endpoint, cli):
    sign_up(endpoint, "reader@example.org")
    cli("cron")
    link = confirmation_link(signup_project, endpoint, "reader@example.org")
    base, token = link.split("?t=")
    number, expires, mac = token.split(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    forged = (f"{number}.{expires}.{flipped}", f"{number}.{int(expires) + 1}.{mac}",
              f"{int(number) + 1}.{expires}.{mac}", "", "garbage", f"{number}..{mac}")  # fmt: skip
    for bad in forged:
        assert call(f"{base}?t={bad}")[0] == 400, bad
        assert call(f"{base}?t={bad}", {"check": "x", "confirm": "1"})[0] in (400, 403), bad
    other = link.replace(f"/subscribe/{LIST}/", "/subscribe/other/")
    assert call(other)[0] == 404  # no such list takes signups
    from newsletter.audience.signup import confirm_token
    from newsletter.project import Project

    with Project.open(signup_project) as project:
        signup = project.state.signups.get(LIST, "reader@example.org")
        old = confirm_token(project, signup, int(project.clock.now().timestamp()) - 60)
    status, page, _ = call(f"{base}?t={old}")
    assert status == 400 and "expired" in page
    assert signups(signup_project)["reader@example.org"][0] == "pending"


def test_the_rate_limit_cuts_one_client_off_with_429(signup_project, endpoint):
    token = form_token(endpoint)
    answers = [call(f"{endpoint}/subscribe/{LIST}",
                    {"token": token, "email": f"r{n}@example.org"})[0]
               for n in range(1000)]  # fmt: skip
    assert answers[:20] == [200] * 20 and set(answers[20:]) == {429}
    assert len(signups(signup_project)) == 20


def test_an_address_gets_a_few_confirmations_an_hour_at_most(signup_project, endpoint):
    answers = [sign_up(endpoint, "same@example.org")[0] for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]


def test_oversized_fields_get_413_and_nothing_is_recorded(signup_project, endpoint):
    assert sign_up(endpoint, "a@example.org", "x" * 201)[0] == 413
    assert sign_up(endpoint, "a" * 250 + "@example.org")[0] == 413
    status, _, _ = call(f"{endpoint}/subscribe/{LIST}", b"email=" + b"a" * 10_000,
                        {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 413
    assert signups(signup_project) == {}


def test_the_honeypot_records_nothing_and_answers_as_always(signup_project, endpoint):
    status, page, _ = sign_up(endpoint, "bot@example.org", website="http://spam.example")
    assert status == 200 and "Check your inbox" in page
    assert signups(signup_project) == {}


def test_a_post_without_the_forms_token_or_an_allowed_origin_is_403(signup_project, endpoint):
    url = f"{endpoint}/subscribe/{LIST}"
    assert call(url, {"email": "a@example.org"})[0] == 403
    assert call(url, {"email": "a@example.org"}, {"Origin": "https://evil.example"})[0] == 403
    cross = {"token": form_token(endpoint), "email": "a@example.org"}
    assert call(url, cross, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert signups(signup_project) == {}


def test_a_site_in_allowed_origins_posts_json_with_cors(signup_project, endpoint):
    url = f"{endpoint}/subscribe/{LIST}"
    status, _, headers = call(url, method="OPTIONS", headers={"Origin": ORIGIN})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == ORIGIN
    body = json.dumps({"email": "js@example.org", "name": "Jay"}).encode()
    status, text, headers = call(url, body, {"Origin": ORIGIN, "Content-Type": "application/json"})
    assert status == 200 and json.loads(text)["ok"] is True
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert signups(signup_project)["js@example.org"][1] == ORIGIN
    status, text, _ = call(url, json.dumps({"email": "not an address"}).encode(),
                           {"Origin": ORIGIN, "Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and json.loads(text)["field"] == "email"
    status, _, headers = call(url, method="OPTIONS", headers={"Origin": "https://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_a_list_without_signup_has_no_pages(project_dir):
    with Endpoint(make_app(project_dir)).start() as server:
        assert call(f"http://127.0.0.1:{server.port}/subscribe/{LIST}")[0] == 404


def test_an_unsubscribed_reader_comes_back_only_by_confirming(signup_project, endpoint, cli):
    cli("subscribers", "remove", LIST, "tom@example.net")  # manual: not theirs to lift
    with open_state(signup_project) as state:
        from datetime import UTC, datetime

        state.suppressions.add("ann@example.org", "unsubscribed", "link", datetime.now(UTC))
    sign_up(endpoint, "tom@example.net")
    sign_up(endpoint, "ann@example.org")
    assert set(signups(signup_project)) == {"ann@example.org"}  # the removal: nothing
    cli("cron")
    assert not (signup_project / "outbox" / f"signup-{LIST}" / "tom@example.net.eml").exists()
    link = confirmation_link(signup_project, endpoint, "ann@example.org")
    with open_state(signup_project) as state:
        assert state.suppressions.get("ann@example.org") is not None  # the link's GET: no lift
    check = re.search(r'name="check" value="([^"]+)"', call(link)[1]).group(1)
    assert call(link, {"check": check, "confirm": "1"})[0] == 200
    with open_state(signup_project) as state:
        assert state.suppressions.get("ann@example.org") is None
    assert signups(signup_project)["ann@example.org"][4].startswith("unsubscribed (link, ")


def test_a_bounce_after_the_signup_keeps_the_link_from_confirming(signup_project, endpoint, cli):
    sign_up(endpoint, "gone@example.org")
    cli("cron")
    link = confirmation_link(signup_project, endpoint, "gone@example.org")
    with open_state(signup_project) as state:
        from datetime import UTC, datetime

        state.suppressions.add("gone@example.org", "bounced", "sendgrid", datetime.now(UTC))
    status, page, _ = call(link)
    assert status == 200 and "cannot be subscribed" in page and "<button" not in page
    assert signups(signup_project)["gone@example.org"][0] == "pending"


def test_the_snippet_posts_to_the_endpoint(signup_project, cli):
    result = cli("serve", "--snippet", LIST)
    assert result.exit_code == 0
    assert 'action="http://127.0.0.1:8025/subscribe/sample"' in result.output
    assert 'name="website"' in result.output and 'name="name"' in result.output
    assert cli("serve", "--snippet", "nope").exit_code == 1


def confirm_by_link(project_dir, endpoint, email):
    link = confirmation_link(project_dir, endpoint, email)
    check = re.search(r'name="check" value="([^"]+)"', call(link)[1]).group(1)
    status, page, _ = call(link, {"check": check, "confirm": "1"})
    assert status == 200 and "You are subscribed" in page


def welcomes(project_dir):
    outbox = project_dir / "outbox"
    return sorted(p.name for p in outbox.iterdir() if p.name.startswith("welcome-"))


def test_the_welcome_issue_goes_once_to_each_newly_confirmed_signup(signup_project, endpoint, cli):
    settings = signup_project / "newsletter.toml"
    welcome = 'title = "The Sample List"\nwelcome = "articles/welcome.md"'
    settings.write_text(settings.read_text().replace('title = "The Sample List"', welcome))
    sign_up(endpoint, "first@example.org", "First")
    sign_up(endpoint, "second@example.org", "Second")
    assert cli("cron").exit_code == 0
    confirm_by_link(signup_project, endpoint, "first@example.org")
    result = cli("cron")
    assert result.exit_code == 0, result.output
    assert "Sent issue welcome-sample-" in result.output  # new, not "(resumed)"
    [first] = welcomes(signup_project)
    assert sorted(p.name for p in (signup_project / "outbox" / first).glob("*.eml")) == [
        "first@example.org.eml"
    ]
    assert cli("cron").exit_code == 0  # nothing twice
    assert welcomes(signup_project) == [first]
    confirm_by_link(signup_project, endpoint, "second@example.org")
    assert cli("cron").exit_code == 0
    later = [w for w in welcomes(signup_project) if w != first]
    assert [p.name for p in (signup_project / "outbox" / later[0]).glob("*.eml")] == [
        "second@example.org.eml"
    ]
    status = json.loads(cli("status", "--json").output)
    shown = {entry["issue"]: entry for entry in status}
    assert shown[first]["state"] == "done" and shown[later[0]]["state"] == "done"


def test_a_forgotten_reader_who_signs_up_again_is_subscribed_by_confirming(
    signup_project, endpoint, cli
):
    assert cli("subscribers", "forget", "zoe@example.org", "--yes").exit_code == 0
    sign_up(endpoint, "zoe@example.org", "Zoë")
    cli("cron")
    confirm_by_link(signup_project, endpoint, "zoe@example.org")
    with open_state(signup_project) as state:
        assert not state.suppressions.forgotten()  # lifted, by the reader's own consent
        (lift,) = state.suppressions.lifts()
    assert lift.lifted_by == "signup confirmed" and "confirmed a signup" in lift.lift_reason
    sent = cli("send", "articles/welcome.md", "--list", LIST, "--yes")
    assert sent.exit_code == 0, sent.output
    assert (signup_project / "outbox" / "welcome" / "zoe@example.org.eml").exists()


def test_confirming_lifts_an_unsubscribe_and_keeps_a_record_of_it(signup_project, endpoint, cli):
    with open_state(signup_project) as state:
        from datetime import UTC, datetime

        state.suppressions.add("ann@example.org", "unsubscribed", "one-click", datetime.now(UTC))
    sign_up(endpoint, "ann@example.org")
    cli("cron")
    confirm_by_link(signup_project, endpoint, "ann@example.org")
    with open_state(signup_project) as state:
        (lift,) = state.suppressions.lifts("ann@example.org")
    assert (lift.reason, lift.source, lift.lifted_by) == ("unsubscribed", "one-click",
                                                          "signup confirmed")  # fmt: skip


@pytest.mark.slow
def test_serve_mails_the_confirmation_itself_within_seconds(signup_project):
    import signal
    import time

    from test_web import serving

    with serving(signup_project, signal.SIGTERM) as (base, process):
        status, _, _ = sign_up(base, "Quick@Example.org", "Quick")
        assert status == 200
        eml = signup_project / "outbox" / f"signup-{LIST}" / "quick@example.org.eml"
        deadline = time.monotonic() + 15
        while not eml.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert eml.exists(), "no confirmation mail from serve's mailer"
        confirmation_link(signup_project, base, "Quick@example.org")  # it has its link
    assert process.returncode == 0, process.err
    assert "quick@example.org" not in process.err.lower()  # the log names nobody


def test_an_audience_of_several_lists_takes_their_signups_and_leaves_out_who_left(
    signup_project, cli
):
    """On PostgreSQL the freeze streams the audience into COPY, where the state cannot
    be read meanwhile: the lists' signups and leaves are read before (rows.kept)."""
    (signup_project / "subscribers" / "other.csv").write_text("email,name\nol@example.org,Ol\n")
    from conftest import NOW

    with open_state(signup_project) as state:
        for list_name, email in ((LIST, "web1@example.org"), ("other", "web2@example.org")):
            asked = state.signups.ask(list_name, email, {"name": "W"}, "page", "c" * 32, NOW)
            state.signups.confirm(asked.n, "d" * 32, None, NOW)
        state.leaves.add(LIST, "tom@example.net", "preferences", NOW)
        state.leaves.add("other", "ol@example.org", "preferences", NOW)
    sent = cli("send", "articles/welcome.md", "--list", LIST, "--list", "other", "--yes")
    assert sent.exit_code == 0, sent.output
    got = sorted(p.stem for p in (signup_project / "outbox" / "welcome").glob("*.eml"))
    assert got == ["ada@example.com", "nameless@example.com", "web1@example.org",
                   "web2@example.org", "zoe@example.org"]  # fmt: skip


def test_a_confirmed_reader_who_unsubscribed_can_sign_up_again_by_the_form(
    signup_project, endpoint, cli
):
    sign_up(endpoint, "back@example.org", "Back")
    cli("cron")
    confirm_by_link(signup_project, endpoint, "back@example.org")
    with open_state(signup_project) as state:
        from datetime import UTC, datetime

        state.suppressions.add("back@example.org", "unsubscribed", "one-click", datetime.now(UTC))
    eml = signup_project / "outbox" / f"signup-{LIST}" / "back@example.org.eml"
    eml.unlink()
    sign_up(endpoint, "back@example.org", "Back")
    assert "Sent 1 signup confirmation mail" in cli("cron").output
    confirm_by_link(signup_project, endpoint, "back@example.org")
    with open_state(signup_project) as state:
        assert state.suppressions.get("back@example.org") is None
        assert state.signups.get(LIST, "back@example.org").state == "confirmed"


def test_a_reader_who_left_the_list_and_signs_up_again_is_back_on_it(signup_project, endpoint, cli):
    with open_state(signup_project) as state:
        from conftest import NOW

        state.leaves.add(LIST, "ada@example.com", "preferences", NOW)
    sign_up(endpoint, "ada@example.com")
    cli("cron")
    confirm_by_link(signup_project, endpoint, "ada@example.com")
    listed = json.loads(cli("subscribers", "list", LIST, "--json").output)
    assert "ada@example.com" in [row["email"] for row in listed]


def test_each_confirmation_mail_has_a_message_id_of_its_own(signup_project, endpoint, cli):
    import email as email_module

    eml = signup_project / "outbox" / f"signup-{LIST}" / "twice@example.org.eml"
    ids = []
    for _ in range(2):
        sign_up(endpoint, "twice@example.org")
        cli("cron")
        ids.append(email_module.message_from_bytes(eml.read_bytes())["Message-ID"])
    assert ids[0] != ids[1]


def test_deeply_nested_json_and_huge_numbers_get_a_4xx_never_a_500(signup_project, endpoint):
    url = f"{endpoint}/subscribe/{LIST}"
    nested = b"[" * 3000 + b"]" * 3000
    json_post = {"Origin": ORIGIN, "Content-Type": "application/json"}
    assert call(url, nested[:8000], json_post)[0] in (400, 403)
    assert call(url, {"token": "9" * 400 + ".x", "email": "a@example.org"})[0] == 403
    assert call(url, {"token": "9" * 5000 + ".x", "email": "a@example.org"})[0] in (403, 413)
    confirm = f"{endpoint}/subscribe/{LIST}/confirm?t=1.2.3"
    assert call(confirm, nested[:8000], {"Content-Type": "application/json"})[0] == 400
    assert signups(signup_project) == {}


def test_one_ipv6_64_is_one_client_and_the_honeypot_counts(signup_project):
    from newsletter.audience.signup import ask, client_bucket, mailbox
    from newsletter.project import Project

    assert client_bucket("2001:db8:1:2::1") == client_bucket("2001:db8:1:2:ffff::9")
    assert client_bucket("2001:db8:1:2::1") != client_bucket("2001:db8:1:3::1")
    assert client_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert mailbox("Ann+News@Example.org") == mailbox("ann+other@example.org")
    with Project.open(signup_project) as project:
        limited = [ask(project, LIST, f"r{n}@example.org", {}, "page", f"2001:db8::{n:x}",
                       record=n % 2 == 0).limited for n in range(25)]  # fmt: skip
    assert limited[:20] == [None] * 20 and set(limited[20:]) == {"client"}


def test_a_token_of_one_signup_list_is_refused_on_another(signup_project, cli):
    (signup_project / "subscribers" / "second.csv").write_text("email,name\n")
    with (signup_project / "newsletter.toml").open("a") as settings:
        settings.write("\n[lists.second]\nsignup = true\n")
    with Endpoint(make_app(signup_project)).start() as server:
        endpoint = f"http://127.0.0.1:{server.port}"
        sign_up(endpoint, "x@example.org")
        cli("cron")
        link = confirmation_link(signup_project, endpoint, "x@example.org")
        other = link.replace(f"/subscribe/{LIST}/", "/subscribe/second/")
        assert call(other)[0] == 400
        assert call(other, {"check": "x", "confirm": "1"})[0] == 400
    assert signups(signup_project)["x@example.org"][0] == "pending"


def test_a_reader_who_left_before_the_welcome_is_frozen_gets_none(signup_project, endpoint, cli):
    settings = signup_project / "newsletter.toml"
    welcome = 'title = "The Sample List"\nwelcome = "articles/welcome.md"'
    settings.write_text(settings.read_text().replace('title = "The Sample List"', welcome))
    sign_up(endpoint, "gone@example.org")
    cli("cron")
    confirm_by_link(signup_project, endpoint, "gone@example.org")
    with open_state(signup_project) as state:
        from conftest import NOW

        state.leaves.add(LIST, "gone@example.org", "preferences", NOW)
    assert cli("cron").exit_code == 0
    assert welcomes(signup_project) == []  # nobody left to welcome: no issue
    with open_state(signup_project) as state:
        assert state.signups.welcome_groups(LIST) == {}  # and nothing waits
