"""RFC 5322 messages made by MessageMaker parse back, with every header and part right."""

import email
from email import policy
from email.header import decode_header, make_header
from email.utils import formataddr

import pytest
from conftest import NOW, SAMPLE_ARTICLE, compose

from newsletter.audience.lists import Subscriber
from newsletter.message import Envelope, MessageMaker
from newsletter.personalise import Personaliser
from newsletter.signing import Links


@pytest.fixture
def maker_for(project):
    def make(article=SAMPLE_ARTICLE, test=False):
        rendered = compose(project, [project.root / article])[1]
        envelope = Envelope(project.settings.newsletter, "sample")
        audience = Links("https://example.com/u", b"k" * 32, "sample")
        maker = MessageMaker(rendered, envelope, NOW, test)

        def message(email_address, name=""):
            subscriber = Subscriber(email_address, name, {"name": name})
            msgid, data = maker.make(Personaliser(rendered, audience).recipient(subscriber))
            return msgid, data, email.message_from_bytes(data, policy=policy.default)

        return message

    return make


NAMES = [
    "Ada Lovelace",
    'Ada "The Countess" Lovelace',
    "Back\\slash",
    "Doe, Jane",
    "Tom <b>Bold</b> & Sons",
    "Zoë Ångström-Núñez",
    "李小龙",
    "Emoji 🎉 fan",
    "Very " + "long " * 40 + "name",
    "Ünïcödé " * 20,
]


@pytest.mark.parametrize("name", NAMES)
def test_display_names_survive_the_round_trip(maker_for, name):
    _, data, message = maker_for()("reader@example.com", name)
    name = " ".join(name.split())
    (address,) = message["To"].addresses
    assert address.addr_spec == "reader@example.com"
    # Python's modern parser puts a space between adjacent encoded words of a long
    # name (RFC 2047 says to drop it); the classic decoder reads them right.
    raw = email.message_from_bytes(data, policy=policy.compat32)["To"]
    decoded = str(make_header(decode_header(raw)))
    expected = formataddr((name, "reader@example.com")) if name.isascii() else name
    assert decoded.startswith(expected)
    if len(name) < 60:
        assert address.display_name == name
    head = data.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert not message.defects


@pytest.mark.parametrize("brk", ["\r\n", "\n", "\u2028", "\u2029", "\u0085", "\x0b"])
def test_line_breaks_in_a_name_never_reach_the_headers(maker_for, brk):
    _, data, message = maker_for()("reader@example.com", f"Eve{brk}Bcc: victim@example.com")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert message["Bcc"] is None and b"\nBcc:" not in head
    assert message["To"].addresses[0].display_name == "Eve Bcc: victim@example.com"


def test_bodies_are_quoted_printable_with_short_lines_and_decode_exactly(maker_for):
    _, data, message = maker_for()("reader@example.com", "Zoë")
    body = data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "Hi Zoë," in text and "Hi Zoë," in html
    assert "completely —\u00a0until" in text
    assert "John’s WHOLE face" in html
    assert [p.get("Content-Transfer-Encoding") for p in message.iter_parts()] == [
        "quoted-printable",
        "quoted-printable",
    ]


def test_message_ids_are_stable_per_address_and_unique_for_test_copies(maker_for):
    make = maker_for()
    first, _, _ = make("a@example.com")
    again, _, _ = make("A@example.com")
    other, _, _ = make("b@example.com")
    assert first == again != other
    test = maker_for(test=True)
    assert test("a@example.com")[0] != test("a@example.com")[0]


def test_headers_in_order_and_complete(maker_for):
    _, data, message = maker_for()("reader@example.com", "Ada")
    names = [line.split(b":")[0] for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")]
    names = [n.decode() for n in names if not n.startswith(b" ")]
    assert names == [
        "From", "To", "Reply-To", "Subject", "Message-ID", "List-Unsubscribe",
        "Date", "List-Id", "List-Unsubscribe-Post", "Content-Language",
        "X-Newsletter-Issue", "MIME-Version", "Content-Type",
    ]  # fmt: skip
    assert message["List-Id"] == "Pop Culture Weekly <sample.example.com>"
    assert message["Date"].datetime == NOW


def raw_header(data, name):
    return email.message_from_bytes(data, policy=policy.compat32)[name]


@pytest.mark.parametrize("name", ["=?utf-8?q?evil?=", "A\x00B\x07C\x1b", "Dr " * 300])
def test_names_reach_the_to_header_as_typed_with_no_controls_and_short_lines(maker_for, name):
    _, data, _message = maker_for()("reader@example.com", name)
    expected = " ".join(name.replace("\x00", " ").replace("\x07", " ").replace("\x1b", " ").split())
    assert str(make_header(decode_header(raw_header(data, "To")))) == (
        f"{expected} <reader@example.com>"
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    to_lines = head.split(b"To: ", 1)[1].split(b"\r\nReply-To")[0].split(b"\r\n")
    assert all(len(line) <= 80 for line in to_lines)
    assert not any(ch in head for ch in (b"\x00", b"\x07", b"\x1b"))


@pytest.mark.parametrize(
    "title",
    [
        "=?utf-8?q?hi?= there",
        "a,b,c," * 40,
        "x" * 1200,
        "[Weekly] Zoë’s “big” day: " + "words " * 30,
    ],
)
def test_subjects_fold_and_read_back_as_written(project, tmp_path, title):
    from conftest import write

    write(project.root / "templates" / "subject.txt", "{{ articles[0].title }}")
    article = write(tmp_path / "s.md", f"---\ntitle: '{title}'\n---\nBody.\n")
    rendered = compose(project, [article])[1]
    maker = MessageMaker(rendered, Envelope(project.settings.newsletter, "sample"), NOW)
    audience = Links("https://example.com/u", b"k" * 32, "sample")
    _, data = maker.make(Personaliser(rendered, audience).recipient(Subscriber("a@example.com")))
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert str(make_header(decode_header(raw_header(data, "Subject")))) == " ".join(title.split())


def test_list_id_phrase_is_quoted_or_encoded(project):
    from dataclasses import replace

    settings = replace(project.settings.newsletter, name='Zoë "Weekly" <News>')
    list_id = Envelope(settings, "sample").list_id
    assert list_id.endswith(" <sample.example.com>")
    parsed = email.message_from_bytes(
        f"List-Id: {list_id}\r\n\r\n".encode(), policy=policy.compat32
    )["List-Id"]
    assert str(make_header(decode_header(parsed))).startswith('Zoë "Weekly" <News>')
