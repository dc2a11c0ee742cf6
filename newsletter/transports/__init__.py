"""DELIVER: transports hand batches over: outbox (files), SendGrid (its API) and SMTP.
The seam they share is base.py; here each is made from the settings, with its
secret from the environment (never shown), or as a dry run that needs none."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.clock import Clock
from newsletter.errors import SettingsError, UsageError, Where
from newsletter.settings import TRANSPORT_KINDS, Settings
from newsletter.transports.base import Batch, BatchResult, Transport

if TYPE_CHECKING:
    import ssl

_LOCAL = ("127.0.0.1", "localhost", "::1")
_KEY = re.compile(r"[\x21-\x7e]+")
BATCH_SIZES = {"outbox": 100, "sendgrid": 1000}


@dataclass(frozen=True)
class Place:
    """What a transport needs of the project besides its settings."""

    root: Path
    outbox: Path
    clock: Clock
    shown: Callable[[Path], str]
    env: Mapping[str, str]


def make_transport(kind: str, settings: Settings, place: Place) -> Transport:
    """The transport `kind` as the settings describe it, with its secret."""
    check_kind(kind)
    if kind == "outbox":
        from newsletter.transports.outbox import OutboxTransport

        return OutboxTransport(place.outbox, place.clock, place.shown)
    if kind == "sendgrid":
        from newsletter.transports.sendgrid import SendgridTransport

        key = sendgrid_api_key(settings, place)
        return SendgridTransport(settings.sendgrid, key, place.clock, settings.sendgrid.timeout,
                                 settings.tracking)  # fmt: skip
    from newsletter.transports.smtp import SmtpTransport

    password = smtp_password(settings, place)
    return SmtpTransport(settings.smtp, password, place.clock, _tls_context(settings, place))


class DryRun:
    """What a dry run sends through: the transport's name and where it would deliver,
    and no secret. It hands nothing over."""

    def __init__(self, kind: str, settings: Settings, place: Place) -> None:
        check_kind(kind)
        self.name = kind
        self.batch_size = BATCH_SIZES.get(kind, 100 * settings.smtp.connections)
        self._settings, self._place = settings, place

    def destination(self, issue_id: str, test: bool = False) -> str:
        if self.name == "outbox":
            from newsletter.transports.outbox import OutboxTransport

            outbox = OutboxTransport(self._place.outbox, self._place.clock, self._place.shown)
            return outbox.destination(issue_id, test)
        if self.name == "sendgrid":
            from newsletter.transports.sendgrid import destination

            return destination(self._settings.sendgrid)
        from newsletter.transports.smtp import destination as smtp_destination

        return smtp_destination(self._settings.smtp)

    def send(self, batch: Batch) -> BatchResult:
        raise AssertionError("a dry run sends nothing")

    def close(self) -> None:
        pass


def check_kind(kind: str) -> None:
    if kind not in TRANSPORT_KINDS:
        raise UsageError(
            f"--transport {kind!r}: unknown transport; expected one of {', '.join(TRANSPORT_KINDS)}"
        )


def missing_secret(settings: Settings, kind: str, env: Mapping[str, str]) -> str | None:
    """The environment variable a real send through `kind` needs and lacks, if any."""
    if kind == "sendgrid":
        name = settings.sendgrid.api_key_env
    elif kind == "smtp" and settings.smtp.username:
        name = settings.smtp.password_env
    else:
        return None
    return None if env.get(name, "").strip() else name


def sendgrid_api_key(settings: Settings, place: Place) -> str:
    """The SendGrid API key from the variable named in settings; never shown."""
    name = settings.sendgrid.api_key_env
    key = place.env.get(name, "").strip()
    where = Where(file=place.shown(settings.path), setting="[sendgrid] api_key_env")
    if not key:
        raise SettingsError(
            f"the environment variable {name} is not set; it must hold your SendGrid API key",
            where=where,
        )
    if not _KEY.fullmatch(key):  # never show the value: it is a secret, even when wrong
        raise SettingsError(
            f"the environment variable {name} holds characters an API key cannot have "
            "(spaces, line breaks or non-ASCII); set it again",
            where=where,
        )
    return key


def smtp_password(settings: Settings, place: Place) -> str | None:
    """The SMTP password from the variable named in settings, when there is a
    username; never shown, and never sent in the clear beyond this machine."""
    smtp = settings.smtp
    file = place.shown(settings.path)
    if not smtp.username:
        return None
    if smtp.security == "none" and smtp.host not in _LOCAL:
        raise SettingsError(
            f'"none" would send the password of {smtp.username} in the clear to '
            f'{smtp.host}; use "starttls" or "ssl" (plain text is only for a server on '
            "this machine)",
            file=file,
            setting="[smtp] security",
        )
    name = smtp.password_env
    setting = "[smtp] password_env"
    if not name:
        raise SettingsError(
            f"empty, but [smtp] username is {smtp.username}; name the environment "
            "variable that holds its password",
            file=file,
            setting=setting,
        )
    password = place.env.get(name, "")
    if not password:
        raise SettingsError(
            f"the environment variable {name} is not set; it must hold the SMTP password "
            f"of {smtp.username}",
            file=file,
            setting=setting,
        )
    if not password.isascii():  # never show the value, even when wrong
        raise SettingsError(
            f"the environment variable {name} holds characters that are not ASCII, which "
            "smtplib cannot send in a login",
            file=file,
            setting=setting,
        )
    return password


def _tls_context(settings: Settings, place: Place) -> ssl.SSLContext | None:
    """Certificates checked against the system's CAs, or only [smtp] ca_file's."""
    smtp = settings.smtp
    if smtp.security == "none":
        return None
    import ssl

    if not smtp.ca_file:
        return ssl.create_default_context()
    path = Path(smtp.ca_file).expanduser()
    path = path if path.is_absolute() else place.root / path
    where = Where(file=place.shown(settings.path), setting="[smtp] ca_file")
    try:
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise SettingsError(f"no such file {place.shown(path)}", where=where) from None
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(
            f"{place.shown(path)} is not a PEM certificate file "
            f"({getattr(exc, 'reason', None) or exc})",
            where=where,
        ) from None


def delivers(transport: Transport | DryRun) -> bool:
    """Whether sending through it reaches people: not a dry run, not the outbox."""
    return not isinstance(transport, DryRun) and transport.name != "outbox"
