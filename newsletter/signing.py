"""Signed, per-subscriber unsubscribe links (HMAC-SHA256 over list and address),
and the tokens of the endpoint's page buttons.

A link names the list and the address and carries a signature; only the holder of
the project's secret can make one, so a forged or altered link unsubscribes nobody.
A page's button carries a token for one purpose (its own HMAC, never a link's
signature): a page of another site can post the link, but not the token it has
never seen.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

SECRET_BYTES = 32


_URL_SAFE = re.compile(r"[A-Za-z0-9._@-]+")  # addresses that quote() would leave alone
_URL_SAFE_BASE64 = bytes.maketrans(b"+/", b"-_")  # base64 as urlsafe_b64encode writes it


class Links:
    """Signs and builds the unsubscribe links of one list; the parts every link shares
    (the URL around the query, the keyed HMAC state) are prepared once."""

    def __init__(self, base: str, secret: bytes, list_name: str) -> None:
        parts = urlsplit(base)
        self._head = urlunsplit(parts._replace(query="", fragment="")) + "?"
        self._head += f"{parts.query}&" if parts.query else ""
        self._head += f"l={quote(list_name, safe='')}&e="
        self._tail = f"#{parts.fragment}" if parts.fragment else ""
        self._mac = hmac.new(secret, _fields("unsubscribe", list_name), hashlib.sha256)

    def sign(self, email: str) -> str:
        key = email.lower()
        mac = self._mac.copy()
        mac.update(f"{len(key)}:{key}".encode())  # _fields(key), spelled out: it runs per link
        digest = binascii.b2a_base64(mac.digest(), newline=False)
        return digest.rstrip(b"=").translate(_URL_SAFE_BASE64).decode("ascii")

    def url(self, email: str) -> str:
        quoted = email if _URL_SAFE.fullmatch(email) else quote(email, safe="@")
        return f"{self._head}{quoted}&s={self.sign(email)}{self._tail}"


FORGOTTEN_PREFIX = "forgotten:"  # a forgotten address's hash: never an address (no @)


class AddressHash:
    """The keyed hash that stands for an address asked to be forgotten (HMAC-SHA256
    under a secret of the state's own, for this purpose alone: project.py): the same
    address always gives the same hash, so a list row or an import that brings it back
    is known, and nobody without the secret can tell whose it is (or test a guess)."""

    def __init__(self, secret: bytes) -> None:
        self._mac = hmac.new(secret, _fields("forgotten address"), hashlib.sha256)

    def __call__(self, email: str) -> str:
        mac = self._mac.copy()
        mac.update(email.strip().lower().encode())
        return FORGOTTEN_PREFIX + mac.hexdigest()[:32]


class Signer:
    """The project's signer of links, holding its secret (never shown): the
    unsubscribe links of a list, and the check of a link that comes back."""

    def __init__(self, secret: bytes, base_url: str) -> None:
        self._secret = secret
        self.base_url = base_url

    def links(self, list_name: str) -> Links:
        return Links(self.base_url, self._secret, list_name)

    def verify(self, list_name: str, email: str, signature: str) -> bool:
        return verify(self._secret, list_name, email, signature)

    def token(self, purpose: str, *parts: str) -> str:
        """A form token for `purpose` ("confirm", "resubscribe") over `parts`."""
        mac = hmac.new(self._secret, _fields("form", purpose, *parts), hashlib.sha256)
        return mac.hexdigest()[:32]

    def check_token(self, token: str, purpose: str, *parts: str) -> bool:
        expected = self.token(purpose, *parts)
        return hmac.compare_digest(expected.encode("ascii"), token.encode("ascii", "replace"))


def _fields(*parts: str) -> bytes:
    """Each field length-prefixed, so no two (list, address) pairs sign alike."""
    return "".join(f"{len(part)}:{part}" for part in parts).encode()


def sign(secret: bytes, list_name: str, email: str) -> str:
    return Links("http://x/", secret, list_name).sign(email)


def verify(secret: bytes, list_name: str, email: str, signature: str) -> bool:
    """Constant-time check of a signature from a link."""
    expected = sign(secret, list_name, email)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace"))


def unsubscribe_url(base: str, secret: bytes, list_name: str, email: str) -> str:
    return Links(base, secret, list_name).url(email)


def parse_link(url: str) -> tuple[str, str, str] | None:
    """(list, email, signature) from a link, or None when a part is missing."""
    query = parse_qs(urlsplit(url).query)
    try:
        return query["l"][0], query["e"][0], query["s"][0]
    except (KeyError, IndexError):
        return None
