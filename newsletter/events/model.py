"""One delivery event, as every source of them is read into: SendGrid's Event Webhook
(webhook.py), an SMTP delivery status notification (dsn.py). What it means for the
recipient's state is record.py's."""

from __future__ import annotations

from dataclasses import dataclass

# SendGrid's event names, which the other sources use too
DELIVERY = ("processed", "delivered", "deferred", "bounce", "dropped")
COMPLAINTS = ("spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe")
ENGAGEMENT = ("open", "click")
KINDS = DELIVERY + COMPLAINTS + ENGAGEMENT


@dataclass(frozen=True, slots=True)
class Event:
    """What a provider said of one recipient's copy.

    id: unique per event at its source (SendGrid's sg_event_id; a DSN's is made from
    its own Message-ID and the recipient), so an event repeated is recorded once.
    kind: one of KINDS. at: Unix time it happened. issue: the issue's id (SendGrid's
    custom arg; a DSN's X-Newsletter-Issue), recipient: the ledger's number of the
    recipient (the custom arg `r`) when the source carries it. message_id: the
    provider's id of the copy (sg_message_id, which begins with the request's
    X-Message-Id; a DSN's original Message-ID). bounce: "hard" or "soft" for a bounce.
    reason: the provider's words. url: a click's link. machine: the provider says a
    machine did it (SendGrid's sg_machine_open)."""

    id: str
    kind: str
    email: str
    at: int
    issue: str | None = None
    recipient: int | None = None
    message_id: str | None = None
    bounce: str = ""
    reason: str = ""
    url: str = ""
    machine: bool = False
    source: str = "sendgrid"  # sendgrid | dsn
