"""Transports deliver batches: outbox (files), and later SendGrid and SMTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.errors import UsageError

if TYPE_CHECKING:
    from newsletter.project import Project
    from newsletter.transports.base import Transport


def make_transport(project: Project, kind: str | None = None) -> Transport:
    kind = kind or project.settings.transport.kind
    if kind == "outbox":
        from newsletter.transports.outbox import OutboxTransport

        return OutboxTransport(project.outbox_dir, project.clock, project.shown)
    if kind in ("sendgrid", "smtp"):
        raise UsageError(f"the {kind} transport is not available yet; use --transport outbox")
    raise UsageError(f"unknown transport {kind!r}; expected one of outbox, sendgrid, smtp")
