"""Per-subscriber links (unsubscribe, preferences) and the tokens of the endpoint's
page buttons.

A link names the list and carries the reader as an opaque token: the address
encrypted and authenticated (AES-SIV, the list as associated data) under a key
derived from the project's secret, so the URL shows no address (it would end up in
proxy logs and referrers), only the holder of the secret can make or read one, a
forged, altered or cross-list token reads as nobody, and every host sharing the
state (which keeps the secret) reads it, after any move. Links of earlier issues
named the address and carried an HMAC-SHA256 signature (`e=` and `s=`): they are
verified as before and keep working.

A page's button carries a token for one purpose (its own HMAC, never a link's):
a page of another site can post the link, but not the token it has never seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from urllib.parse import parse_qs, quote, urljoin, urlsplit, urlunsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

SECRET_BYTES = 32


_URL_SAFE = re.compile(r"[A-Za-z0-9._@-]+")  # addresses that quote() would leave alone
_URL_SAFE_BASE64 = bytes.maketrans(b"+/", b"-_")  # base64 as urlsafe_b64encode writes it


class _Url:
    """A page's URL with one list's query, up to the reader's token."""

    def __init__(self, base: str, list_name: str, key: str) -> None:
        parts = urlsplit(base)
        self.head = urlunsplit(parts._replace(query="", fragment="")) + "?"
        self.head += f"{parts.query}&" if parts.query else ""
        self.head += f"l={quote(list_name, safe='')}&{key}="
        self.tail = f"#{parts.fragment}" if parts.fragment else ""


class Links:
    """Builds the links of one list's readers: the unsubscribe link and the
    preferences page, with the reader's token; the parts every link shares (the URLs
    around the query, the cipher) are prepared once."""

    def __init__(self, base: str, secret: bytes, list_name: str) -> None:
        self._unsubscribe = _Url(base, list_name, "t")
        self._preferences = _Url(urljoin(base, PREFERENCES), list_name, "t")
        self._cipher = reader_cipher(secret)
        self._data = [b"reader", list_name.encode()]
        old = _Url(base, list_name, "e")  # the links of earlier issues
        self._head, self._tail = old.head, old.tail
        self._mac = hmac.new(secret, _fields("unsubscribe", list_name), hashlib.sha256)

    def token(self, email: str) -> str:
        """The reader's opaque token (the same address always makes the same one)."""
        sealed = self._cipher.encrypt(email.encode(), self._data)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def url(self, email: str) -> str:
        """The reader's unsubscribe link."""
        return self.urls(email)[0]

    def urls(self, email: str) -> tuple[str, str]:
        """The reader's unsubscribe link and preferences page, with one token."""
        token = self.token(email)
        unsubscribe, preferences = self._unsubscribe, self._preferences
        return (f"{unsubscribe.head}{token}{unsubscribe.tail}",
                f"{preferences.head}{token}{preferences.tail}")  # fmt: skip

    def signed_url(self, email: str) -> str:
        """A link as earlier issues had it: the address and its signature."""
        quoted = email if _URL_SAFE.fullmatch(email) else quote(email, safe="@")
        return f"{self._head}{quoted}&s={self.sign(email)}{self._tail}"

    def sign(self, email: str) -> str:
        key = email.lower()
        mac = self._mac.copy()
        mac.update(f"{len(key)}:{key}".encode())  # _fields(key), spelled out: it runs per link
        digest = binascii.b2a_base64(mac.digest(), newline=False)
        return digest.rstrip(b"=").translate(_URL_SAFE_BASE64).decode("ascii")


PREFERENCES = "preferences"  # the preferences page, beside the unsubscribe link's path


def reader_cipher(secret: bytes) -> AESSIV:
    """AES-256-SIV under a key of its own, derived from the project's secret."""
    return AESSIV(hmac.new(secret, b"newsletter reader token", hashlib.sha512).digest())


def open_token(secret: bytes, list_name: str, token: str) -> str | None:
    """The address a reader's token of `list_name` holds, or None for a forged,
    altered, truncated or cross-list one."""
    if not 30 <= len(token) <= 600 or not _TOKEN.fullmatch(token):
        return None
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii") != token:
            return None  # another spelling of the same bytes (its last character's spare
            # bits set): only the one we write is ours
        email = reader_cipher(secret).decrypt(sealed, [b"reader", list_name.encode()])
        return email.decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        return None


_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


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

    def reader(self, list_name: str, token: str) -> str | None:
        """The address in a reader's token of `list_name` (None: not a token of ours)."""
        return open_token(self._secret, list_name, token)

    def read_link(self, query: dict[str, list[str]]) -> tuple[str, str] | None:
        """(list, address) of a link's query (l and t; or, from earlier issues, l, e
        and s) when it is one of ours, else None."""
        return read_link(self._secret, query)

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


def link_reader(secret: bytes, url: str) -> tuple[str, str] | None:
    """(list, address) of a link (a whole URL) of ours, else None (for tests, tools)."""
    return read_link(secret, parse_qs(urlsplit(url).query, keep_blank_values=True))


def read_link(secret: bytes, query: dict[str, list[str]]) -> tuple[str, str] | None:
    """(list, address) from a link's query when it is one of ours (each part once)."""
    try:
        (list_name,) = query["l"]
        if "t" in query:
            (token,) = query["t"]
            email = open_token(secret, list_name, token)
            return None if email is None else (list_name, email)
        (email,), (signature,) = query["e"], query["s"]
    except (KeyError, ValueError):
        return None
    return (list_name, email) if verify(secret, list_name, email, signature) else None


def parse_link(url: str) -> tuple[str, str, str] | None:
    """(list, email, signature) from a link, or None when a part is missing."""
    query = parse_qs(urlsplit(url).query)
    try:
        return query["l"][0], query["e"][0], query["s"][0]
    except (KeyError, IndexError):
        return None
