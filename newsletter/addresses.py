"""Email addresses, checked one way everywhere: lists, settings, --as and --test.

Syntax only (no DNS); the domain is kept in ASCII (IDNA) and lower case, the local
part as written. Internationalised local parts (SMTPUTF8) are refused: most relays
and SendGrid do not take them.

email-validator is thorough and slow (~30 us an address, most of it checking the
domain character by character). Lists repeat their domains, so a domain found valid
once is remembered: an address with a plain dot-atom local part at a remembered
domain is accepted without asking again. Anything else is asked in full. A test
holds the shortcut to giving exactly email-validator's answers.
"""

from __future__ import annotations

import re

_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254
_MAX_REMEMBERED = 100_000
# Mailbox names that email-validator lower-cases (RFC 2142): always asked in full.
_CASE_INSENSITIVE = frozenset(
    {
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
        "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp",
    }
)  # fmt: skip
# domain as written -> (its ASCII form, the longest UTF-8 length of its written,
# normalised and ASCII forms: email-validator limits all three addresses to 254 bytes)
_valid_domains: dict[str, tuple[str, int]] = {}


class BadAddress(ValueError):
    """The reason an address was refused, in words a person can act on."""


def normalise_address(text: str) -> str:
    text = text.strip()
    local, at, domain = text.rpartition("@")
    plain = (
        bool(at)
        and len(local) <= _MAX_LOCAL
        and _DOT_ATOM.fullmatch(local) is not None
        and local.lower() not in _CASE_INSENSITIVE
    )
    if plain and (known := _valid_domains.get(domain)):
        ascii_domain, longest = known
        if len(local) + 1 + longest <= _MAX_ADDRESS:
            return f"{local}@{ascii_domain}"
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise BadAddress(str(exc)) from None
    if plain and len(_valid_domains) < _MAX_REMEMBERED:
        forms = (domain, checked.domain, checked.ascii_domain)
        _valid_domains[domain] = (checked.ascii_domain, max(len(f.encode()) for f in forms))
    assert checked.ascii_email is not None  # always, as SMTPUTF8 addresses are refused
    return checked.ascii_email
