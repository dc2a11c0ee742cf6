"""Signing up from the web, with a double opt-in that mail scanners cannot fake.

    ask      a form's request: counted against the client's and the address's rate
             limits, then recorded as a pending signup with a confirmation mail due
             (audience/confirmations.py sends it). The web answers the same whatever
             became of it: a known, an unknown, a suppressed address look alike.
    look     what a confirmation link says (its GET: nothing changes)
    confirm  the link's button (its POST): pending -> confirmed, once; an address
             that had unsubscribed (or asked to be forgotten) is subscribed again
             through this path only (its reader's own request), and the lift is
             recorded with the signup and among the suppressions' lifts

A link is opaque: the signup's number, when it expires, and an HMAC over those, the
list and the address (signing.py's tokens); the state resolves the number. A
forged, altered or cross-list link is refused; an expired one says so.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

from newsletter.audience.suppressions import UNSUBSCRIBED, forgotten, why_suppressed
from newsletter.project import Project
from newsletter.state.signups import PENDING, Signup

_DIGITS = re.compile(r"[0-9]{1,12}")
HOUR = 3600
MAX_EMAIL = 254  # RFC 5321's longest path, in characters
MAX_FIELD = 200  # any other field, in characters
FORM_PAGE = "page"  # the project's own form (else the posting site's origin)
LIFTED_BY = "signup confirmed"  # what the lift of a suppression by a confirmation says


@dataclass(frozen=True)
class Asked:
    limited: str | None = None  # "client" or "address": over its rate limit (429)
    recorded: bool = False  # a confirmation mail is due


def ask(
    project: Project,
    list_name: str,
    email: str,
    fields: dict[str, str],
    form: str,
    client_address: str,
    record: bool = True,
) -> Asked:
    """Take a signup of `email` (normalised) to `list_name` from `form`. Whatever the
    address is, the answer is the same unless a rate limit is reached: an address
    suppressed for a reason its reader cannot take back here (a bounce, a spam
    report, a removal by the editor) is not recorded and gets no mail. Without
    `record` (a bot: the honeypot filled), it counts against the limits only. A
    confirmed signup is asked again (a new mail) when its reader has unsubscribed or
    left the list since: coming back is theirs to confirm."""
    state, now = project.state, project.clock.now()
    limits = project.settings.signup
    bucket = client_hash(project, client_bucket(client_address))
    if state.signups.hit(f"client:{bucket}", now, HOUR) > limits.client_limit:
        return Asked("client")
    client = client_hash(project, client_address)  # the evidence: this client
    address = project.signer.token("address", mailbox(email))
    if state.signups.hit(f"address:{address}", now, HOUR) > limits.address_limit:
        return Asked("address")
    found = state.suppressions.get(email)
    if not record or (found is not None and found.reason != UNSUBSCRIBED):
        return Asked()
    again = found is not None or email.lower() in state.leaves.keys(list_name)
    signup = state.signups.ask(list_name, email, fields, form, client, now, again=again)
    return Asked(recorded=signup.state == PENDING)


def client_bucket(address: str) -> str:
    """What one client is, for the rate limit: its IPv4 address, or its IPv6 /64 (a
    host holds a whole /64 and may take any address in it)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def mailbox(email: str) -> str:
    """The mailbox an address reaches, for the address limit: lower case, without a
    +tag (name+1@, name+2@ ... are one inbox to flood)."""
    local, _, domain = email.lower().rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def client_hash(project: Project, client_address: str) -> str:
    """The client's address as the state keeps it: a keyed hash (the same client
    hashes alike, and nobody without the key can tell which it was)."""
    return project.signer.token("client", client_address)


def confirm_token(project: Project, signup: Signup, expires: int) -> str:
    mac = project.signer.token("signup", signup.list_name, str(signup.n), signup.email_key,
                               str(expires))  # fmt: skip
    return f"{signup.n}.{expires}.{mac}"


def confirm_url(project: Project, signup: Signup, now: datetime) -> str:
    """The signup's link, valid for [signup] confirm_hours from `now`."""
    hours = project.settings.signup.confirm_hours
    expires = int((now + timedelta(hours=hours)).timestamp())
    return urljoin(
        pages_url(project),
        f"subscribe/{signup.list_name}/confirm?t={confirm_token(project, signup, expires)}",
    )


def pages_url(project: Project) -> str:
    """Where the audience's pages are: beside the unsubscribe link's path."""
    return urljoin(project.settings.unsubscribe.url, ".")


BAD, EXPIRED, AGAIN, SUPPRESSED, READY, CONFIRMED = (
    "bad", "expired", "again", "suppressed", "ready", "confirmed",
)  # fmt: skip


@dataclass(frozen=True)
class Looked:
    outcome: str  # one of the above
    signup: Signup | None = None
    why: str | None = None  # the suppression that keeps it off (SUPPRESSED)


def look(project: Project, list_name: str, token: str) -> Looked:
    """What a confirmation link says, changing nothing."""
    number, expires, mac = [*token.split("."), "", ""][:3]
    if not (_DIGITS.fullmatch(number) and _DIGITS.fullmatch(expires)):
        return Looked(BAD)
    signup = project.state.signups.by_number(int(number))
    if signup is None or signup.list_name != list_name:
        return Looked(BAD)
    if not project.signer.check_token(mac, "signup", list_name, number, signup.email_key,
                                      expires):  # fmt: skip
        return Looked(BAD)
    if signup.state != PENDING:
        return Looked(AGAIN, signup)
    if int(expires) < project.clock.now().timestamp():
        return Looked(EXPIRED, signup)
    found = project.state.suppressions.get(signup.email)
    if found is not None and found.reason != UNSUBSCRIBED:
        return Looked(SUPPRESSED, signup, why_suppressed(found))
    return Looked(READY, signup)


def confirm(project: Project, list_name: str, token: str, client_address: str) -> Looked:
    """The link's button: the signup confirmed, once (a second press, or two at
    once, finds it confirmed: AGAIN). An unsubscribe of the address is lifted with
    it, and recorded on the signup."""
    state, now = project.state, project.clock.now()
    looked = look(project, list_name, token)
    if looked.outcome != READY or looked.signup is None:
        return looked
    signup = looked.signup
    why = f"the reader confirmed a signup to list {list_name}"
    found = state.suppressions.lift(signup.email, LIFTED_BY, why, now)  # an unsubscribe
    if signup.email in forgotten(project):  # asked to be forgotten once, back by consent
        hashed = state.suppressions.lift(project.address_hash(signup.email), LIFTED_BY, why,
                                         now)  # fmt: skip
        found = found or hashed
    state.leaves.remove(list_name, signup.email)  # left the list before: back on it
    client = client_hash(project, client_address)
    welcome = bool(project.settings.list_settings(list_name).welcome)
    if not state.signups.confirm(signup.n, client, why_suppressed(found), now, welcome):
        return Looked(AGAIN, signup)  # pressed twice at once: the other press did it
    return Looked(CONFIRMED, state.signups.by_number(signup.n))
