"""Signed unsubscribe links: only the secret's holder can make one."""

from urllib.parse import quote

from newsletter.signing import parse_link, sign, unsubscribe_url, verify

SECRET = b"s" * 32


def test_a_link_made_here_verifies():
    url = unsubscribe_url("https://example.com/unsubscribe", SECRET, "weekly", "Ada@Example.com")
    list_name, email, signature = parse_link(url)
    assert (list_name, email) == ("weekly", "Ada@Example.com")
    assert verify(SECRET, list_name, email, signature)


def test_tampered_signature_fails():
    signature = sign(SECRET, "weekly", "ada@example.com")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not verify(SECRET, "weekly", "ada@example.com", flipped)
    assert not verify(SECRET, "weekly", "ada@example.com", signature[:-1])
    assert not verify(SECRET, "weekly", "ada@example.com", "")
    assert not verify(SECRET, "weekly", "ada@example.com", "ü" * 43)


def test_signature_does_not_carry_over_to_another_address_list_or_secret():
    signature = sign(SECRET, "weekly", "ada@example.com")
    assert not verify(SECRET, "weekly", "eve@example.com", signature)
    assert not verify(SECRET, "daily", "ada@example.com", signature)
    assert not verify(b"t" * 32, "weekly", "ada@example.com", signature)


def test_address_case_does_not_matter():
    assert verify(SECRET, "w", "ADA@example.com", sign(SECRET, "w", "ada@EXAMPLE.com"))


def test_plus_and_other_characters_are_encoded_in_the_url():
    url = unsubscribe_url("https://e.com/u?x=1", SECRET, "w", "a+b&c@example.com")
    assert url.startswith("https://e.com/u?x=1&l=w&e=" + quote("a+b&c@example.com", safe="@"))
    assert parse_link(url)[1] == "a+b&c@example.com"


def test_fields_cannot_be_shifted_between_list_and_address():
    assert not verify(SECRET, "a\nb", "c@x.com", sign(SECRET, "a", "b\nc@x.com"))
    assert sign(SECRET, "ab", "c@x.com") != sign(SECRET, "a", "bc@x.com")


def test_a_fragment_in_the_base_url_stays_at_the_end():
    url = unsubscribe_url("https://e.com/u#top", SECRET, "w", "a@example.com")
    assert url.startswith("https://e.com/u?l=w&e=a@example.com&s=") and url.endswith("#top")
    assert parse_link(url)[:2] == ("w", "a@example.com")
