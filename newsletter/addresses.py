"""Email addresses, checked one way everywhere: lists, settings, --as and --test.

Syntax only (no DNS); the domain is kept in ASCII (IDNA) and lower case, the local
part as written. Internationalised local parts (SMTPUTF8) are refused: most relays
and SendGrid do not take them.
"""

from __future__ import annotations


class BadAddress(ValueError):
    """The reason an address was refused, in words a person can act on."""


def normalise_address(text: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(
            text.strip(), check_deliverability=False, allow_smtputf8=False
        ).ascii_email
    except EmailNotValidError as exc:
        raise BadAddress(str(exc)) from None
