"""Suppressions as a policy: the reasons an address is never sent to again, which of
them a subscriber may take back and which the editor may lift (`subscribers
suppressions lift`), and who was forgotten. (They are kept in the state:
state/suppressions.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import Subscriber
from newsletter.audience.rows import find_members, list_rows
from newsletter.errors import SubscriberError, UsageError
from newsletter.project import Project
from newsletter.signing import FORGOTTEN_PREFIX, AddressHash
from newsletter.state.suppressions import FORGOTTEN, Suppression

# Reasons, and the sources that record them.
UNSUBSCRIBED = (
    "unsubscribed"  # source: link (the confirmation page), one-click (RFC 8058), sendgrid
)
BOUNCED = "bounced"
SPAM_REPORT = "spam report"
REMOVED = "removed"  # source: manual (`subscribers remove`), or an import's own mark
# FORGOTTEN (state/suppressions.py): source forget (`subscribers forget`); the address
# is its keyed hash
# An unsubscribe through our own link may be undone through the same link; nothing
# else is (a bounce or a spam report is not the subscriber's to take back).
UNDOABLE_SOURCES = ("link", "one-click")
# What `subscribers add --resubscribe` lifts: the subscriber's own unsubscribe, or a
# manual removal.
RESUBSCRIBABLE_SOURCES = (*UNDOABLE_SOURCES, "manual")
# What `subscribers suppressions lift` lifts without --force: a reader's own wish to
# leave (from any source) or an editor's removal. Everything else (a bounce, a spam
# report, SendGrid's blocks and invalid addresses, a forgotten address) says the
# address must not be written to, whatever the editor wishes: only --force lifts it.
LIFTABLE_REASONS = (UNSUBSCRIBED, REMOVED)


def why_suppressed(suppression: Suppression | None) -> str | None:
    """A suppression as a reader sees it: reason (source, date)."""
    if suppression is None:
        return None
    return f"{suppression.reason} ({suppression.source}, {suppression.created_at[:10]})"


def needs_force(suppression: Suppression) -> bool:
    return suppression.reason not in LIFTABLE_REASONS


def _why_force(suppression: Suppression) -> str:
    if suppression.reason == FORGOTTEN:
        return "it asked to be forgotten; --force lifts it only if that person asked to come back"
    return ("such a suppression is lifted only with --force: mail to an address that "
            "bounced, is blocked or invalid, or complained harms the delivery of every later "
            "send; --force lifts it when you know the address works again and its owner "
            "wants the newsletter")  # fmt: skip


# --- who was forgotten ---


class Forgotten:
    """The addresses asked to be forgotten, as their keyed hashes: `email in forgotten`
    says whether an address is one of them. Costs nothing when nobody was forgotten
    (the usual case), one keyed hash per address asked otherwise."""

    def __init__(self, hashes: frozenset[str], hasher: AddressHash | None) -> None:
        self.hashes = hashes
        self.hasher = hasher

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def __contains__(self, email: object) -> bool:
        if not self.hashes or self.hasher is None or not isinstance(email, str):
            return False
        return self.hasher(email) in self.hashes


def forgotten(project: Project) -> Forgotten:
    """The project's forgotten addresses (one indexed read of the state)."""
    hashes = project.state.suppressions.forgotten()
    return Forgotten(hashes, project.address_hash if hashes else None)


def refuse_forgotten(project: Project, address: str, what: str) -> None:
    """An error when `address` asked to be forgotten: `what` (add it, import it...)
    would bring it back."""
    if address in forgotten(project):
        raise SubscriberError(
            f"asked to be forgotten (subscribers forget): {what} would bring it back; "
            "nothing changed",
            recipient=address,
        )


# --- listing and lifting ---


@dataclass
class SuppressionListed:
    """A suppression, with the lists whose files still have the address."""

    suppression: Suppression
    lists: list[str] = field(default_factory=list)

    def data(self) -> dict[str, object]:
        return {**self.suppression.data(), "forgotten": self.suppression.reason == FORGOTTEN,
                "lists": self.lists}  # fmt: skip


def listing(
    project: Project, reason: str | None = None, source: str | None = None
) -> list[SuppressionListed]:
    """Every suppression (of `reason` and `source`, when given), oldest first, each
    with the lists it is on (every list read once)."""
    found = [
        SuppressionListed(s)
        for s in project.state.suppressions.all()
        if (reason is None or s.reason == reason) and (source is None or s.source == source)
    ]
    by_key = {item.suppression.email.lower(): item for item in found}
    hashed = {
        item.suppression.email: item for item in found if item.suppression.reason == FORGOTTEN
    }
    hasher = project.address_hash if hashed else None
    for name in project.list_names():
        for row in list_rows(project, name):
            if not isinstance(row, Subscriber):
                continue
            item = by_key.get(row.key) or (hashed.get(hasher(row.key)) if hasher else None)
            if item is not None and name not in item.lists:
                item.lists.append(name)
    return found


def address_of(email: str) -> str:
    """EMAIL as given to a command about one address: normalised, or a forgotten
    address's hash as `subscribers suppressions` shows it."""
    if email.strip().lower().startswith(FORGOTTEN_PREFIX):
        return email.strip().lower()
    try:
        return normalise_address(email)
    except BadAddress as exc:
        raise UsageError(f"EMAIL {email!r}: not a valid address: {exc}") from None


def find(project: Project, address: str) -> Suppression | None:
    """The suppression of an address: its own, or its hash's when it was forgotten."""
    suppressions = project.state.suppressions
    found = suppressions.get(address)
    if found is None and "@" in address and address in forgotten(project):
        found = suppressions.get(project.address_hash(address))
    return found


@dataclass
class Lifted:
    suppression: Suppression  # what was lifted
    forced: bool
    lists: list[str]  # the lists whose files have the address (sends reach it again)


def lift(project: Project, email: str, why: str, force: bool = False) -> Lifted:
    """Lift an address's suppression, keeping a record of it (what, when, `why`).
    A reader's own unsubscribe or a removal is lifted as asked; a bounce, a spam
    report, a block, an invalid or a forgotten address only with `force`."""
    if not why.strip():
        raise UsageError("--reason '': say why the suppression is lifted (it is kept with it)")
    address = address_of(email)
    found = find(project, address)
    if found is None:
        raise SubscriberError("is not suppressed: nothing to lift", recipient=address)
    if needs_force(found) and not force:
        raise SubscriberError(
            f"{why_suppressed(found)}: {_why_force(found)}; nothing changed", recipient=address
        )
    by = "lift --force" if needs_force(found) else "lift"
    lifted = project.state.suppressions.lift(found.email, by, why.strip(), project.clock.now())
    if lifted is None:  # lifted by another command meanwhile
        raise SubscriberError("is not suppressed: nothing to lift", recipient=address)
    lists = [] if "@" not in address else on_lists(project, address)
    return Lifted(lifted, needs_force(found), lists)


def on_lists(project: Project, address: str) -> list[str]:
    """The lists whose files have the address."""
    return [n for n in project.list_names() if find_members(project, n, [address])]
