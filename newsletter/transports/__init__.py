"""Transports deliver batches: outbox (files), and later SendGrid and SMTP."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from newsletter.errors import SettingsError, UsageError
from newsletter.paths import shown

if TYPE_CHECKING:
    from newsletter.project import Project
    from newsletter.transports.base import Transport


def make_transport(project: Project, kind: str | None = None) -> Transport:
    kind = kind or project.settings.transport.kind
    if kind == "outbox":
        from newsletter.transports.outbox import OutboxTransport

        return OutboxTransport(project.outbox_dir, project.clock, project.shown)
    if kind == "sendgrid":
        from newsletter.transports.sendgrid import SendgridTransport

        settings = project.settings.sendgrid
        return SendgridTransport(
            settings, sendgrid_api_key(project), project.clock, settings.timeout
        )
    if kind == "smtp":
        raise UsageError("the smtp transport is not available yet; use --transport outbox")
    raise UsageError(f"unknown transport {kind!r}; expected one of outbox, sendgrid, smtp")


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
