"""Signups from the web (double opt-in): one row per list and address. A signup is
*pending* until its confirmation link is used, then *confirmed* (part of its list for
every send, `subscribers list`, `check` and `preview`), then *pulled* once
`subscribers pull` has written it into the list's file (the file is the truth again).
The evidence of consent stays with the row: when and where it was asked, a keyed hash
of the client's address, when it was confirmed and from where, and a suppression the
confirmation lifted. The confirmation mail is sent by whoever claims it first (a
mailer thread of `serve`, or `cron`), compare-and-set.

Also the rate limits: requests counted per bucket (a client's or an address's keyed
hash) in fixed windows, one statement each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newsletter.articles.issue import welcome_issue_id
from newsletter.state.engine import Engine

PENDING, CONFIRMED, PULLED = "pending", "confirmed", "pulled"
_COLUMNS = (
    "n, list, email_key, email, fields, state, form, client, asked_at, mailed_at, "
    "mail_error, confirmed_at, lifted, pulled_at"
)


@dataclass(frozen=True)
class Signup:
    n: int
    list_name: str
    email_key: str
    email: str
    fields: dict[str, str] = field(default_factory=dict)
    state: str = PENDING
    form: str = "page"
    client: str = ""
    asked_at: str = ""
    mailed_at: str | None = None
    mail_error: str | None = None
    confirmed_at: str | None = None
    lifted: str | None = None
    pulled_at: str | None = None

    @classmethod
    def of(cls, row: tuple[object, ...]) -> Signup:
        n, list_name, key, email, fields_, state, form, client, *rest = row
        asked, mailed, error, confirmed, lifted, pulled = rest
        return cls(int(str(n)), str(list_name), str(key), str(email), json.loads(str(fields_)),
                   str(state), str(form), str(client), str(asked), _text(mailed), _text(error),
                   _text(confirmed), _text(lifted), _text(pulled))  # fmt: skip

    def data(self) -> dict[str, object]:
        return {"list": self.list_name, "email": self.email, "fields": self.fields,
                "state": self.state, "form": self.form, "client_hash": self.client,
                "asked_at": self.asked_at, "confirmation_mailed_at": self.mailed_at,
                "confirmation_error": self.mail_error, "confirmed_at": self.confirmed_at,
                "lifted": self.lifted, "pulled_at": self.pulled_at}  # fmt: skip


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class Signups:
    """The signups table, and the rate limits."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ask(
        self,
        list_name: str,
        email: str,
        fields: dict[str, str],
        form: str,
        client: str,
        now: datetime,
        mail: bool = True,
        again: bool = False,
    ) -> Signup:
        """Record a signup as pending, with a confirmation mail due (unless `mail` is
        False). One already pending is asked again (its fields, form and client made
        the latest; the mail due again); a confirmed or pulled one is left alone,
        unless `again` (its reader unsubscribed or left since: pending anew, its
        earlier confirmation kept until the new one replaces it)."""
        stamp = now.isoformat()
        with self.engine.transaction():
            self.engine.execute(
                "INSERT INTO signups (list, email_key, email, fields, state, form, client, "
                "asked_at, mail_due) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?) "
                "ON CONFLICT (list, email_key) DO UPDATE SET email = excluded.email, "
                "fields = excluded.fields, form = excluded.form, client = excluded.client, "
                "asked_at = excluded.asked_at, mail_due = excluded.mail_due, "
                "mail_claimed_at = NULL, mail_error = NULL, state = 'pending' "
                "WHERE signups.state = 'pending' OR ?",
                (list_name, email.lower(), email, json.dumps(fields, ensure_ascii=False), form,
                 client, stamp, int(mail), again),
            )  # fmt: skip
            found = self.get(list_name, email)
        assert found is not None
        return found

    def get(self, list_name: str, email: str) -> Signup | None:
        row = self.engine.one(
            f"SELECT {_COLUMNS} FROM signups WHERE list = ? AND email_key = ?",
            (list_name, email.lower()),
        )
        return Signup.of(row) if row else None

    def by_number(self, n: int) -> Signup | None:
        row = self.engine.one(f"SELECT {_COLUMNS} FROM signups WHERE n = ?", (n,))
        return Signup.of(row) if row else None

    def confirm(
        self, n: int, client: str, lifted: str | None, now: datetime, welcome: bool = False
    ) -> bool:
        """Pending -> confirmed (compare-and-set: True only for the request that did it);
        `welcome`: its list's welcome issue is to be sent to it."""
        return (
            self.engine.changed(
                "UPDATE signups SET state = 'confirmed', confirmed_at = ?, confirmed_client = ?, "
                "lifted = ?, mail_due = 0, welcome_due = ? WHERE n = ? AND state = 'pending'",
                (now.isoformat(), client, lifted, int(welcome), n),
            )
            == 1
        )

    # --- the welcome issues ---

    def welcome_groups(self, list_name: str) -> dict[str, list[Signup]]:
        """The list's signups put in a welcome issue that is still to be frozen, by its
        id; then those confirmed since, put in a new one (named after the first of
        them), in the caller's transaction (so two runs never split a group)."""
        groups: dict[str, list[Signup]] = {}
        rows = self.engine.all(
            f"SELECT {_COLUMNS}, welcome_issue FROM signups WHERE list = ? AND welcome_due = 1 "
            "ORDER BY n",
            (list_name,),
        )
        fresh = [Signup.of(row[:-1]) for row in rows if row[-1] is None]
        for row in rows:
            if row[-1] is not None:
                groups.setdefault(str(row[-1]), []).append(Signup.of(row[:-1]))
        if fresh:
            issue_id = welcome_issue_id(list_name, fresh[0].n)
            self.engine.executemany(
                "UPDATE signups SET welcome_issue = ? WHERE n = ? AND welcome_issue IS NULL",
                ((issue_id, s.n) for s in fresh),
            )
            groups[issue_id] = fresh
        return groups

    def welcomed(self, issue_id: str) -> None:
        """Its welcome issue is frozen (the ledger sends it from there)."""
        self.engine.execute(
            "UPDATE signups SET welcome_due = 0 WHERE welcome_issue = ?", (issue_id,)
        )

    def confirmed(self, list_name: str) -> Iterator[Signup]:
        """The list's confirmed signups not yet pulled into its file, in order."""
        for row in self.engine.stream(
            f"SELECT {_COLUMNS} FROM signups WHERE list = ? AND state = 'confirmed' ORDER BY n",
            (list_name,),
        ):
            yield Signup.of(row)

    def pulled(self, numbers: list[int], now: datetime) -> None:
        with self.engine.transaction():
            self.engine.executemany(
                "UPDATE signups SET state = 'pulled', pulled_at = ? WHERE n = ? "
                "AND state = 'confirmed'",
                ((now.isoformat(), n) for n in numbers),
            )

    def of_address(self, email: str) -> list[Signup]:
        rows = self.engine.all(
            f"SELECT {_COLUMNS} FROM signups WHERE email_key = ? ORDER BY n", (email.lower(),)
        )
        return [Signup.of(row) for row in rows]

    # --- the confirmation mails ---

    def claim_mail(self, now: datetime, stale: timedelta, limit: int = 50) -> list[Signup]:
        """Pending signups whose confirmation mail is due and that no mailer holds (or
        one held longer than `stale`: a mailer that died), claimed for this one."""
        before = (now - stale).isoformat()
        rows = self.engine.all(
            f"SELECT {_COLUMNS} FROM signups WHERE mail_due = 1 AND state = 'pending' AND "
            "(mail_claimed_at IS NULL OR mail_claimed_at < ?) ORDER BY asked_at LIMIT ?",
            (before, limit),
        )
        claimed = []
        for row in rows:
            signup = Signup.of(row)
            if self.engine.changed(
                "UPDATE signups SET mail_claimed_at = ? WHERE n = ? AND mail_due = 1 AND "
                "(mail_claimed_at IS NULL OR mail_claimed_at < ?)",
                (now.isoformat(), signup.n, before),
            ):
                claimed.append(signup)
        return claimed

    def mailed(self, n: int, now: datetime, error: str | None = None) -> None:
        """Its mail handed over (or refused for good, `error`): not due any more."""
        self.engine.execute(
            "UPDATE signups SET mail_due = 0, mail_claimed_at = NULL, mailed_at = ?, "
            "mail_error = ? WHERE n = ?",
            (None if error else now.isoformat(), error, n),
        )

    def release_mail(self, n: int) -> None:
        """Not sent (a transient failure): any mailer may take it again."""
        self.engine.execute("UPDATE signups SET mail_claimed_at = NULL WHERE n = ?", (n,))

    # --- rate limits ---

    def hit(self, bucket: str, now: datetime, window: int) -> int:
        """Count a request in `bucket`'s current window of `window` seconds; returns the
        window's count so far, this one included. Windows long gone are cleared."""
        start = int(now.timestamp()) // window * window
        with self.engine.transaction():
            self.engine.execute("DELETE FROM rate_limits WHERE since < ?", (start - window,))
            self.engine.execute(
                "INSERT INTO rate_limits (bucket, since, hits) VALUES (?, ?, 1) "
                "ON CONFLICT (bucket) DO UPDATE SET hits = CASE WHEN rate_limits.since = "
                "excluded.since THEN rate_limits.hits + 1 ELSE 1 END, since = excluded.since",
                (bucket, start),
            )
            return int(
                self.engine.value("SELECT hits FROM rate_limits WHERE bucket = ?", (bucket,))
            )
