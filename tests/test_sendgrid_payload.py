"""The Mail Send request body for a batch, checked without a server."""

import re
from dataclasses import replace

import pytest
from conftest import SAMPLE_ARTICLE, compose, write

from newsletter.audience.lists import Subscriber
from newsletter.message import Envelope
from newsletter.personalise import Personaliser
from newsletter.signing import Links
from newsletter.transports.base import Batch
from newsletter.transports.sendgrid.payload import build_payload


@pytest.fixture
def batch_of(project):
    def make(subscribers, test=False, subject=None):
        if subject:
            write(project.root / "templates" / "subject.txt", subject)
        rendered = compose(project, [project.root / SAMPLE_ARTICLE])[1]
        audience = Links("https://example.com/u", b"k" * 32, "sample")
        recipients = tuple(Personaliser(rendered, audience).recipient(s) for s in subscribers)
        envelope = Envelope(project.settings.newsletter, "sample")
        return Batch(rendered, recipients, envelope, test=test)

    return make


def sub(email, name="", **fields):
    return Subscriber(email, name, {"name": name, **fields})


def test_every_token_in_the_content_and_subject_has_a_substitution(batch_of, project):
    batch = batch_of(
        [sub("a@example.com", "Ada"), sub("b@example.com")],
        subject='{{ subscriber.get("name", "friend") }}: {{ articles[0].title }}',
    )
    body = build_payload(batch, project.settings.sendgrid).data()
    used = set()
    for part in (body["subject"], *(c["value"] for c in body["content"])):
        used |= set(re.findall(r"%%nl\w+?[hts]\.[a-z0-9_]+%%", part))
    for person in body["personalizations"]:
        assert set(person["substitutions"]) == used
        assert all(isinstance(v, str) for v in person["substitutions"].values())
    subject_token = re.match(r"(%%nl\w+?s\.[a-z0-9_]+%%)", body["subject"]).group(1)
    values = [p["substitutions"][subject_token] for p in body["personalizations"]]
    assert values == ["Ada", "friend"]


def test_a_subject_field_is_one_line_whatever_the_field_holds(batch_of, project):
    """The subject is a header: its values fold like the To name (the text part keeps
    them as they are)."""
    batch = batch_of([sub("a@example.com", "Ann\u2028Bcc: x@example.com\x85y")],
                     subject="Hi {{ subscriber.name }}")  # fmt: skip
    (person,) = build_payload(batch, project.settings.sendgrid).data()["personalizations"]
    body = build_payload(batch, project.settings.sendgrid).data()
    token = re.match(r"Hi (%%nl\w+?s\.[a-z0-9_]+%%)$", body["subject"]).group(1)
    assert person["substitutions"][token] == "Ann Bcc: x@example.com y"


def test_settings_reach_the_request(batch_of, project):
    settings = replace(
        project.settings.sendgrid, sandbox=True, unsubscribe_group=42, categories=("weekly", "pop")
    )
    body = build_payload(batch_of([sub("a@example.com")]), settings).data()
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert body["asm"] == {"group_id": 42}
    assert body["categories"] == ["weekly", "pop"]
    assert body["reply_to"] == {"email": "editor@example.com"}
    no_categories = replace(project.settings.sendgrid, categories=())
    assert "categories" not in build_payload(batch_of([sub("a@example.com")]), no_categories).data()


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("Doe, Jane", '"Doe, Jane"'),
        ('Say "hi"; ok', '"Say \\"hi\\"; ok"'),
        ("Ada", "Ada"),
        # the line breaks str.splitlines() knows beside CR and LF fold like them
        ("Ada\u2028Bcc: x@example.com", "Ada Bcc: x@example.com"),
        ("Zoë\u0085Smith", "Zoë Smith"),
        ("Para\u2029graph\x1b[31m", "Para graph [31m"),
    ],
)
def test_names_are_quoted_and_their_line_breaks_folded(batch_of, project, name, sent):
    body = build_payload(batch_of([sub("a@example.com", name)]), project.settings.sendgrid).data()
    assert body["personalizations"][0]["to"] == [{"email": "a@example.com", "name": sent}]


def test_a_recipient_over_the_substitution_limit_is_refused_by_name(batch_of, project):
    big = sub("big@example.com", "x" * 6000)
    payload = build_payload(batch_of([sub("a@example.com"), big]), project.settings.sendgrid)
    assert payload.recipients == ["a@example.com"]
    assert "over SendGrid's 10,000 per recipient" in payload.refused["big@example.com"]


def test_the_same_address_twice_in_a_batch_goes_once(batch_of, project):
    payload = build_payload(
        batch_of([sub("a@example.com"), sub("A@example.com")]), project.settings.sendgrid
    )
    assert payload.recipients == ["a@example.com"]
    assert payload.refused == {"A@example.com": "listed twice in one request"}


def test_test_copies_are_marked_in_the_subject(batch_of, project):
    body = build_payload(batch_of([sub("a@example.com")], test=True), project.settings.sendgrid)
    assert body.data()["subject"].startswith("[Test] Chrissy Teigen")


def test_an_issue_too_large_for_one_request_is_stopped_before_sending(batch_of, project):
    from newsletter.errors import PermanentError

    batch = batch_of([sub("a@example.com")])
    huge_html = replace(batch.issue.html, literals=("é" * 6_000_000,), keys=())
    huge = replace(batch.issue, html=huge_html)
    with pytest.raises(PermanentError, match="over SendGrid's 31,457,280"):
        build_payload(replace(batch, issue=huge), project.settings.sendgrid)


def test_a_large_ascii_issue_that_fits_is_measured_not_refused(batch_of, project):
    batch = batch_of([sub("a@example.com")])
    big_html = replace(batch.issue.html, literals=("x" * 6_000_000,), keys=())
    payload = build_payload(replace(batch, issue=replace(batch.issue, html=big_html)),
                            project.settings.sendgrid)  # fmt: skip
    assert 6_000_000 < payload.size < 7_000_000


def test_the_body_is_the_json_of_what_each_recipient_gets(batch_of, project):
    """Written as bytes directly, it reads back as the values themselves: quotes,
    backslashes, controls, markup and any Unicode."""
    tricky = 'Zoë "Q" \\ </script>\t\u2028 😀'
    batch = batch_of([sub("a@example.com", tricky, city="Malmö\nnorth")],
                     subject='{{ subscriber.get("city", "x") }}')  # fmt: skip
    payload = build_payload(batch, project.settings.sendgrid)
    assert payload.body.isascii()  # every non-ASCII character escaped, as json.dumps does
    (person,) = payload.data()["personalizations"]
    values = set(person["substitutions"].values())
    name = 'Zoë "Q" \\ </script> \u2028 😀'  # ASCII whitespace squashed, as in every part
    assert name in values and "Malmö north" in values  # the text part: raw
    assert "Zoë &#34;Q&#34; \\ &lt;/script&gt; \u2028 😀" in values  # the HTML part: escaped
    folded = 'Zoë "Q" \\ </script> 😀'  # a header: no line separator, no control
    assert person["to"] == [{"email": "a@example.com", "name": folded}]


def test_a_mailto_follows_the_link_in_list_unsubscribe(batch_of, project):
    batch = batch_of([sub("a@example.com", "Ada")])
    batch = replace(batch, envelope=replace(batch.envelope, mailto="leave@example.com"))
    (person,) = build_payload(batch, project.settings.sendgrid).data()["personalizations"]
    value = person["headers"]["List-Unsubscribe"]
    wanted = r"<https://example\.com/u\?l=sample&t=[\w-]+>, "
    wanted += r"<mailto:leave@example\.com\?subject=unsubscribe>"
    assert re.fullmatch(wanted, value), value


def test_a_signup_confirmation_has_no_list_unsubscribe_nor_group(batch_of, project):
    batch = batch_of([sub("a@example.com", "Ada")])
    batch = replace(batch, envelope=replace(batch.envelope, notice=True))
    settings = replace(project.settings.sendgrid, unsubscribe_group=7)
    data = build_payload(batch, settings).data()
    assert "headers" not in data["personalizations"][0] and "asm" not in data
