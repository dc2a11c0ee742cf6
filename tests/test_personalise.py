"""Placeholders filled per recipient: escaped in HTML, raw in text, never re-rendered."""

import jinja2
import pytest

from newsletter.personalise import Recipient, field_values, personalise
from newsletter.render.placeholders import FieldUseError, Placeholders, Template, make_token

P = "%%nlTEST"


def test_template_fill_interleaves_literals_and_values():
    text = "a %%nlTESTh.x%% b %%nlTESTh.y%%%%nlTESTh.x%% c"
    template = Template.parse(text, "html", P)
    assert template.keys == ("x", "y", "x")
    assert template.fill({"x": "1", "y": "2"}) == "a 1 b 21 c"
    assert template.source("html") == text


def test_text_tokens_in_an_html_part_are_refused():
    with pytest.raises(ValueError):
        Template.parse("<p>%%nlTESTt.x%%</p>", "html", P)


def test_values_are_substituted_once_so_a_value_holding_a_token_stays_literal():
    template = Template.parse("%%nlTESTt.a%%|%%nlTESTt.b%%", "text", P)
    assert template.fill({"a": "%%nlTESTt.b%%", "b": "B"}) == "%%nlTESTt.b%%|B"


def test_each_render_gets_its_own_token_prefix_so_content_cannot_forge_one():
    assert Placeholders().prefix != Placeholders().prefix
    literal = "%%nlh.email%% and %%nl0000abcdh.email%%"
    assert Template.parse(literal, "html", Placeholders().prefix).keys == ()


@pytest.mark.parametrize(
    "source",
    [
        "{% if subscriber.name %}x{% endif %}",
        "{{ subscriber.name | upper }}",
        "{{ subscriber.name[:3] }}",
        "{{ subscriber.name | length }}",
        "{{ subscriber.name == 'Ada' }}",
        "{{ subscriber.name | truncate(5) }}",
        "{{ subscriber.name.title() }}",
    ],
)
def test_templates_may_only_output_subscriber_fields(source):
    placeholders = Placeholders()
    template = jinja2.Environment().from_string(source)
    with pytest.raises(FieldUseError, match="filled in per recipient"):
        template.render(subscriber=placeholders.subscriber("text"))


def test_output_fields_and_fallbacks_render_as_tokens():
    placeholders = Placeholders()
    env = jinja2.Environment(autoescape=True)
    html = env.from_string(
        '<a href="{{ unsubscribe }}">{{ subscriber.get("name", "there") }} {{ subscriber.email|e }}'
    ).render(
        subscriber=placeholders.subscriber("html"),
        unsubscribe=placeholders.token("unsubscribe_url", "html"),
    )
    template = placeholders.template(html, "html")
    assert template.keys == ("unsubscribe_url", "f_name", "email")


def test_fields_with_fallbacks_get_their_own_keys():
    placeholders = Placeholders()
    plain = placeholders.key_for("Name")
    fallback = placeholders.key_for("name", "there")
    again = placeholders.key_for("NAME", "there")
    column = placeholders.key_for("First Name")
    assert plain != fallback and fallback == again
    assert column == "f_first_name"
    assert placeholders.key_for("email") == "email"
    values = field_values(
        placeholders.fields, "a@example.com", {"name": "", "first name": "Ada"}, "https://u"
    )
    assert values[plain] == "" and values[fallback] == "there" and values[column] == "Ada"


def test_subscriber_named_script_is_escaped_in_html_and_raw_in_text():
    placeholders = Placeholders()
    key = placeholders.key_for("name", "there")
    p = placeholders.prefix
    subject = placeholders.template(f"For {make_token(p, key, 'text')}", "text")
    html = placeholders.template(f"<p>Hi {make_token(p, key, 'html')}</p>", "html")
    text = placeholders.template(f"Hi {make_token(p, key, 'text')}", "text")
    name = "<script>alert(1)</script>"
    values = field_values(placeholders.fields, "x@example.com", {"name": name}, "https://u?a&b")
    copy = personalise(subject, html, text, Recipient("x@example.com", name, values))
    assert copy.html == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert copy.text == "Hi <script>alert(1)</script>"
    assert copy.subject == "For <script>alert(1)</script>"


def test_unicode_and_no_break_spaces_in_values_survive():
    placeholders = Placeholders()
    key = placeholders.key_for("name")
    values = field_values(placeholders.fields, "z@example.org", {"name": "Zoë\u00a0Å"}, "u")
    assert values[key] == "Zoë\u00a0Å"


def test_escape_html_matches_markupsafe():
    import random

    from markupsafe import escape

    from newsletter.personalise import escape_html

    rng = random.Random(3)
    alphabet = "ab &<>'\"é\u00a0;#"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert escape_html(text) == str(escape(text)), text


def test_squash_keeps_unicode_spaces_and_collapses_ascii_ones():
    import random

    from newsletter.text import _ASCII_SPACE, squash

    rng = random.Random(5)
    alphabet = "ab \t\n\r\u00a0\u2009x"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert squash(text) == _ASCII_SPACE.sub(" ", text).strip(" "), repr(text)
