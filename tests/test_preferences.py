"""The preferences page (issue 16, item 5), over real HTTP under the production
server, on both state engines: every email's footer links to it with the reader's
opaque token; its GET (and HEAD) changes nothing; its buttons leave or join one list,
or all of them; and a send follows what the reader chose."""

from __future__ import annotations

import email
import quopri
import re
import urllib.parse
from email import policy

import pytest
from conftest import SAMPLE_ARTICLE, open_state, write
from test_signup import call, state_rows

from newsletter.web import make_app
from newsletter.web.production import Endpoint

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture
def endpoint(project_dir):
    write(project_dir / "subscribers" / "extra.csv", "email,name\nother@example.org,Other\n")
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write('\n[lists.sample]\ntitle = "The Weekly"\n\n[lists.extra]\nsignup = true\n'
                       'title = "Extra news"\n')  # fmt: skip
    with Endpoint(make_app(project_dir)).start() as server:
        yield f"http://127.0.0.1:{server.port}"


def links_of(project_dir, endpoint, issue, address):
    """The unsubscribe and preferences links of `address`'s copy, at the endpoint."""
    raw = (project_dir / "outbox" / issue / f"{address}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    found = {}
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&")
        parts = urllib.parse.urlsplit(href)
        if parts.hostname == "127.0.0.1":
            found[parts.path] = f"{endpoint}{parts.path}?{parts.query}"
    return found


def sent_to(project_dir, issue):
    return sorted(p.stem for p in (project_dir / "outbox" / issue).glob("*.eml"))


def press(link, page, action, list_name=None):
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    body = {"token": token, "a": action} | ({"list": list_name} if list_name else {})
    return call(link, body)


def test_every_email_links_to_the_readers_page_and_fetching_it_changes_nothing(
    project_dir, endpoint, cli
):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    links = links_of(project_dir, endpoint, issue, "zoe@example.org")
    assert set(links) == {"/unsubscribe", "/preferences"}
    assert all("zoe" not in link for link in links.values())
    before = state_rows(project_dir)
    for link in links.values():  # a mail scanner fetches every link
        for method in ("GET", "HEAD"):
            assert call(link, method=method)[0] == 200
    assert state_rows(project_dir) == before
    page = call(links["/preferences"])[1]
    assert "Your subscriptions" in page and "zoe@example.org" in page
    assert "The Weekly" in page and "Extra news" in page  # on one, may join the other
    text = quopri.decodestring(
        (project_dir / "outbox" / issue / "zoe@example.org.eml").read_bytes()
    ).decode()
    assert "Manage preferences:" in text


def confirm_join(project_dir, endpoint, list_name, email):
    """The confirmation mail a join sent (cron sends it here), its button pressed."""
    eml = project_dir / "outbox" / f"signup-{list_name}" / f"{email}.eml"
    assert eml.exists(), "no confirmation mail for the join"
    text = quopri.decodestring(eml.read_bytes()).decode()
    found = re.search(r"http://\S+(/subscribe/[^/\s]+/confirm\?t=[0-9a-f.]+)", text)
    link = f"{endpoint}{found.group(1)}"
    page = call(link)[1]
    check = re.search(r'name="check" value="([^"]+)"', page).group(1)
    status, page, _ = call(link, {"check": check, "confirm": "1"})
    assert status == 200 and "You are subscribed" in page, page


def test_leaving_one_list_then_coming_back_by_a_confirmation(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    page = call(link)[1]
    status, page, _ = press(link, page, "leave", "sample")
    assert status == 200 and "you left The Weekly" in page
    with open_state(project_dir) as state:
        assert state.leaves.keys("sample") == {"zoe@example.org"}
        assert state.suppressions.get("zoe@example.org") is None  # not all of them
    cli("send", "articles/welcome.md", "--list", "sample", "--yes")
    assert "zoe@example.org" not in sent_to(project_dir, "welcome")
    status, page, _ = press(link, page, "join", "sample")
    assert status == 200 and "press the button in the email" in page
    with open_state(project_dir) as state:  # whoever has the link is not the inbox:
        assert state.leaves.keys("sample") == {"zoe@example.org"}  # nothing yet
    assert cli("cron").exit_code == 0
    confirm_join(project_dir, endpoint, "sample", "zoe@example.org")
    with open_state(project_dir) as state:
        assert state.leaves.keys("sample") == set()
    cli("send", "articles/welcome.md", "--list", "sample", "--id", "welcome-2", "--yes")
    assert "zoe@example.org" in sent_to(project_dir, "welcome-2")


def test_joining_another_list_is_a_signup_confirmed_from_the_inbox(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    status, page, _ = press(link, call(link)[1], "join", "extra")
    assert status == 200 and "to join Extra news" in page
    assert cli("cron").exit_code == 0
    confirm_join(project_dir, endpoint, "extra", "zoe@example.org")
    cli("send", "articles/welcome.md", "--list", "extra", "--yes")
    assert sent_to(project_dir, "welcome") == ["other@example.org", "zoe@example.org"]
    with open_state(project_dir) as state:
        (signup,) = state.signups.of_address("zoe@example.org")
    assert (signup.list_name, signup.state, signup.form) == ("extra", "confirmed", "preferences")


def test_leaving_everything_is_an_unsubscribe_taken_back_only_from_the_inbox(
    project_dir, endpoint, cli
):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    status, page, _ = press(link, call(link)[1], "all")
    assert status == 200 and "unsubscribed from everything" in page and "Subscribe again" in page
    with open_state(project_dir) as state:
        found = state.suppressions.get("zoe@example.org")
    assert (found.reason, found.source) == ("unsubscribed", "preferences")
    status, page, _ = press(link, page, "back")
    assert status == 200 and "to get The Weekly again" in page
    with open_state(project_dir) as state:  # a forwarded email's holder cannot undo it
        assert state.suppressions.get("zoe@example.org") is not None
    assert cli("cron").exit_code == 0
    confirm_join(project_dir, endpoint, "sample", "zoe@example.org")
    with open_state(project_dir) as state:
        assert state.suppressions.get("zoe@example.org") is None
        (lift,) = state.suppressions.lifts("zoe@example.org")
    assert lift.lifted_by == "signup confirmed"


def test_a_one_click_unsubscribe_is_not_undone_by_the_page_alone(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    links = links_of(project_dir, endpoint, issue, "zoe@example.org")
    assert call(links["/unsubscribe"], b"List-Unsubscribe=One-Click")[0] == 200
    press(links["/preferences"], call(links["/preferences"])[1], "back")
    with open_state(project_dir) as state:
        assert state.suppressions.get("zoe@example.org").source == "one-click"


def test_a_forgotten_reader_has_no_buttons_and_nothing_is_recorded(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    page = call(link)[1]
    assert cli("subscribers", "forget", "zoe@example.org", "--yes").exit_code == 0
    status, gone, _ = call(link)
    assert status == 200 and "asked Pop Culture Weekly to forget it" in gone
    assert "<button" not in gone
    for action in ("all", "back"):
        press(link, page, action)
    press(link, page, "join", "extra")
    with open_state(project_dir) as state:
        rows = [str(row) for table in ("suppressions", "signups", "list_leaves")
                for row in state.engine.all(f"SELECT * FROM {table}")]  # fmt: skip
    assert not [row for row in rows if "zoe@example.org" in row.lower()]


def test_a_bounced_reader_cannot_lift_it_here(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    page = call(link)[1]
    with open_state(project_dir) as state:
        from datetime import UTC, datetime

        state.suppressions.add("zoe@example.org", "bounced", "sendgrid", datetime.now(UTC))
    status, page2, _ = call(link)
    assert status == 200 and "<button" not in page2
    press(link, page, "back")
    with open_state(project_dir) as state:
        assert state.suppressions.get("zoe@example.org").reason == "bounced"


def test_buttons_need_their_token_and_the_link_must_be_ours(project_dir, endpoint, cli):
    cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    link = links_of(project_dir, endpoint, issue, "zoe@example.org")["/preferences"]
    before = state_rows(project_dir)
    assert call(link, {"a": "all"})[0] == 403
    page = call(link)[1]
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert call(link, {"token": token, "a": "all"}, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert call(link.replace("l=sample", "l=extra"))[0] == 400  # the token of another list
    assert call(link[:-4])[0] == 400
    assert call(f"{endpoint}/preferences")[0] == 400
    assert call(link, {"token": token, "a": "leave", "list": "nope"})[0] == 400
    assert state_rows(project_dir) == before


def test_a_mailto_goes_into_list_unsubscribe(project_dir, cli):
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write('\n[unsubscribe]\nmailto = "leave@example.com"\n')
    text = (project_dir / "newsletter.toml").read_text()
    if text.count("[unsubscribe]") > 1:  # the sample has the section: put the key in it
        text = text.replace('\n[unsubscribe]\nmailto = "leave@example.com"\n', "")
        text = text.replace("[unsubscribe]\n", '[unsubscribe]\nmailto = "leave@example.com"\n', 1)
        (project_dir / "newsletter.toml").write_text(text)
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    issue = SAMPLE_ARTICLE.split("/")[-1].removesuffix(".txt")
    raw = (project_dir / "outbox" / issue / "zoe@example.org.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert re.fullmatch(r"<http://127\.0\.0\.1:8025/unsubscribe\?l=sample&t=[\w-]+>, "
                        r"<mailto:leave@example\.com\?subject=unsubscribe>",
                        str(message["List-Unsubscribe"])), message["List-Unsubscribe"]  # fmt: skip


def test_a_mailto_address_is_percent_encoded_where_a_uri_needs_it():
    from newsletter.message import Envelope

    envelope = Envelope(None, "sample", mailto="leave&x=y@example.com")  # type: ignore[arg-type]
    assert envelope.list_unsubscribe("https://e.com/u") == (
        "<https://e.com/u>, <mailto:leave%26x%3Dy@example.com?subject=unsubscribe>"
    )


def test_a_leave_during_a_send_of_that_list_skips_the_reader_at_their_batch(project, project_dir):
    """The freeze took the list as it was; a leave recorded before the reader's batch
    is claimed still wins, as a suppression does (both engines)."""
    from conftest import NOW, compose

    from newsletter.audience.lists import Subscriber

    _, rendered = compose(project, [project.root / SAMPLE_ARTICLE])
    people = [Subscriber(f"r{i}@example.com", "", {"email": f"r{i}@example.com"})
              for i in range(3)]  # fmt: skip
    with open_state(project_dir) as state:
        state.ledger.freeze(rendered, "sample", "outbox", [SAMPLE_ARTICLE], "h", people, NOW)
        state.leaves.add("sample", "r1@example.com", "preferences", NOW)
        claimed = state.ledger.claim(rendered.id, 3, 1, NOW)
        assert [c.email for c in claimed] == ["r0@example.com", "r2@example.com"]
        rows = {row[0]: row for row in state.ledger.recipients(rendered.id)}
    assert rows["r1@example.com"][1] == "skipped"
    assert rows["r1@example.com"][3] == "left the list (preferences)"
