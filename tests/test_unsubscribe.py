"""A reader's links: only the secret's holder can make or read one; the address is
never in the URL; the signed links of earlier issues keep verifying."""

from urllib.parse import parse_qs, quote, urlsplit

from newsletter.signing import Links, link_reader, parse_link, sign, unsubscribe_url, verify

SECRET = b"s" * 32


def test_a_link_made_here_reads_back_and_shows_no_address():
    url = unsubscribe_url("https://example.com/unsubscribe", SECRET, "weekly", "Ada@Example.com")
    assert "ada" not in url.lower() and "example.com" not in url.split("?", 1)[1].lower()
    assert link_reader(SECRET, url) == ("weekly", "Ada@Example.com")


def test_the_preferences_page_takes_the_same_token_beside_the_link():
    links = Links("https://example.com/nl/unsubscribe", SECRET, "weekly")
    unsubscribe, preferences = links.urls("ada@example.com")
    assert preferences.startswith("https://example.com/nl/preferences?l=weekly&t=")
    assert unsubscribe.split("?", 1)[1] == preferences.split("?", 1)[1]
    assert link_reader(SECRET, preferences) == ("weekly", "ada@example.com")


def test_a_token_altered_truncated_of_another_list_or_secret_reads_as_nobody():
    url = unsubscribe_url("https://e.com/u", SECRET, "weekly", "ada@example.com")
    token = parse_qs(urlsplit(url).query)["t"][0]
    flipped = ("A" if token[5] != "A" else "B").join((token[:5], token[6:]))
    for bad in (flipped, token[:-1], token[:20], token + "A", "", "é" * 40):
        assert link_reader(SECRET, f"https://e.com/u?l=weekly&t={quote(bad)}") is None, bad
    assert link_reader(SECRET, f"https://e.com/u?l=daily&t={token}") is None
    assert link_reader(b"t" * 32, url) is None
    assert link_reader(SECRET, f"{url}&t={token}") is None  # a part given twice


def test_a_signed_link_of_an_earlier_issue_still_reads():
    old = Links("https://example.com/unsubscribe", SECRET, "weekly").signed_url("Ada@Example.com")
    list_name, email, signature = parse_link(old)
    assert (list_name, email) == ("weekly", "Ada@Example.com")
    assert verify(SECRET, list_name, email, signature)
    assert link_reader(SECRET, old) == ("weekly", "Ada@Example.com")


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


def test_plus_and_other_characters_survive_the_url():
    url = unsubscribe_url("https://e.com/u?x=1", SECRET, "w", "a+b&c@example.com")
    assert url.startswith("https://e.com/u?x=1&l=w&t=")
    assert link_reader(SECRET, url) == ("w", "a+b&c@example.com")
    old = Links("https://e.com/u?x=1", SECRET, "w").signed_url("a+b&c@example.com")
    assert old.startswith("https://e.com/u?x=1&l=w&e=" + quote("a+b&c@example.com", safe="@"))
    assert parse_link(old)[1] == "a+b&c@example.com"


def test_fields_cannot_be_shifted_between_list_and_address():
    assert not verify(SECRET, "a\nb", "c@x.com", sign(SECRET, "a", "b\nc@x.com"))
    assert sign(SECRET, "ab", "c@x.com") != sign(SECRET, "a", "bc@x.com")


def test_a_fragment_in_the_base_url_stays_at_the_end():
    url = unsubscribe_url("https://e.com/u#top", SECRET, "w", "a@example.com")
    assert url.startswith("https://e.com/u?l=w&t=") and url.endswith("#top")
    assert link_reader(SECRET, url) == ("w", "a@example.com")


def test_only_the_one_spelling_of_a_token_reads():
    """The last character of base64 can carry spare bits: a token spelled with them
    set is the same bytes, but not a token we wrote, so it reads as nobody."""
    for address in ("a@example.com", "ab@example.com", "abc@example.com"):
        url = unsubscribe_url("https://e.com/u", SECRET, "w", address)
        token = parse_qs(urlsplit(url).query)["t"][0]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        others = [token[:-1] + c for c in alphabet if c != token[-1]]
        assert [t for t in others if link_reader(SECRET, f"https://e.com/u?l=w&t={t}")] == []
