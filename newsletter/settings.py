"""newsletter.toml -> frozen, typed Settings.

The key names are the product contract (PRODUCT.md). Every problem is reported as
one line naming the file, the line where it can be found, the key and what was
expected, before anything is rendered or sent.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from email.headerregistry import Address, HeaderRegistry
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.addresses import BadAddress, normalise_address
from newsletter.colours import HEX, WHITE, contrast
from newsletter.errors import SettingsError
from newsletter.files import read_text
from newsletter.files import shown as shown_path
from newsletter.text import LANGUAGE_TAG, language_direction
from newsletter.where import WhereError, parse_where

LIGHT_PANEL = "#f3f4f6"  # the grey boxes of the default email (contents, code)
STATE_ID = re.compile(r"[A-Za-z0-9]{8,64}")
_STATE_TABLE = re.compile(r"\s*\[\s*state\s*\]\s*(#.*)?$")
_ANY_TABLE = re.compile(r"\s*\[")
_ID_KEY = re.compile(r"\s*id\s*=")

SETTINGS_FILE = "newsletter.toml"
TRANSPORT_KINDS = ("outbox", "sendgrid", "smtp")
SMTP_SECURITY = ("none", "starttls", "ssl")


class _Invalid(ValueError):
    """A value has the wrong shape; the loader adds file, line and key."""


# --- value parsers: raw TOML value -> typed value, or _Invalid("expected ...") ---


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_describe(value)}")
    return value.strip()


def _text(value: Any) -> str:
    text = _string(value)
    if not text:
        raise _Invalid("must not be empty")
    if any(ch in text for ch in "\r\n"):
        raise _Invalid("must be a single line")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected a whole number, got {_describe(value)}")
        if not low <= value <= high:
            raise _Invalid(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _string(value)
        if text not in options:
            raise _Invalid(f"expected one of {', '.join(options)}, got {text!r}")
        return text

    return parse


def _url(value: Any) -> str:
    """An absolute http(s) URL, returned in ASCII (IDNA host, percent-encoded rest),
    so it can go into headers and links as it is."""
    text = _text(value)
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise _Invalid(f"a URL cannot contain spaces or control characters, got {text!r}")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid(f"expected an absolute http(s) URL, got {text!r}")
    try:
        host = parts.hostname
        host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")  # IPv6
        port = f":{parts.port}" if parts.port else ""
    except (UnicodeError, ValueError):
        raise _Invalid(f"the host or port of {text!r} is not valid") from None
    if parts.username or parts.password:
        raise _Invalid(f"a URL with a user name or password is not accepted, got {text!r}")
    ascii_parts = (
        quote(part, safe=_URL_SAFE) for part in (parts.path, parts.query, parts.fragment)
    )
    return urlunsplit((parts.scheme, host + port, *ascii_parts))


_URL_SAFE = "/?#[]@!$&'()*+,;=%:-._~"


def _api_host(value: Any) -> str:
    """https, or plain http only to this machine (a local test server): the API key
    must never cross a network in the clear."""
    url = _base_url(value)
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise _Invalid(f"the API host must use https (or be on 127.0.0.1), got {url!r}")
    return url


def _unsubscribe_url(value: Any) -> str:
    url = _url(value)
    taken = {"l", "e", "s"} & set(parse_qs(urlsplit(url).query, keep_blank_values=True))
    if taken:
        raise _Invalid(
            f"the query of {url!r} uses {', '.join(sorted(taken))}, which the signed "
            "unsubscribe links need for themselves"
        )
    return url


def _base_url(value: Any) -> str:
    return _url(value).rstrip("/")


def parse_address(value: Any) -> Address:
    """`Name <user@example.com>` or `user@example.com` -> Address."""
    text = _text(value)
    header: Any = HeaderRegistry()("from", text)  # an address header: .addresses, .defects
    found = header.addresses
    if header.defects or len(found) != 1 or not found[0].domain:
        raise _Invalid(f'expected one address like "Name <news@example.com>", got {text!r}')
    name, addr = found[0].display_name, found[0].addr_spec
    try:
        checked = normalise_address(addr)
    except BadAddress as exc:
        raise _Invalid(f"{addr!r} is not a valid address: {exc}") from None
    local, _, domain = checked.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def _optional_bare_address(value: Any) -> str:
    """An address alone (no display name), or "" for none."""
    text = _string(value)
    if not text:
        return ""
    try:
        return normalise_address(text)
    except BadAddress as exc:
        raise _Invalid(f"expected an address such as unsubscribe@example.com: {exc}") from None


def _optional_address(value: Any) -> Address | None:
    return None if _string(value) == "" else parse_address(value)


def _timezone(value: Any) -> str:
    text = _text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f'expected an IANA time zone like "Europe/Berlin", got {text!r}') from None
    return text


def _language(value: Any) -> str:
    text = _text(value)
    if not LANGUAGE_TAG.fullmatch(text):
        raise _Invalid(f'expected a language tag like "en" or "pt-BR", got {text!r}')
    if not known_language(text):
        raise _Invalid(f"{text!r} is not a language CLDR knows (its dates could not be written)")
    return canonical_language(text)


def canonical_language(tag: str) -> str:
    """A language tag as BCP 47 writes it: "DE-at" -> "de-AT", "zh-hant" -> "zh-Hant"
    (tags are case-blind; the words files are named in this form)."""
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # a script
        elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())  # a region
        else:
            out.append(part.lower())
    return "-".join(out)


def known_language(tag: str) -> bool:
    """Whether CLDR (through Babel) knows the language, so its dates can be written."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


LIST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # subscribers/<list>.csv


def _optional_list(value: Any) -> str:
    """A list's name ("" for none): letters, digits, '.', '_' or '-'."""
    text = _string(value)
    if text and not LIST_NAME.fullmatch(text):
        raise _Invalid(
            f"expected a list's name (subscribers/<list>.csv: letters, digits, '.', '_' or "
            f"'-'), got {text!r}"
        )
    return text


def _list_names(value: Any) -> tuple[str, ...]:
    """Lists' names, each once: `lists = ["news", "extra"]`."""
    if not isinstance(value, list):
        raise _Invalid(f'expected a list of list names, e.g. ["news"], got {_describe(value)}')
    names = [_optional_list(item) for item in value]
    if "" in names:
        raise _Invalid("a list's name must not be empty")
    return tuple(dict.fromkeys(names))


def _where(value: Any) -> str:
    """An expression of `--where`'s language (where.py), checked now."""
    text = _text(value)
    try:
        parse_where(text)
    except WhereError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _optional_https_url(value: Any) -> str:
    """An https URL, or "" for none: an image over http is blocked or flagged by
    mail clients."""
    if _string(value) == "":
        return ""
    text = _text(value)
    if not text.lower().startswith("https://"):
        raise _Invalid(
            f"expected an absolute https URL (mail clients block http images), got {text!r}"
        )
    return _url(text)


def _web_url(value: Any) -> str:
    """Where an issue can be read on the web: a URL in which {issue} stands for the
    issue's id, e.g. https://example.com/issues/{issue}; "" for none."""
    text = _string(value)
    if text == "":
        return ""
    stripped = text.replace("{issue}", "")
    if "{" in stripped or "}" in stripped:
        raise _Invalid(f"the only name a web_url may hold is {{issue}}, got {text!r}")
    try:  # in ASCII like every URL here (IDNA host, percent-encoded path), {issue} kept
        url = _url(text.replace("{issue}", _ISSUE_MARK))
    except _Invalid:
        raise _Invalid(
            f"expected an absolute http(s) URL such as https://example.com/issues/{{issue}}, "
            f"got {text!r}"
        ) from None
    return url.replace(_ISSUE_MARK, "{issue}")


_ISSUE_MARK = "ISSUE0ID0MARK"  # letters and digits: survive the URL's quoting as they are


def _colour(value: Any) -> str:
    text = _text(value)
    if not HEX.fullmatch(text):
        raise _Invalid(f'expected a colour like "#0b5cad", got {text!r}')
    ratio = min(contrast(text.lower(), WHITE), contrast(text.lower(), LIGHT_PANEL))
    if ratio < 4.5:
        raise _Invalid(
            f"{text} is too light: white text on it (the buttons) or it as a link on the "
            f"grey boxes has a contrast of {ratio:.1f}:1, and at least 4.5:1 is needed"
        )
    return text.lower()


def _env_name(value: Any) -> str:
    text = _text(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise _Invalid(f"expected the name of an environment variable, got {text!r}")
    return text


def _optional_env_name(value: Any) -> str:
    return "" if _string(value) == "" else _env_name(value)


def _optional_path(value: Any) -> str:
    return "" if _string(value) == "" else _text(value)


def _categories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"expected a list of strings, got {_describe(value)}")
    if len(value) > 10:
        raise _Invalid(f"SendGrid allows at most 10 categories, got {len(value)}")
    for item in value:
        if not item.strip() or len(item) > 255:
            raise _Invalid(f"each category must be 1 to 255 characters, got {item!r}")
    if len({v.lower() for v in value}) != len(value):
        raise _Invalid("categories must be unique")
    return tuple(value)


def _networks(value: Any) -> tuple[str, ...]:
    """Addresses or networks (`10.0.0.0/8`), as ipaddress reads them."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"expected a list of addresses, got {_describe(value)}")
    for item in value:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise _Invalid(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(v.strip() for v in value)


def _describe(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    kinds |= {list: "a list", dict: "a table"}
    return kinds.get(type(value), type(value).__name__)


def _setting(key: str, parse: Callable[[Any], Any], default: Any = ..., **kw: Any) -> Any:
    """A dataclass field that knows its TOML key, its parser and whether it is required."""
    meta = {"key": key, "parse": parse, "required": default is ...}
    if default is ...:
        return field(metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


# --- the sections ---


@dataclass(frozen=True)
class NewsletterSettings:
    name: str = _setting("name", _text)
    from_: Address = _setting("from", parse_address)
    postal_address: str = _setting("postal_address", _text)
    site_url: str = _setting("site_url", _base_url)
    reply_to: Address | None = _setting("reply_to", _optional_address, None)
    timezone: str = _setting("timezone", _timezone, "UTC")
    language: str = _setting("language", _language, "en")
    logo: str = _setting("logo", _optional_https_url, "")  # an https image for the masthead
    logo_dark: str = _setting("logo_dark", _optional_https_url, "")  # the one for dark mode
    logo_alt: str = _setting("logo_alt", _string, "")  # its alt text ("" = the name)
    logo_width: int = _setting("logo_width", _int_between(16, 536), 160)  # px shown
    web_url: str = _setting("web_url", _web_url, "")  # "View in browser": {issue} is the id
    default_list: str = _setting("default_list", _optional_list, "")  # preview, check, --test

    @property
    def direction(self) -> str:
        return language_direction(self.language)

    def issue_url(self, issue_id: str) -> str:
        """Where the issue can be read on the web ("" when the project has no web_url)."""
        return self.web_url.replace("{issue}", quote(issue_id, safe="")) if self.web_url else ""


FONTS = {
    "sans": '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif',
    "serif": 'Georgia, "Times New Roman", Times, serif',
    "humanist": '"Avenir Next", Avenir, "Segoe UI", Candara, "Trebuchet MS", sans-serif',
    "mono": 'Menlo, Consolas, "Courier New", monospace',
}
HEADERS = ("left", "center")


@dataclass(frozen=True)
class ThemeSettings:
    """The default template's look: the accent (links, buttons, the masthead's rule),
    the fonts (web-safe stacks, by name) and how the masthead is laid out."""

    accent: str = _setting("accent", _colour, "#0b5cad")
    body_font: str = _setting("body_font", _choice(tuple(FONTS)), "serif")
    heading_font: str = _setting("heading_font", _choice(tuple(FONTS)), "sans")
    header: str = _setting("header", _choice(HEADERS), "left")


@dataclass(frozen=True)
class UnsubscribeSettings:
    url: str = _setting("url", _unsubscribe_url, "http://127.0.0.1:8025/unsubscribe")
    secret_env: str = _setting("secret_env", _optional_env_name, "NEWSLETTER_SECRET")
    # an address that takes unsubscribe requests by mail: added to List-Unsubscribe
    mailto: str = _setting("mailto", _optional_bare_address, "")


@dataclass(frozen=True)
class TransportSettings:
    kind: str = _setting("kind", _choice(TRANSPORT_KINDS), "outbox")


@dataclass(frozen=True)
class OutboxSettings:
    dir: str = _setting("dir", _text, "outbox")


@dataclass(frozen=True)
class SendgridSettings:
    api_key_env: str = _setting("api_key_env", _env_name, "SENDGRID_API_KEY")
    host: str = _setting("host", _api_host, "https://api.sendgrid.com")
    sandbox: bool = _setting("sandbox", _bool, False)
    categories: tuple[str, ...] = _setting("categories", _categories, ("newsletter",))
    unsubscribe_group: int = _setting("unsubscribe_group", _int_between(0, 2**31 - 1), 0)
    timeout: int = _setting("timeout", _int_between(1, 600), 30)  # seconds a request may take
    # the Event Webhook's verification key (SendGrid's "public key", base64 DER): read
    # from this environment variable; unset, POST /events/sendgrid takes nothing
    webhook_public_key_env: str = _setting(
        "webhook_public_key_env", _env_name, "SENDGRID_WEBHOOK_PUBLIC_KEY"
    )


@dataclass(frozen=True)
class SmtpSettings:
    host: str = _setting("host", _text, "localhost")
    port: int = _setting("port", _int_between(1, 65535), 587)
    security: str = _setting("security", _choice(SMTP_SECURITY), "starttls")
    username: str = _setting("username", _string, "")
    password_env: str = _setting("password_env", _optional_env_name, "SMTP_PASSWORD")
    connections: int = _setting("connections", _int_between(1, 64), 1)
    ca_file: str = _setting("ca_file", _optional_path, "")  # a private CA (PEM) to trust
    timeout: int = _setting("timeout", _int_between(1, 600), 60)  # seconds one wait may take


def _state_url(value: Any) -> str:
    """sqlite:///PATH (relative to the project; sqlite:////PATH absolute) or a
    postgresql:// URL; shown without its password when it is wrong."""
    text = _text(value).strip()
    scheme = text.split(":", 1)[0].lower()
    if scheme == "sqlite":
        if not text.startswith("sqlite:///") or text == "sqlite:///":
            raise _Invalid("a SQLite state is sqlite:///PATH, e.g. sqlite:///.newsletter/state.db")
        return text
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(text)
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise _Invalid(f"name the database, e.g. {scheme}://user@host/newsletter")
        return text
    parts = urlsplit(text)  # shown without who and password
    shown_value = f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else text
    raise _Invalid(f"use sqlite:///PATH or postgresql://USER@HOST/DATABASE, got {shown_value!r}")


def _state_id(value: Any) -> str:
    text = _string(value).strip()
    if text and not STATE_ID.fullmatch(text):
        raise _Invalid("a state id is what newsletter wrote here: letters and digits")
    return text


@dataclass(frozen=True)
class StateSettings:
    url: str = _setting("url", _state_url, "sqlite:///.newsletter/state.db")
    id: str = _setting("id", _state_id, "")  # the state this project sends from


def with_state_id(text: str, state_id: str) -> str | None:
    """The text of newsletter.toml with `[state] id` set to `state_id` (the line put
    in its [state] table, which is added at the end if there is none); None when the
    file is written in a way this cannot edit safely (e.g. dotted keys)."""
    line = f'id = "{state_id}"  # the state this project sends from (see README)\n'
    lines = text.splitlines(keepends=True)
    start = next((i for i, text_line in enumerate(lines) if _STATE_TABLE.match(text_line)), None)
    if start is None:
        edited = text + ("" if text.endswith("\n") or not text else "\n") + "\n[state]\n" + line
    else:
        end = next((i for i in range(start + 1, len(lines)) if _ANY_TABLE.match(lines[i])),
                   len(lines))  # fmt: skip
        at = next((i for i in range(start + 1, end) if _ID_KEY.match(lines[i])), None)
        if at is None:
            lines.insert(start + 1, line)
        else:
            lines[at] = line
        edited = "".join(lines)
    try:
        found = tomllib.loads(edited).get("state", {}).get("id")
    except tomllib.TOMLDecodeError:
        return None
    return edited if found == state_id else None


def _origins(value: Any) -> tuple[str, ...]:
    """Web origins (scheme://host[:port], no path), as browsers send them in Origin."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"expected a list of origins such as \"https://example.com\", got "
                       f"{_describe(value)}")  # fmt: skip
    origins = []
    for item in value:
        url = _url(item)
        parts = urlsplit(url)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise _Invalid(f"an origin is scheme://host[:port] with no path, got {item!r}")
        origins.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(origins)


@dataclass(frozen=True)
class ServeSettings:
    # the proxies in front of `serve` (a load balancer, Caddy, nginx): only a request
    # from one of them has its X-Forwarded-For, -Proto and -Host believed
    trusted_proxies: tuple[str, ...] = _setting("trusted_proxies", _networks, ())
    # sites whose pages may post the signup form (and whose JavaScript may read the
    # answer: CORS); the project's own form page needs no entry
    allowed_origins: tuple[str, ...] = _setting("allowed_origins", _origins, ())


FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_FIELDS = 10


def _field_names(value: Any) -> tuple[str, ...]:
    """The columns a signup form asks for besides the address: lower-case names."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f'expected a list of column names such as ["name"], got {_describe(value)}')
    names = tuple(v.strip().lower() for v in value)
    for name in names:
        if not FIELD_NAME.fullmatch(name) or name == "email":
            raise _Invalid(
                f"expected column names of letters, digits and _ (the address is always "
                f"asked), got {name!r}"
            )
    if len(set(names)) != len(names) or len(names) > MAX_FIELDS:
        raise _Invalid(f"expected at most {MAX_FIELDS} different column names")
    return names


@dataclass(frozen=True)
class ListSettings:
    """[lists.NAME]: what a list's own pages do."""

    signup: bool = _setting("signup", _bool, False)  # /subscribe/NAME takes signups
    fields: tuple[str, ...] = _setting("fields", _field_names, ())  # asked besides the address
    title: str = _setting("title", _string, "")  # the list as readers see it ("": the name)
    description: str = _setting("description", _string, "")  # a line under it on the form
    # an article sent once to each newly confirmed signup, by cron, through the ledger
    welcome: str = _setting("welcome", _optional_path, "")


@dataclass(frozen=True)
class SignupSettings:
    confirm_hours: int = _setting("confirm_hours", _int_between(1, 24 * 30), 48)
    # requests an hour a client (its address) may make, and signups an address may get
    client_limit: int = _setting("client_limit", _int_between(1, 100_000), 20)
    address_limit: int = _setting("address_limit", _int_between(1, 1_000), 3)


@dataclass(frozen=True)
class SegmentSettings:
    """`[segments.NAME]`: a named audience. With --segment NAME, its lists come
    first, then any --list; its exclusions and --exclude-list both apply; its `where`
    and --where must both hold."""

    lists: tuple[str, ...] = _setting("lists", _list_names, ())
    exclude: tuple[str, ...] = _setting("exclude", _list_names, ())
    where: str = _setting("where", _where, "")


UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def _utm(value: Any) -> tuple[tuple[str, str], ...]:
    """`{ source = "newsletter", medium = "email", campaign = "{issue}" }`: the UTM
    parameters added to the links of the project's own site, in that order; {issue}
    stands for the issue's id."""
    if not isinstance(value, dict):
        raise _Invalid(
            'expected a table such as { source = "newsletter", medium = "email", '
            f'campaign = "{{issue}}" }}, got {_describe(value)}'
        )
    pairs = []
    for key, item in value.items():
        if key not in UTM_KEYS:
            raise _Invalid(f"utm takes {', '.join(UTM_KEYS)}, got {key!r}")
        text = _text(item)
        if "{" in text.replace("{issue}", "") or "}" in text.replace("{issue}", ""):
            raise _Invalid(f"the only name utm.{key} may hold is {{issue}}, got {text!r}")
        pairs.append((key, text))
    return tuple(sorted(pairs, key=lambda pair: UTM_KEYS.index(pair[0])))


@dataclass(frozen=True)
class TrackingSettings:
    """[tracking]: off unless turned on. opens and clicks: SendGrid's open and click
    tracking asked for, and its events counted (per issue, and per link); with
    per_subscriber, also per recipient. utm: tags on the links of the site."""

    opens: bool = _setting("opens", _bool, False)
    clicks: bool = _setting("clicks", _bool, False)
    per_subscriber: bool = _setting("per_subscriber", _bool, False)
    utm: tuple[tuple[str, str], ...] = _setting("utm", _utm, ())
    # an open or click this soon after the delivery is a machine's (an image proxy
    # fetching the pixel, a link scanner following every link), counted apart
    machine_seconds: int = _setting("machine_seconds", _int_between(0, 3600), 30)


NO_TRACKING = TrackingSettings()


def _archive_url(value: Any) -> str:
    return "" if _string(value) == "" else _base_url(value)


@dataclass(frozen=True)
class ArchiveSettings:
    """[archive]: the web archive of sent issues (`newsletter archive build`)."""

    url: str = _setting("url", _archive_url, "")  # where the site is published ("": nowhere)
    dir: str = _setting("dir", _text, "archive")  # where `archive build` writes it

    def issue_url(self, issue_id: str) -> str:
        """The issue's page once published ("" when the archive has no url)."""
        return f"{self.url}/{archive_page(issue_id)}" if self.url else ""


ARCHIVE_ISSUES = "issues"  # the archive's folder of issue pages, one folder an issue


def archive_page(issue_id: str) -> str:
    """An issue's page in the archive, relative to the archive's root (a folder, so
    its URL has no .html: issues/ID/, written as issues/ID/index.html)."""
    return f"{ARCHIVE_ISSUES}/{quote(issue_id, safe='')}/"


@dataclass(frozen=True)
class Settings:
    path: Path
    newsletter: NewsletterSettings
    unsubscribe: UnsubscribeSettings
    transport: TransportSettings
    outbox: OutboxSettings
    sendgrid: SendgridSettings
    smtp: SmtpSettings
    state: StateSettings = StateSettings()
    serve: ServeSettings = ServeSettings()
    theme: ThemeSettings = ThemeSettings()
    segments: dict[str, SegmentSettings] = field(default_factory=dict)
    signup: SignupSettings = SignupSettings()
    lists: dict[str, ListSettings] = field(default_factory=dict)
    tracking: TrackingSettings = TrackingSettings()
    archive: ArchiveSettings = ArchiveSettings()

    def list_settings(self, name: str) -> ListSettings:
        return self.lists.get(name, ListSettings())


SECTIONS: dict[str, type] = {
    "newsletter": NewsletterSettings,
    "unsubscribe": UnsubscribeSettings,
    "transport": TransportSettings,
    "outbox": OutboxSettings,
    "sendgrid": SendgridSettings,
    "smtp": SmtpSettings,
    "state": StateSettings,
    "serve": ServeSettings,
    "theme": ThemeSettings,
    "signup": SignupSettings,
    "tracking": TrackingSettings,
    "archive": ArchiveSettings,
}
# sections of sections: [lists.NAME]
GROUPS: dict[str, type] = {"lists": ListSettings}
REQUIRED_SECTIONS = ("newsletter",)
SEGMENTS = "segments"  # a table of tables, [segments.NAME], one per segment


def _too_deep(text: str, deepest: int = 100) -> int | None:
    """The line where brackets and braces (outside strings and comments, roughly)
    first nest more than `deepest` levels."""
    depth, line, quote, comment = 0, 1, "", False
    for char in text:
        if char == "\n":
            line, comment = line + 1, False
            quote = "" if quote in ('"', "'") else quote  # a basic string ends at the line
        elif comment:
            continue
        elif quote:
            quote = "" if char == quote else quote
        elif char == "#":
            comment = True  # an apostrophe in a comment opens no string
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > deepest:
                return line
        elif char in "]}":
            depth -= 1
    return None


def newsletter_value(key: str, value: str) -> Any:
    """`value` for `[newsletter] KEY` as loading newsletter.toml reads it (`from`: an
    Address; `site_url`: the URL in ASCII, without its last slash), or ValueError
    saying what is expected: `newsletter init` checks what it asks for with it."""
    for spec in fields(NewsletterSettings):
        if spec.metadata["key"] == key:
            return spec.metadata["parse"](value)
    raise KeyError(key)


def toml_string(value: str) -> str:
    """`value` as a TOML basic string, quotes included: `"`, `\\` and control characters
    escaped, any other Unicode kept as it is (the file is UTF-8)."""
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in _TOML_ESCAPES:
            escaped.append(_TOML_ESCAPES[char])
        elif ord(char) < 32 or ord(char) == 127:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


_TOML_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def load_settings(path: Path) -> Settings:
    """Read and check newsletter.toml; raise SettingsError naming file, line and key."""
    shown = shown_path(path)
    missing = (
        f"no {SETTINGS_FILE} here (create a project with `newsletter init DIR`, or point "
        "--project at one)"
    )
    text = read_text(path, shown, SettingsError, missing)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # "... (at line 36, column 6)"
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        what = str(exc)[: found.start()] if found else str(exc)
        column = f" (column {found.group(2)})" if found else ""
        line = int(found.group(1)) if found else None
        raise SettingsError(f"not valid TOML: {what}{column}", file=shown, line=line) from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise SettingsError(
            "not valid TOML here: arrays or inline tables nested too deeply",
            file=shown,
            line=_too_deep(text),
        ) from None

    finder = _LineFinder(text)
    groups: dict[str, Any] = {
        name: _group(name, data.pop(name), shown, finder) for name in GROUPS if name in data
    }
    segments = _segments(data.pop(SEGMENTS, {}), shown, finder)
    for name in data:
        if name not in SECTIONS and not isinstance(data[name], dict):
            raise SettingsError(
                "setting outside any section; put it under [newsletter] or another section",
                file=shown,
                line=finder.key(None, name),
                setting=name,
            )
        if name not in SECTIONS:
            raise SettingsError(
                f"unknown section{_suggest(name, {**SECTIONS, **GROUPS, SEGMENTS: 0})}; "
                f"expected {', '.join(f'[{s}]' for s in SECTIONS)}, [lists.NAME] or "
                "[segments.NAME]",
                file=shown,
                line=finder.section(name),
                setting=f"[{name}]",
            )
        if not isinstance(data[name], dict):
            raise SettingsError(
                f"expected a [{name}] table", file=shown, line=finder.key(None, name), setting=name
            )
    for name in REQUIRED_SECTIONS:
        if name not in data:
            raise SettingsError("section is missing", file=shown, setting=f"[{name}]")

    built = {
        name: _section(cls, name, data.get(name, {}), shown, finder)
        for name, cls in SECTIONS.items()
    }
    return Settings(path=path, **built, **groups, segments=segments)


def _group(group: str, tables: Any, shown: str, finder: _LineFinder) -> dict[str, Any]:
    """[GROUP.NAME] sections (e.g. [lists.news]): each a section of its own."""
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise SettingsError(
            f"expected [{group}.NAME] tables", file=shown, line=finder.key(None, group),
            setting=f"[{group}]",
        )  # fmt: skip
    found = {}
    for name, table in tables.items():
        if not LIST_NAME.fullmatch(name):
            raise SettingsError(
                "expected a list's name (letters, digits, '.', '_' or '-')",
                file=shown, line=finder.section(f"{group}.{name}"), setting=f"[{group}.{name}]",
            )  # fmt: skip
        found[name] = _section(GROUPS[group], f"{group}.{name}", table, shown, finder)
    return found


def _segments(table: Any, shown: str, finder: _LineFinder) -> dict[str, SegmentSettings]:
    """`[segments.NAME]` tables, each checked like a section."""
    if not isinstance(table, dict):
        raise SettingsError("expected [segments.NAME] tables", file=shown,
                            line=finder.key(None, SEGMENTS), setting=SEGMENTS)  # fmt: skip
    found = {}
    for name, segment in table.items():
        where = f"{SEGMENTS}.{name}"
        if not LIST_NAME.fullmatch(name):
            raise SettingsError(
                "a segment's name is letters, digits, '.', '_' or '-' (used as --segment NAME)",
                file=shown, line=finder.section(where), setting=f"[{where}]",
            )  # fmt: skip
        if not isinstance(segment, dict):
            raise SettingsError(f"expected a [{where}] table", file=shown,
                                line=finder.key(SEGMENTS, name), setting=f"[{where}]")  # fmt: skip
        found[name] = _section(SegmentSettings, where, segment, shown, finder)
    return found


def _section(cls: type, name: str, table: dict[str, Any], shown: str, finder: _LineFinder) -> Any:
    specs = {f.metadata["key"]: f for f in fields(cls)}
    for key in table:
        if key not in specs:
            raise SettingsError(
                f"unknown setting{_suggest(key, specs)}",
                file=shown,
                line=finder.key(name, key),
                setting=f"[{name}] {key}",
            )
    values = {}
    for key, spec in specs.items():
        if key not in table:
            if spec.metadata["required"]:
                raise SettingsError(
                    "required setting is missing", file=shown, setting=f"[{name}] {key}"
                )
            continue
        try:
            values[spec.name] = spec.metadata["parse"](table[key])
        except _Invalid as exc:
            raise SettingsError(
                str(exc), file=shown, line=finder.key(name, key), setting=f"[{name}] {key}"
            ) from None
    return cls(**values)


class _LineFinder:
    """Best-effort line numbers for TOML keys, so errors can point at them."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def section(self, name: str) -> int:
        pattern = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        return next((i for i, line in enumerate(self.lines, 1) if pattern.match(line)), 1)

    def key(self, section: str | None, key: str) -> int:
        start = self.section(section) if section else 1
        pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for number in range(start, len(self.lines) + 1):
            if number > start and section and self.lines[number - 1].lstrip().startswith("["):
                break
            if pattern.match(self.lines[number - 1]):
                return number
        return start


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
