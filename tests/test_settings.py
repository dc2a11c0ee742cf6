"""newsletter.toml -> typed settings with the names PRODUCT.md fixes."""

import pytest
from conftest import REPO, write

from newsletter.errors import SettingsError
from newsletter.settings import load_settings

MINIMAL = """
[newsletter]
name = "Weekly"
from = "Weekly <news@example.com>"
postal_address = "1 Street"
site_url = "https://example.com/"
"""


def test_repository_settings_load_with_every_documented_key():
    settings = load_settings(REPO / "newsletter.toml")
    assert settings.newsletter.from_.addr_spec == "news@example.com"
    assert settings.newsletter.from_.display_name == "Pop Culture Weekly"
    assert str(settings.newsletter.reply_to) == "editor@example.com"
    assert settings.transport.kind == "outbox"
    assert settings.sendgrid.categories == ("newsletter",)
    assert (settings.smtp.port, settings.smtp.security, settings.smtp.connections) == (
        587,
        "starttls",
        1,
    )


def test_only_the_newsletter_section_is_required_and_defaults_fill_the_rest(tmp_path):
    settings = load_settings(write(tmp_path / "newsletter.toml", MINIMAL))
    assert settings.newsletter.site_url == "https://example.com"
    assert settings.newsletter.reply_to is None
    assert (settings.newsletter.timezone, settings.newsletter.language) == ("UTC", "en")
    assert settings.unsubscribe.secret_env == "NEWSLETTER_SECRET"
    assert settings.outbox.dir == "outbox"


def test_rtl_language_sets_the_direction(tmp_path):
    settings = load_settings(write(tmp_path / "n.toml", MINIMAL + 'language = "ar"\n'))
    assert settings.newsletter.direction == "rtl"


def test_display_name_with_comma_must_be_quoted(tmp_path):
    good = MINIMAL.replace('"Weekly <news@example.com>"', "'\"Doe, Jane\" <jane@example.com>'")
    assert load_settings(write(tmp_path / "a.toml", good)).newsletter.from_.display_name == (
        "Doe, Jane"
    )
    bad = MINIMAL.replace('"Weekly <news@example.com>"', '"Doe, Jane <jane@example.com>"')
    with pytest.raises(SettingsError, match=r"b.toml:4: \[newsletter\] from: expected one"):
        load_settings(write(tmp_path / "b.toml", bad))


def test_sendgrid_categories_follow_the_api_limits(tmp_path):
    many = MINIMAL + "[sendgrid]\ncategories = [" + ", ".join(f'"c{i}"' for i in range(11)) + "]\n"
    with pytest.raises(SettingsError, match="at most 10 categories"):
        load_settings(write(tmp_path / "n.toml", many))


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        (
            "https://bücher.example/abmelden?x=ü#top",
            "https://xn--bcher-kva.example/abmelden?x=%C3%BC#top",
        ),
        ("http://127.0.0.1:8025/unsubscribe", "http://127.0.0.1:8025/unsubscribe"),
    ],
)
def test_unsubscribe_url_is_kept_in_ascii(tmp_path, url, stored):
    text = MINIMAL + f'[unsubscribe]\nurl = "{url}"\n'
    assert load_settings(write(tmp_path / "n.toml", text)).unsubscribe.url == stored


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/un sub", "cannot contain spaces"),
        ("https://example.com/u?l=other", "uses l, which the signed unsubscribe links need"),
        ("https://user:pw@example.com/u", "user name or password"),
        ("https://example.com:99999/u", "host or port"),
        ("mailto:u@example.com", "absolute http(s) URL"),
    ],
)
def test_bad_unsubscribe_urls_are_refused_by_name(tmp_path, url, message):
    text = MINIMAL + f'[unsubscribe]\nurl = "{url}"\n'
    with pytest.raises(SettingsError, match=r"n.toml:\d+: \[unsubscribe\] url: ") as caught:
        load_settings(write(tmp_path / "n.toml", text))
    assert message in str(caught.value)
