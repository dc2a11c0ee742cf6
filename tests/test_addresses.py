"""Address checks: the remembered-domain shortcut gives exactly email-validator's answers."""

import itertools
import random

import pytest
from email_validator import EmailNotValidError, validate_email

import newsletter.addresses as addresses
from newsletter.addresses import BadAddress, normalise_address

LOCALS = [
    "ada", "Ada.Lovelace", "a+tag", "o'brien", "x_y-z", "a..b", ".lead", "trail.", "sp ace",
    '"quoted"', "ünï", "a" * 64, "a" * 65, "", "a@b", "#!$%&'*+/=?^_`{|}~-", "UPPER",
]  # fmt: skip
DOMAINS = [
    "example.com", "Example.COM", "bücher.de", "xn--bcher-kva.de", "example.com.", "localhost",
    "example.test", "example.invalid", "sub.example.co.uk", "a" * 63 + ".com", "a" * 64 + ".com",
    "-bad.com", "bad-.com", "1.2.3.4", "[1.2.3.4]", "example", "exa_mple.com", "ex ample.com",
    "x" * 60 + "." + "y" * 60 + "." + "z" * 60 + ".com",
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


def test_domains_are_remembered_only_once_found_valid():
    normalise_address("ada@Example.COM")
    assert addresses._valid_domains == {"Example.COM": "example.com"}
    with pytest.raises(BadAddress):
        normalise_address("ada@localhost")
    assert "localhost" not in addresses._valid_domains
