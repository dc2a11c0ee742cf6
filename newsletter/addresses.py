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
_valid_domains: dict[str, str] = {}  # domain as written -> its ASCII form


class BadAddress(ValueError):
    """The reason an address was refused, in words a person can act on."""


def normalise_address(text: str) -> str:
    text = text.strip()
    local, at, domain = text.rpartition("@")
    plain = bool(at) and len(local) <= _MAX_LOCAL and _DOT_ATOM.fullmatch(local) is not None
    if plain and (known := _valid_domains.get(domain)):
        address = f"{local}@{known}"
        if len(address) <= _MAX_ADDRESS:
            return address
    address = _validate(text)
    if plain and len(_valid_domains) < _MAX_REMEMBERED:
        _valid_domains[domain] = address.rpartition("@")[2]
    return address


def _validate(text: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise BadAddress(str(exc)) from None
