"""Address checks: the remembered-domain shortcut gives exactly email-validator's answers."""

import itertools
import random

import pytest
from email_validator import EmailNotValidError, validate_email

import newsletter.addresses as addresses
from newsletter.addresses import BadAddress, normalise_address

LOCALS = [
    "ada", "Ada.Lovelace", "Info", "POSTMASTER", "b" * 64, "b" * 63,
    "a+tag", "o'brien", "x_y-z", "a..b", ".lead", "trail.", "sp ace",
    '"quoted"', "ünï", "a" * 64, "a" * 65, "", "a@b", "#!$%&'*+/=?^_`{|}~-", "UPPER",
]  # fmt: skip
DOMAINS = [
    "example.com", "Example.COM", "bücher.de", "xn--bcher-kva.de", "example.com.", "localhost",
    "example.test", "example.invalid", "sub.example.co.uk", "a" * 63 + ".com", "a" * 64 + ".com",
    "-bad.com", "bad-.com", "1.2.3.4", "[1.2.3.4]", "example", "exa_mple.com", "ex ample.com",
    "x" * 60 + "." + "y" * 60 + "." + "z" * 60 + ".com",
    ".".join(["日本語" * 7] * 3) + ".jp", ".".join(["ü" * 20] * 8) + ".de",
    "x" * 62 + "." + "y" * 62 + "." + "z" * 62 + ".com",
]  # fmt: skip


def reference(text):
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError:
        return None


def ours(text):
    try:
        return normalise_address(text)
    except BadAddress:
        return None


@pytest.fixture(autouse=True)
def fresh_cache():
    addresses._valid_domains.clear()
    yield
    addresses._valid_domains.clear()


def test_shortcut_agrees_with_email_validator_on_every_pair_in_any_order():
    pairs = [f"{local}@{domain}" for local, domain in itertools.product(LOCALS, DOMAINS)]
    for seed in range(3):
        addresses._valid_domains.clear()
        random.Random(seed).shuffle(pairs)
        for text in pairs:
            assert ours(text) == reference(text), text


def test_shortcut_agrees_with_email_validator_on_random_addresses():
    rng = random.Random(7)
    atext = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
    domains = [*DOMAINS, *(f"d{i}.example.org" for i in range(5))]
    for _ in range(3000):
        size = rng.choice([1, 2, 5, 20, 63, 64, 65, 120])
        local = "".join(rng.choice(atext) for _ in range(size))
        text = f"{local}@{rng.choice(domains)}"
        assert ours(text) == reference(text), text


def test_domains_are_remembered_only_once_found_valid():
    normalise_address("ada@Example.COM")
    assert addresses._valid_domains == {"Example.COM": ("example.com", 11)}
    with pytest.raises(BadAddress):
        normalise_address("ada@localhost")
    assert "localhost" not in addresses._valid_domains


def test_the_case_insensitive_mailbox_names_are_email_validators():
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    assert set(CASE_INSENSITIVE_MAILBOX_NAMES) == addresses._CASE_INSENSITIVE
