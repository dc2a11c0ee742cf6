"""The v3 Mail Send request body for one batch, built apart from posting it (as
django-anymail splits payload from backend) so its rules are tested without a server.

One request carries up to 1000 personalizations, one recipient each, with that
recipient's `substitutions` (the rendered issue's tokens and their values: escaped
for the HTML part's tokens, raw for the text part's), `headers` (their own
List-Unsubscribe) and the issue's content, subject, from and reply-to once.

Everything the API would reject is caught here, before the request: a recipient
whose substitutions pass SendGrid's 10,000 bytes is refused (named, with why), the
others go out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from newsletter.errors import PermanentError
from newsletter.personalise import Recipient, escape_html
from newsletter.render.placeholders import UNSUBSCRIBE_URL
from newsletter.settings import SendgridSettings
from newsletter.text import header_text
from newsletter.transports.base import Batch

MAX_PERSONALIZATIONS = 1000
MAX_SUBSTITUTION_BYTES = 10_000
MAX_REQUEST_BYTES = 30 * 1024 * 1024


@dataclass
class Payload:
    """A request body and the recipients it carries (in order), plus those refused."""

    body: dict[str, Any]
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    size: int = 0  # an upper bound of the JSON request's bytes


def build_payload(batch: Batch, settings: SendgridSettings) -> Payload:
    issue = batch.issue
    if len(batch.recipients) > MAX_PERSONALIZATIONS:
        raise ValueError(f"a batch of {len(batch.recipients)} is over {MAX_PERSONALIZATIONS}")
    newsletter = batch.envelope.newsletter
    # (key, token) pairs, made once per batch; each token's size counts for every recipient
    html_tokens = [(key, issue.html.token(key, "html")) for key in sorted(set(issue.html.keys))]
    text_keys = set(issue.text.keys) | set(issue.subject.keys)
    text_tokens = [(key, issue.text.token(key, "text")) for key in sorted(text_keys)]
    token_bytes = sum(len(token) for _, token in html_tokens + text_tokens)
    subject = ("[Test] " if batch.test else "") + issue.subject.source("text")
    body: dict[str, Any] = {
        "personalizations": [],
        "from": _mailbox(newsletter.from_),
        "subject": subject,
        "content": [
            {"type": "text/plain", "value": issue.text.source("text")},
            {"type": "text/html", "value": issue.html.source("html")},
        ],
        "custom_args": {"issue": issue.id, "list": batch.envelope.list_name},
        "categories": list(settings.categories),
    }
    if newsletter.reply_to:
        body["reply_to"] = _mailbox(newsletter.reply_to)
    if settings.unsubscribe_group:
        body["asm"] = {"group_id": settings.unsubscribe_group}
    if settings.sandbox:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    if not body["categories"]:
        del body["categories"]

    payload = Payload(body)
    payload.size = sum(_json_bound(part["value"]) for part in body["content"])
    payload.size += _json_bound(subject)
    seen: set[str] = set()
    for recipient in batch.recipients:
        key = recipient.email.lower()
        if key in seen:
            payload.refused[recipient.email] = "listed twice in one request"
            continue
        raw = recipient.values
        substitutions = {token: escape_html(raw[key]) for key, token in html_tokens}
        substitutions.update({token: raw[key] for key, token in text_tokens})
        values = "".join(substitutions.values())
        size = token_bytes + (len(values) if values.isascii() else len(values.encode()))
        if size > MAX_SUBSTITUTION_BYTES:
            payload.refused[recipient.email] = (
                f"its fields make {size:,} bytes of substitutions, over SendGrid's "
                f"{MAX_SUBSTITUTION_BYTES:,} per recipient"
            )
            continue
        payload.size += 12 * size + 6 * len(recipient.values[UNSUBSCRIBE_URL]) + 600
        seen.add(key)
        body["personalizations"].append(
            {
                "to": [_recipient(recipient)],
                "substitutions": substitutions,
                "headers": {
                    "List-Unsubscribe": f"<{recipient.values[UNSUBSCRIBE_URL]}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            }
        )
        payload.recipients.append(recipient.email)
    if payload.size > MAX_REQUEST_BYTES:  # the bound is loose: measure what would be sent
        payload.size = len(json.dumps(body))
    if payload.size > MAX_REQUEST_BYTES:
        raise PermanentError(
            f"a request of {len(payload.recipients)} recipients would be {payload.size:,} bytes, "
            f"over SendGrid's {MAX_REQUEST_BYTES:,}: the issue or the subscribers' fields are "
            "too large"
        )
    return payload


def _json_bound(text: str) -> int:
    """At most how many bytes `json.dumps` (ASCII-escaping, as the client sends) makes
    of a string: 6 for any ASCII character (\u0001), 12 for others (surrogate pairs)."""
    return len(text) * (6 if text.isascii() else 12)


def _mailbox(address: Address) -> dict[str, str]:
    box = {"email": address.addr_spec}
    if address.display_name:
        box["name"] = _name(address.display_name)
    return box


def _recipient(recipient: Recipient) -> dict[str, str]:
    box = {"email": recipient.email}
    name = header_text(recipient.name)
    if name:
        box["name"] = _name(name)
    return box


def _name(name: str) -> str:
    """SendGrid wants a display name holding `,` or `;` wrapped in double quotes."""
    if ("," in name or ";" in name) and not (name.startswith('"') and name.endswith('"')):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name
