"""Suppressions as a policy: the reasons an address is never sent to again, and which
of them a subscriber may take back. (They are kept in the state:
state/suppressions.py.)"""

from __future__ import annotations

from newsletter.state.suppressions import Suppression

# Reasons, and the sources that record them.
UNSUBSCRIBED = (
    "unsubscribed"  # source: link (the confirmation page), one-click (RFC 8058), sendgrid
)
BOUNCED = "bounced"
SPAM_REPORT = "spam report"
REMOVED = "removed"  # source: manual (`subscribers remove`), or an import's own mark
# An unsubscribe through our own link may be undone through the same link; nothing
# else is (a bounce or a spam report is not the subscriber's to take back).
UNDOABLE_SOURCES = ("link", "one-click")
# What `subscribers add --resubscribe` lifts: the subscriber's own unsubscribe, or a
# manual removal.
RESUBSCRIBABLE_SOURCES = (*UNDOABLE_SOURCES, "manual")


def why_suppressed(suppression: Suppression | None) -> str | None:
    """A suppression as a reader sees it: reason (source, date)."""
    if suppression is None:
        return None
    return f"{suppression.reason} ({suppression.source}, {suppression.created_at[:10]})"
