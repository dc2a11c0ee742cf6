"""Placeholders filled per recipient: escaped in HTML, raw in text, never re-rendered."""

import pytest

from newsletter.personalise import (
    Placeholders,
    Recipient,
    Template,
    field_values,
    personalise,
    token,
)


def test_template_fill_interleaves_literals_and_values():
    template = Template.parse("a %%nlh.x%% b %%nlh.y%%%%nlh.x%% c", "html")
    assert template.keys == ("x", "y", "x")
    assert template.fill({"x": "1", "y": "2"}) == "a 1 b 21 c"
    assert template.source("html") == "a %%nlh.x%% b %%nlh.y%%%%nlh.x%% c"


def test_text_tokens_in_an_html_part_are_refused():
    with pytest.raises(ValueError):
        Template.parse("<p>%%nlt.x%%</p>", "html")


def test_values_are_substituted_once_so_a_value_holding_a_token_stays_literal():
    template = Template.parse("%%nlt.a%%|%%nlt.b%%", "text")
    assert template.fill({"a": "%%nlt.b%%", "b": "B"}) == "%%nlt.b%%|B"


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
    subject = Template.parse(f"For {token(key, 'text')}", "text")
    html = Template.parse(f"<p>Hi {token(key, 'html')}</p>", "html")
    text = Template.parse(f"Hi {token(key, 'text')}", "text")
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
