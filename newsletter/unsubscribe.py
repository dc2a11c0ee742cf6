"""Signed, per-subscriber unsubscribe links (HMAC-SHA256 over list and address).

A link names the list and the address and carries a signature; only the holder of
the project's secret can make one, so a forged or altered link unsubscribes nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

SECRET_BYTES = 32


def sign(secret: bytes, list_name: str, email: str) -> str:
    """Each field is length-prefixed, so no two (list, address) pairs sign alike."""
    fields = ("unsubscribe", list_name, email.lower())
    message = "".join(f"{len(part)}:{part}" for part in fields).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(secret: bytes, list_name: str, email: str, signature: str) -> bool:
    """Constant-time check of a signature from a link."""
    expected = sign(secret, list_name, email)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace"))


def unsubscribe_url(base: str, secret: bytes, list_name: str, email: str) -> str:
    parts = urlsplit(base)
    query = f"l={quote(list_name, safe='')}&e={quote(email, safe='@')}"
    query += f"&s={sign(secret, list_name, email)}"
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def parse_link(url: str) -> tuple[str, str, str] | None:
    """(list, email, signature) from a link, or None when a part is missing."""
    query = parse_qs(urlsplit(url).query)
    try:
        return query["l"][0], query["e"][0], query["s"][0]
    except (KeyError, IndexError):
        return None
