"""The schema of the state, as named steps in order. A step's statements run in one
transaction with the row that records it, so a step is applied whole or not at all,
once, even when several processes open a new state at the same time. A state made by
a newer release (a step this one does not know) is refused, never changed.

Steps are portable SQL; `{word}` is left to the engine (engine.DIALECT).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.errors import StateError
from newsletter.state.engine import Engine


@dataclass(frozen=True)
class Step:
    name: str
    statements: tuple[str, ...]


_DELIVERY_STATES = "'pending', 'in_flight', 'sent', 'refused', 'skipped', 'ambiguous'"

STEPS: tuple[Step, ...] = (
    Step("0001_issues_deliveries_suppressions", (
        """CREATE TABLE issues (
            id TEXT PRIMARY KEY,
            list TEXT NOT NULL,
            transport TEXT NOT NULL,
            articles TEXT NOT NULL,          -- JSON: the article paths
            content TEXT NOT NULL,           -- JSON: the frozen rendered issue
            content_hash TEXT NOT NULL,      -- of the articles when the send started
            state TEXT NOT NULL CHECK (state IN ('sending', 'done')),
            created_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        """CREATE TABLE deliveries (
            issue_id TEXT NOT NULL REFERENCES issues(id),
            email_key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'sent', 'failed',
                                                 'refused', 'skipped', 'ambiguous')),
            batch INTEGER,
            message_id TEXT,
            reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (issue_id, seq),
            UNIQUE (issue_id, email_key)
        ){without_rowid}""",
        "CREATE INDEX deliveries_state ON deliveries (issue_id, state, seq)",
        """CREATE TABLE suppressions (
            email_key TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    )),
    Step("0002_schedule", (
        """CREATE TABLE schedule (
            n {auto_key},
            issue_id TEXT NOT NULL,
            list TEXT NOT NULL,
            articles TEXT NOT NULL,          -- JSON: the article paths, as given
            transport TEXT,                  -- NULL: the project's [transport] kind then
            send_at TEXT NOT NULL,           -- UTC, 'YYYY-MM-DDTHH:MM:SSZ' (sorts as text)
            given TEXT NOT NULL,             -- the time as the editor meant it, with offset
            state TEXT NOT NULL CHECK (state IN ('queued', 'started', 'cancelled', 'failed')),
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX schedule_queued ON schedule (issue_id) WHERE state = 'queued'",
        "CREATE INDEX schedule_due ON schedule (state, send_at)",
    )),
    # Per-recipient writes only at the freeze and for exceptions: a recipient row
    # without a state of its own follows the live batch covering it (or is pending),
    # see recipients.py. Issues get an integer key; deliveries lose their state index.
    Step("0003_batches", (
        """CREATE TABLE issue_keys (
            n {auto_key},
            issue_id TEXT NOT NULL UNIQUE REFERENCES issues(id),
            first_seq INTEGER NOT NULL DEFAULT 1,  -- its recipients' run of deliveries.seq
            last_seq INTEGER NOT NULL DEFAULT 0,
            recipients INTEGER NOT NULL DEFAULT 0,
            frontier INTEGER NOT NULL DEFAULT 1  -- below it, no recipient is waiting but
                                                 -- those pending alone
        )""",
        "INSERT INTO issue_keys (issue_id) SELECT id FROM issues ORDER BY created_at, id",
        """CREATE TABLE deliveries_0003 (
            seq INTEGER PRIMARY KEY,         -- the list's order: an issue's recipients
                                             -- are a run of it, written in one go
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,            -- the subscriber's row when frozen: JSON, or
                                             -- '' for just its email and name columns
            state TEXT CHECK (state IS NULL OR state IN ('pending', 'in_flight', 'sent',
                                  'failed', 'refused', 'skipped', 'ambiguous')),
                                             -- NULL: as its batch (or pending if none)
            batch INTEGER,                   -- the batch it was decided in
            message_id TEXT,
            reason TEXT,
            updated_at TEXT
            -- An address once per issue: the list reader drops duplicates, and the
            -- freeze checks. No UNIQUE (issue, email_key) index: in list order its keys
            -- come at random, and keeping it made a freeze of a million 3 s slower.
        )""",
        """INSERT INTO deliveries_0003
            SELECT row_number() OVER (ORDER BY k.n, d.seq), k.n, d.email_key, d.email,
                   d.name, d.fields, nullif(d.state, 'pending'),
                   CASE WHEN d.state = 'pending' THEN NULL ELSE d.batch END, d.message_id,
                   d.reason, d.updated_at
            FROM deliveries AS d JOIN issue_keys AS k ON k.issue_id = d.issue_id""",
        """UPDATE issue_keys SET first_seq = m.first, last_seq = m.last, recipients = m.total,
                                 frontier = m.first
            FROM (SELECT issue, min(seq) AS first, max(seq) AS last, count(*) AS total
                  FROM deliveries_0003 GROUP BY issue) AS m
            WHERE m.issue = issue_keys.n""",
        "DROP TABLE deliveries",
        "ALTER TABLE deliveries_0003 RENAME TO deliveries",
        """CREATE INDEX deliveries_alone ON deliveries (issue, state, batch)
            WHERE state IS NOT NULL""",
        """CREATE TABLE batches (
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            number INTEGER NOT NULL,
            first_seq INTEGER NOT NULL,      -- the stretch of the list it covers
            last_seq INTEGER NOT NULL,
            size INTEGER NOT NULL,           -- its recipients not decided alone since
            state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'ambiguous',
                                                 'released')),
            message_id TEXT,                 -- the provider's id for the whole batch
            reason TEXT,
            claimed_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (issue, number)
        ){without_rowid}""",
        "CREATE INDEX batches_live ON batches (issue, first_seq) WHERE state != 'released'",
    )),
    Step("0004_sync_cursors", (
        """CREATE TABLE sync_cursors (
            source TEXT PRIMARY KEY,         -- e.g. 'sendgrid bounces'
            synced_until INTEGER NOT NULL,   -- Unix time: pulled up to here
            updated_at TEXT NOT NULL
        )""",
    )),
    # Queued with --force: cron sends it even if `check` finds errors at send time.
    Step("0005_schedule_force", (
        "ALTER TABLE schedule ADD COLUMN force INTEGER NOT NULL DEFAULT 0",
    )),
    # An issue whose cron send keeps failing is tried less and less often.
    Step("0006_cron_backoff", (
        """CREATE TABLE cron_backoff (
            issue_id TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            retry_at TEXT NOT NULL,          -- UTC, 'YYYY-MM-DDTHH:MM:SSZ'
            updated_at TEXT NOT NULL
        )""",
    )),
    # Nothing ever wrote a recipient or a schedule entry 'failed' (a recipient the
    # server would not take is 'refused'; an entry that cannot be sent yet stays
    # queued with its reason): the word goes from both tables, each rebuilt with the
    # states that exist. Any such row would become refused, or cancelled.
    Step("0007_no_failed_state", (
        f"""CREATE TABLE deliveries_0007 (
            seq INTEGER PRIMARY KEY,
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,
            state TEXT CHECK (state IS NULL OR state IN ({_DELIVERY_STATES})),
            batch INTEGER,
            message_id TEXT,
            reason TEXT,
            updated_at TEXT
        )""",
        """INSERT INTO deliveries_0007
            SELECT seq, issue, email_key, email, name, fields,
                   CASE WHEN state = 'failed' THEN 'refused' ELSE state END, batch,
                   message_id, reason, updated_at
            FROM deliveries ORDER BY seq""",
        "DROP TABLE deliveries",
        "ALTER TABLE deliveries_0007 RENAME TO deliveries",
        """CREATE INDEX deliveries_alone ON deliveries (issue, state, batch)
            WHERE state IS NOT NULL""",
        """CREATE TABLE schedule_0007 (
            n {auto_key},
            issue_id TEXT NOT NULL,
            list TEXT NOT NULL,
            articles TEXT NOT NULL,
            transport TEXT,
            send_at TEXT NOT NULL,
            given TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'started', 'cancelled')),
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            force INTEGER NOT NULL DEFAULT 0
        )""",
        """INSERT INTO schedule_0007
            SELECT n, issue_id, list, articles, transport, send_at, given,
                   CASE WHEN state = 'failed' THEN 'cancelled' ELSE state END, reason,
                   created_at, updated_at, force
            FROM schedule ORDER BY n""",
        "DROP TABLE schedule",
        "ALTER TABLE schedule_0007 RENAME TO schedule",
        "CREATE UNIQUE INDEX schedule_queued ON schedule (issue_id) WHERE state = 'queued'",
        "CREATE INDEX schedule_due ON schedule (state, send_at)",
    )),
    # a cron send killed before it marked its entry left the issue queued and sending
    # at once: an issue in the ledger is not queued
    Step("0008_frozen_issues_are_not_queued", (
        """UPDATE schedule SET state = 'started'
            WHERE state = 'queued' AND issue_id IN (SELECT id FROM issues)""",
    )),
    # the signing key lives with the state, so every host sharing it verifies the links
    Step("0009_secrets", (
        """CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    )),
    # what the state is: its id, recorded in the project's newsletter.toml, so a
    # checkout that reaches another state (or a new one) does not send from it
    Step("0010_state_meta", (
        """CREATE TABLE state_meta (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    )),
    # who claimed each batch: with the state shared, several runs send one issue at
    # once, and a run starting (or ending) holds as ambiguous only the batches of runs
    # that are gone, never those another live run has in flight
    Step("0011_claims", (
        """CREATE TABLE claims (
            issue INTEGER NOT NULL REFERENCES issue_keys(n),
            number INTEGER NOT NULL,         -- the batch (batches.number, deliveries.batch)
            owner TEXT NOT NULL,             -- the run that claimed it (Claimant.name)
            claimed_at TEXT NOT NULL,
            PRIMARY KEY (issue, number)
        ){without_rowid}""",
    )),
    # Queued with --subject or --number: what the send at its time renders with (JSON).
    Step("0012_schedule_options", (
        "ALTER TABLE schedule ADD COLUMN options TEXT NOT NULL DEFAULT '{{}}'",
    )),
    # who an issue was sent to when more than one list says it (--list twice,
    # --exclude-list, --where, --segment, --not-sent): JSON, as the send was given it
    # and as shown; NULL for an issue sent to its list alone (the `list` column)
    Step("0013_issue_audience", (
        "ALTER TABLE issues ADD COLUMN audience TEXT",
    )),
    # A suppression lifted (`subscribers suppressions lift`, `add --resubscribe`) is
    # kept as a record: what it was, when it was lifted, by which command and why. An
    # address asked to be forgotten is a suppression of its keyed hash (reason
    # 'forgotten'): the partial index finds them at once, so a send, an import or an
    # add asks "is anyone forgotten?" for nothing when nobody is.
    Step("0014_suppression_lifts", (
        """CREATE TABLE suppression_lifts (
            email_key TEXT NOT NULL,         -- lower case; a forgotten address's hash
            email TEXT NOT NULL,
            reason TEXT NOT NULL,            -- the suppression lifted: its reason,
            source TEXT NOT NULL,            -- its source
            suppressed_at TEXT NOT NULL,     -- and when it was recorded
            lifted_at TEXT NOT NULL,
            lifted_by TEXT NOT NULL,         -- the command: 'lift', 'lift --force',
                                             -- 'add --resubscribe'
            lift_reason TEXT NOT NULL,       -- why, in the editor's words
            PRIMARY KEY (email_key, lifted_at)
        ){without_rowid}""",
        "CREATE INDEX suppressions_forgotten ON suppressions (reason) WHERE reason = 'forgotten'",
    )),
    # The web's signups (double opt-in): a pending signup waits for its confirmation
    # link; a confirmed one is part of its list for every send until it is pulled into
    # the list's file. The evidence of consent is kept with it. The lists readers left
    # on the preferences page. Rate limits count requests per client and per address
    # in fixed windows.
    Step("0015_signups", (
        """CREATE TABLE signups (
            n {auto_key},
            list TEXT NOT NULL,
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            fields TEXT NOT NULL,            -- JSON: the form's other fields (name, ...)
            state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'pulled')),
            form TEXT NOT NULL,              -- where it was asked: 'page', or a site's origin
            client TEXT NOT NULL,            -- a keyed hash of the client's address
            asked_at TEXT NOT NULL,
            mail_due INTEGER NOT NULL DEFAULT 1,  -- a confirmation mail is to be sent
            mail_claimed_at TEXT,            -- a mailer took it (another may after a while)
            mailed_at TEXT,
            mail_error TEXT,                 -- why the transport refused it
            confirmed_at TEXT,
            confirmed_client TEXT,           -- a keyed hash of the confirming client
            lifted TEXT,                     -- the suppression the confirmation lifted
            pulled_at TEXT,
            welcome_due INTEGER NOT NULL DEFAULT 0,  -- confirmed with [lists.NAME] welcome set
            welcome_issue TEXT,              -- the welcome issue it was put in
            UNIQUE (list, email_key)
        )""",
        "CREATE INDEX signups_mail ON signups (mail_due, asked_at) WHERE mail_due = 1",
        """CREATE TABLE list_leaves (
            list TEXT NOT NULL,
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            source TEXT NOT NULL,            -- where: 'preferences'
            created_at TEXT NOT NULL,
            PRIMARY KEY (list, email_key)
        )""",
        """CREATE TABLE rate_limits (
            bucket TEXT PRIMARY KEY,         -- what is counted: a client's or an address's hash
            since INTEGER NOT NULL,          -- Unix time its window began
            hits INTEGER NOT NULL
        )""",
    )),
    # After the send: each provider event kept once (its id), what became of each
    # recipient's accepted copy (the furthest state its events reached, never back),
    # and the opens and clicks of an issue when [tracking] counts them (per link; per
    # recipient only with per_subscriber, in fates).
    Step("0016_events", (
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,             -- the source's own (SendGrid's sg_event_id)
            source TEXT NOT NULL,            -- sendgrid | dsn
            issue INTEGER NOT NULL,          -- issue_keys.n
            seq INTEGER NOT NULL,            -- the recipient (deliveries.seq)
            kind TEXT NOT NULL,              -- SendGrid's event name
            at INTEGER NOT NULL,             -- Unix time it happened
            recorded_at TEXT NOT NULL
        ){without_rowid}""",
        """CREATE TABLE fates (
            seq INTEGER PRIMARY KEY,         -- the recipient (deliveries.seq)
            issue INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('deferred', 'delivered', 'dropped',
                                   'bounced', 'unsubscribed', 'spam report')),
            bounce TEXT,                     -- hard | soft, when bounced
            reason TEXT,                     -- the provider's words for that state
            delivered_at INTEGER,            -- Unix time of its first delivery
            deferrals INTEGER NOT NULL DEFAULT 0,
            opens INTEGER NOT NULL DEFAULT 0,      -- with [tracking] per_subscriber only
            machine_opens INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            machine_clicks INTEGER NOT NULL DEFAULT 0,
            at INTEGER NOT NULL,             -- Unix time of the event that set the state
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX fates_issue ON fates (issue, state)",
        """CREATE TABLE engagement (
            issue INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('open', 'click')),
            url TEXT NOT NULL,               -- a click's link; '' for opens
            people INTEGER NOT NULL,
            machines INTEGER NOT NULL,       -- image proxies, link scanners
            PRIMARY KEY (issue, kind, url)
        ){without_rowid}""",
    )),
)  # fmt: skip


def migrate(engine: Engine, steps: tuple[Step, ...] = STEPS) -> list[str]:
    """Apply the steps not applied yet, in order; returns their names."""
    if "migrations" not in engine.tables():  # a role that may only read must not CREATE
        engine.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
    done = {row[0] for row in engine.all("SELECT name FROM migrations")}
    known = {step.name for step in steps}
    if done - known:
        newer = ", ".join(sorted(done - known))
        raise StateError(
            f"made by a newer version of newsletter (migrations {newer}); upgrade it",
            file=engine.where,
        )
    applied = []
    for step in steps:
        if step.name in done:
            continue
        with engine.transaction():  # another process may have applied it meanwhile
            if engine.one("SELECT 1 FROM migrations WHERE name = ?", (step.name,)):
                continue
            for statement in step.statements:
                engine.execute(statement)
            engine.execute(
                "INSERT INTO migrations VALUES (?, ?)",
                (step.name, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")),
            )
        applied.append(step.name)
    return applied
