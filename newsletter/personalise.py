"""PERSONALISE: each recipient's values for the placeholders of an issue rendered once
(render/placeholders.py), escaped for the HTML part and raw for the text part and
headers, and their copy of the issue. Pure and cheap: this runs per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from newsletter.render import RenderedIssue
from newsletter.render.placeholders import (
    EMAIL,
    PREFERENCES_URL,
    UNSUBSCRIBE_URL,
    Field,
    Template,
)
from newsletter.signing import Links
from newsletter.text import squash


class Addressee(Protocol):
    """What personalising needs of a subscriber, wherever it comes from (a list's row,
    or the ledger's frozen copy of it)."""

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, str]: ...


def field_values(
    fields: Mapping[str, Field],
    email: str,
    columns: Mapping[str, str],
    unsubscribe_url: str,
    preferences_url: str = "",
) -> dict[str, str]:
    """Raw values of every field for one recipient (text part, headers)."""
    values = {EMAIL: email, UNSUBSCRIBE_URL: unsubscribe_url, PREFERENCES_URL: preferences_url}
    for key, spec in fields.items():
        if key not in values:
            values[key] = squash(columns.get(spec.column, "")) or spec.default
    return values


def escape_html(value: str) -> str:
    """What markupsafe's escape does, as a plain str, without a Markup object each."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def html_values(values: Mapping[str, str]) -> dict[str, str]:
    return {key: escape_html(value) for key, value in values.items()}


@dataclass(slots=True)  # not frozen: made once per recipient, and frozen ones cost 3x
class Recipient:
    """A subscriber of one issue's send, with the raw values of every field (not
    changed once made)."""

    email: str
    name: str
    values: dict[str, str]
    seq: int = 0  # its number in the ledger (0: none, e.g. a test copy)


@dataclass(frozen=True)
class Copy:
    """One recipient's personalised subject and parts."""

    subject: str
    html: str
    text: str


def personalise(subject: Template, html: Template, text: Template, recipient: Recipient) -> Copy:
    raw = recipient.values
    return Copy(subject.fill(raw), html.fill(html_values(raw)), text.fill(raw))


class Personaliser:
    """Makes the recipients of one issue sent to one list: each subscriber's values
    for the issue's fields, with their signed unsubscribe link."""

    def __init__(self, issue: RenderedIssue, links: Links) -> None:
        self.issue = issue
        self.links = links

    def recipient(self, subscriber: Addressee, seq: int = 0) -> Recipient:
        """`seq`: the recipient's number in the ledger, which the provider's events
        carry back (SendGrid's custom args)."""
        email = subscriber.email
        unsubscribe, preferences = self.links.urls(email)
        values = field_values(self.issue.fields, email, subscriber.fields, unsubscribe, preferences)
        return Recipient(email, subscriber.name, values, seq)
