"""Reading another tool's subscriber export: which tool made it, and each row mapped onto
our columns (`email`, `name`, other fields) with a suppression reason where the export
says the address must not be mailed (unsubscribed, bounced, complained, blocklisted...).

Pure: it reads the one file it is given and nothing else. The formats, and where what we
know about each comes from:

- mailchimp: the audience export (a zip of one CSV per status). Columns "Email Address",
  "First Name", "Last Name", merge fields ("Address", "Phone Number", "Birthday", your
  own), then Mailchimp's bookkeeping: MEMBER_RATING, OPTIN_TIME, OPTIN_IP, CONFIRM_TIME,
  CONFIRM_IP, LATITUDE, LONGITUDE, GMTOFF, DSTOFF, TIMEZONE, CC, REGION, LEID, EUID, NOTES,
  TAGS, and by file: LAST_CHANGED (subscribed), UNSUB_TIME, UNSUB_CAMPAIGN_TITLE,
  UNSUB_CAMPAIGN_ID, UNSUB_REASON, UNSUB_REASON_OTHER (unsubscribed), CLEAN_TIME,
  CLEAN_CAMPAIGN_TITLE, CLEAN_CAMPAIGN_ID (cleaned: hard bounces, or soft ones repeated).
  Sources: Mailchimp's help pages on the export and on unsubscribed/cleaned contacts, and
  the headers of real exports as parsed in public repositories. The status is in which
  file a row is, so we read it from the columns only that file has (UNSUB_TIME,
  CLEAN_TIME). The fourth file, nonsubscribed_*, holds contacts who never opted in; its
  columns are the subscribed file's, so only its name tells it apart: it is refused.
- substack: the subscriber export (email_list.*.csv): email, active_subscription, expiry,
  plan, email_disabled, prefer_digests, created_at, first_payment_at (columns vary by
  date). Source: Ghost's migrator (TryGhost/migrate, packages/mg-substack-members-csv),
  which imports email_disabled=true as "not subscribed to emails" and skips addresses at
  deletion-request.substack.com; we do the same.
- buttondown: the subscriber export. Its status column is `subscriber_type` (the API's
  older name) or `type`; values from Buttondown's API enum (buttondown/openapi,
  enums.json: regular, premium, trialed, unpaid, gifted, churning, unactivated, paused,
  unsubscribed, spammy, removed, past_due) and its dashboard (undeliverable, churned).
  The exact CSV header we could not see in a real export: we accept `email` or
  `email_address`, `metadata` (a JSON object, flattened like listmonk's attributes),
  `tags` and `notes`.
- listmonk: the subscribers export (knadh/listmonk, cmd/subscribers.go): uuid, email,
  name, attributes (a JSON object), status (enabled, disabled, blocklisted: the
  subscriber_status enum in schema.sql), created_at, updated_at.
- csv: any CSV with an email column; every other column is a field.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience.lists import BadRow, csv_rows, parse_header
from newsletter.audience.suppressions import BOUNCED, REMOVED, SPAM_REPORT, UNSUBSCRIBED
from newsletter.errors import ListError, UsageError
from newsletter.files import open_text
from newsletter.text import squash

FORMATS = ("mailchimp", "substack", "buttondown", "listmonk", "csv")
csv.field_size_limit(1 << 20)

# Columns that are the old tool's bookkeeping (ids, IPs, ratings, timestamps, the status
# we turn into suppressions): left out of the list. Keys are normalised column names.
_MAILCHIMP_OWN = {
    "member_rating", "optin_time", "optin_ip", "confirm_time", "confirm_ip", "latitude",
    "longitude", "gmtoff", "dstoff", "timezone", "cc", "region", "last_changed", "leid",
    "euid", "unsub_time", "unsub_campaign_title", "unsub_campaign_id", "unsub_reason",
    "unsub_reason_other", "clean_time", "clean_campaign_title", "clean_campaign_id",
    "mc_location", "mc_language", "email_type",
}  # fmt: skip
_SUBSTACK_OWN = {"email_disabled", "created_at"}
_BUTTONDOWN_OWN = {
    "id", "secondary_id", "subscriber_type", "type", "status", "creation_date", "created_at",
    "subscription_date", "metadata",
}  # fmt: skip
_LISTMONK_OWN = {"uuid", "status", "attributes", "created_at", "updated_at"}
_OWN = {"mailchimp": _MAILCHIMP_OWN, "substack": _SUBSTACK_OWN,
        "buttondown": _BUTTONDOWN_OWN, "listmonk": _LISTMONK_OWN}  # fmt: skip

# Buttondown types (enums.json "SubscriberType", plus the dashboard's undeliverable and
# the older churned). Those not here are subscribers who get the newsletter.
_BUTTONDOWN_SUPPRESSED = {
    "unsubscribed": UNSUBSCRIBED,  # "voluntarily unsubscribed"
    "removed": REMOVED,  # "explicitly removed by the newsletter"
    "spammy": REMOVED,  # "deemed spammy by Buttondown's automated systems"
    "undeliverable": BOUNCED,  # the dashboard's "marked as undeliverable"
    "complained": SPAM_REPORT,
    "blocked": REMOVED,
}
# "subscribers who have not yet confirmed their email or opted in": not ours to mail.
_BUTTONDOWN_UNCONFIRMED = {"unactivated"}
_LISTMONK_SUPPRESSED = {
    # listmonk blocklists an address by hand, on unsubscribe when the "blocklist on
    # unsubscribe" setting is on, or on bounces (its bounce actions); the export does not
    # say which, so the reason is "removed" with the source naming listmonk.
    "blocklisted": REMOVED,
    # Not documented beyond being a status an admin sets; kept from mail to be safe.
    "disabled": REMOVED,
}
_EMAIL_NAMES = ("email", "email_address", "e_mail", "e_mail_address", "mail")


@dataclass(frozen=True)
class ImportedRow:
    """One usable row: a subscriber to add or update, or an address to suppress."""

    line: int
    email: str  # checked and normalised
    name: str
    fields: dict[str, str]  # our field name (snake_case) -> value, without email and name
    suppression: str | None = None  # a reason from audience/suppressions.py


@dataclass(frozen=True)
class SkippedRow:
    """A readable row we do not import on purpose (never opted in, a deletion request)."""

    line: int
    email: str
    reason: str


@dataclass
class Export:
    """A whole export, read: its format, our field names in first-seen order, and every
    row in file order (the merge needs them by address, so they are kept in memory)."""

    path: Path
    shown: str
    format: str
    fields: list[str] = field(default_factory=list)  # "name" first when any row has one
    rows: list[ImportedRow | SkippedRow | BadRow] = field(default_factory=list)

    @property
    def usable(self) -> list[ImportedRow]:
        return [r for r in self.rows if isinstance(r, ImportedRow)]

    @property
    def rejected(self) -> list[BadRow]:
        return [r for r in self.rows if isinstance(r, BadRow)]

    @property
    def skipped(self) -> list[SkippedRow]:
        return [r for r in self.rows if isinstance(r, SkippedRow)]


def field_name(column: str) -> str:
    """A column name as a field: lower case, runs of other characters as one `_`
    ("First Name" -> first_name), so templates can write subscriber.first_name."""
    return re.sub(r"[^0-9a-z]+", "_", squash(column).lower()).strip("_")


def read_export(path: Path, shown: str, fmt: str = "auto") -> Export:
    """Read the export at `path`; `fmt` is one of FORMATS or "auto" (from the header).
    A file that is not a CSV export with an email column is a ListError naming the file
    and line; a bad row is a BadRow in `rows`, never an error."""
    if fmt != "auto" and fmt not in FORMATS:
        raise UsageError(f"--from {fmt!r}: use auto, {', '.join(FORMATS)}")
    with open_text(path, shown, ListError, binary=False) as handle:
        header = parse_header(handle.readline(), shown)
        keys = [field_name(column) for column in header.cells]
        found = detect(keys) if fmt == "auto" else fmt
        if found == "mailchimp" and re.match(r"non_?subscribed", path.name, re.I):
            raise ListError(
                "a Mailchimp non-subscribed export: these contacts never opted in to email, "
                "so they are not imported",
                file=shown,
                line=1,
            )
        names = ("email_address", "email") if found == "mailchimp" else _EMAIL_NAMES
        mapper = _Mapper(found, keys, header.email_at(shown, names, keys))
        export = Export(path, shown, found)
        seen: dict[str, int] = {}
        for line, row in csv_rows(handle, header.delimiter):
            mapped: ImportedRow | SkippedRow | BadRow = (
                row if isinstance(row, BadRow) else mapper.map(line, row, seen)
            )
            export.rows.append(mapped)
    fields: dict[str, None] = {}
    if any(isinstance(r, ImportedRow) and r.name for r in export.rows):
        fields["name"] = None
    for done in export.rows:
        if isinstance(done, ImportedRow):
            fields.update(dict.fromkeys(done.fields))
    export.fields = list(fields)
    return export


def detect(keys: list[str]) -> str:
    """The format a header (normalised column names) belongs to."""
    have = set(keys)
    mailchimp_own = {"member_rating", "optin_time", "confirm_time", "leid", "euid",
                     "last_changed", "unsub_time", "clean_time"}  # fmt: skip
    if "email_address" in have and have & mailchimp_own:
        return "mailchimp"
    if "email" in have and {"uuid", "attributes", "status"} <= have:
        return "listmonk"
    if "email" in have and have & {"email_disabled", "active_subscription"}:
        return "substack"
    if have & {"email", "email_address"} and (
        "subscriber_type" in have
        or ("type" in have and have & {"creation_date", "metadata", "notes", "tags"})
    ):
        return "buttondown"
    return "csv"


class _Mapper:
    """Maps one format's rows onto ours."""

    def __init__(self, fmt: str, keys: list[str], email_at: int) -> None:
        self.fmt = fmt
        self.keys = keys
        self.email_at = email_at
        own = _OWN.get(fmt, set())
        # Mailchimp's unsubscribed and cleaned exports are told apart by their columns.
        self.mailchimp_status = (
            "cleaned" if "clean_time" in keys else "unsubscribed" if "unsub_time" in keys else ""
        )
        self.carried = [
            (at, key)
            for at, key in enumerate(keys)
            if at != email_at and key and key not in own and key != "name"
        ]

    def map(
        self, line: int, row: list[str], seen: dict[str, int]
    ) -> ImportedRow | SkippedRow | BadRow:
        if len(row) > len(self.keys) and any(cell.strip() for cell in row[len(self.keys) :]):
            return BadRow(line, f"{len(row)} values for {len(self.keys)} columns")
        cells = dict(zip(self.keys, (cell.strip() for cell in row), strict=False))
        raw = row[self.email_at].strip() if self.email_at < len(row) else ""
        if not raw:
            return BadRow(line, "missing email")
        try:
            email = normalise_address(raw)
        except BadAddress as exc:
            return BadRow(line, f"invalid address: {exc}", raw)
        if (earlier := seen.get(email.lower())) is not None:
            return BadRow(line, f"duplicate of line {earlier}", raw)
        seen[email.lower()] = line
        fields = {key: cells.get(key, "") for _, key in self.carried}
        name = squash(cells.get("name", ""))
        suppression: str | None = None
        if self.fmt == "mailchimp":
            name = name or squash(f"{cells.get('first_name', '')} {cells.get('last_name', '')}")
            suppression = self._mailchimp(cells)
        elif self.fmt == "substack":
            # email_disabled: the reader turned email off (Ghost imports these as not
            # subscribed to emails). Deletion requests are addresses Substack rewrote
            # when a reader asked to be deleted: nobody to mail.
            if email.lower().endswith("@deletion-request.substack.com"):
                return SkippedRow(line, email, "a Substack deletion request")
            if cells.get("email_disabled", "").lower() in ("true", "t", "1", "yes"):
                suppression = UNSUBSCRIBED
        elif self.fmt == "buttondown":
            kind = cells.get("subscriber_type") or cells.get("type") or cells.get("status") or ""
            kind = kind.lower().strip()
            if kind in _BUTTONDOWN_UNCONFIRMED:
                return SkippedRow(line, email, f"never confirmed (Buttondown type {kind})")
            suppression = _BUTTONDOWN_SUPPRESSED.get(kind)
            fields.update(_flatten(cells.get("metadata", ""), fields))
        elif self.fmt == "listmonk":
            suppression = _LISTMONK_SUPPRESSED.get(cells.get("status", "").lower())
            fields.update(_flatten(cells.get("attributes", ""), fields))
        return ImportedRow(line, email, name, fields, suppression)

    def _mailchimp(self, cells: dict[str, str]) -> str | None:
        if self.mailchimp_status == "cleaned":
            return BOUNCED  # "cleaned": hard bounces, or soft bounces repeated
        if self.mailchimp_status == "unsubscribed":
            # Mailchimp's own reason for an abuse complaint names spam or abuse.
            why = f"{cells.get('unsub_reason', '')} {cells.get('unsub_reason_other', '')}"
            return SPAM_REPORT if re.search(r"spam|abuse", why, re.I) else UNSUBSCRIBED
        return None


def _flatten(text: str, taken: dict[str, str]) -> dict[str, str]:
    """A JSON object's top-level scalar values as fields (nested objects and lists are
    left out: a template could not use them); a column of the file wins over a key."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        name = field_name(str(key))
        if not name or name in taken or name in ("email", "name") or name in out:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            out[name] = str(value)
    return out
