"""Transports deliver batches: outbox (files), SendGrid (its API) and SMTP."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import SettingsError, UsageError
from newsletter.paths import shown

if TYPE_CHECKING:
    import ssl

    from newsletter.project import Project
    from newsletter.transports.base import Transport


def make_transport(project: Project, kind: str | None = None, dry_run: bool = False) -> Transport:
    """The transport a send uses. For a dry run, which sends nothing, a missing API key
    or password is not an error (see `missing_secret`)."""
    kind = kind or project.settings.transport.kind
    if dry_run and missing_secret(project, kind):
        kind = "dry-run:" + kind
    if kind == "outbox":
        from newsletter.transports.outbox import OutboxTransport

        return OutboxTransport(project.outbox_dir, project.clock, project.shown)
    if kind in ("sendgrid", "dry-run:sendgrid"):
        from newsletter.transports.sendgrid import SendgridTransport

        settings = project.settings.sendgrid
        key = sendgrid_api_key(project) if kind == "sendgrid" else "SG.dry-run-not-for-sending"
        return SendgridTransport(settings, key, project.clock, settings.timeout)
    if kind in ("smtp", "dry-run:smtp"):
        from newsletter.transports.smtp import SmtpTransport

        password = _smtp_password(project) if kind == "smtp" else None
        return SmtpTransport(project.settings.smtp, password, project.clock, _tls_context(project))
    raise UsageError(f"unknown transport {kind!r}; expected one of outbox, sendgrid, smtp")


def missing_secret(project: Project, kind: str) -> str | None:
    """The environment variable a real send through `kind` needs and lacks, if any."""
    if kind == "sendgrid":
        name = project.settings.sendgrid.api_key_env
    elif kind == "smtp" and project.settings.smtp.username:
        name = project.settings.smtp.password_env
    else:
        return None
    return None if os.environ.get(name, "").strip() else name


def sendgrid_api_key(project: Project) -> str:
    """The SendGrid API key from the variable named in settings; never shown."""
    name = project.settings.sendgrid.api_key_env
    key = os.environ.get(name, "").strip()
    where = shown(project.settings.path)
    if not key:
        raise SettingsError(
            f"[sendgrid] api_key_env: the environment variable {name} is not set; "
            "it must hold your SendGrid API key",
            where=where,
        )
    if not _KEY.fullmatch(key):  # never show the value: it is a secret, even when wrong
        raise SettingsError(
            f"[sendgrid] api_key_env: the environment variable {name} holds characters an "
            "API key cannot have (spaces, line breaks or non-ASCII); set it again",
            where=where,
        )
    return key


_KEY = re.compile(r"[\x21-\x7e]+")


_LOCAL = ("127.0.0.1", "localhost", "::1")


def _smtp_password(project: Project) -> str | None:
    """The SMTP password from the variable named in settings, when there is a
    username; never shown, and never sent in the clear beyond this machine."""
    smtp = project.settings.smtp
    where = shown(project.settings.path)
    if not smtp.username:
        return None
    if smtp.security == "none" and smtp.host not in _LOCAL:
        raise SettingsError(
            f'[smtp] security: "none" would send the password of {smtp.username} in the '
            f'clear to {smtp.host}; use "starttls" or "ssl" (plain text is only for a '
            "server on this machine)",
            where=where,
        )
    name = smtp.password_env
    if not name:
        raise SettingsError(
            f"[smtp] password_env: empty, but [smtp] username is {smtp.username}; name the "
            "environment variable that holds its password",
            where=where,
        )
    password = os.environ.get(name, "")
    if not password:
        raise SettingsError(
            f"[smtp] password_env: the environment variable {name} is not set; it must hold "
            f"the SMTP password of {smtp.username}",
            where=where,
        )
    if not password.isascii():  # never show the value, even when wrong
        raise SettingsError(
            f"[smtp] password_env: the environment variable {name} holds characters that "
            "are not ASCII, which smtplib cannot send in a login",
            where=where,
        )
    return password


def _tls_context(project: Project) -> ssl.SSLContext | None:
    """Certificates checked against the system's CAs, or only [smtp] ca_file's."""
    smtp = project.settings.smtp
    if smtp.security == "none":
        return None
    import ssl

    if not smtp.ca_file:
        return ssl.create_default_context()
    path = Path(smtp.ca_file).expanduser()
    path = path if path.is_absolute() else project.root / path
    where = shown(project.settings.path)
    try:
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise SettingsError(f"[smtp] ca_file: no such file {shown(path)}", where=where) from None
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(
            f"[smtp] ca_file: {shown(path)} is not a PEM certificate file "
            f"({getattr(exc, 'reason', None) or exc})",
            where=where,
        ) from None
