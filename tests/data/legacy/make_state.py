"""How tests/data/legacy/state.db was made: run once, at commit 37c8ae5 (the release
before the package was regrouped), with that commit's code on the path:

    .venv/bin/python tests/data/legacy/make_state.py

It is kept as a record, not run by the tests (later code has other module names).
The file holds every kind of row that release wrote: a finished issue, an issue
stopped half way (accepted, refused, skipped, ambiguous, pending, a batch left in
flight), a cancelled send, queued and cancelled schedule entries (one with --force),
suppressions from every source, SendGrid sync cursors and a cron back-off.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from newsletter.compose import compose  # noqa: E402
from newsletter.ledger import Ledger  # noqa: E402
from newsletter.queue import Backoff, Queue  # noqa: E402

from newsletter.audience.lists import Subscriber  # noqa: E402
from newsletter.audience.suppressions import Suppressions  # noqa: E402
from newsletter.clock import FixedClock  # noqa: E402
from newsletter.project import Project  # noqa: E402

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def main() -> None:
    work = Path(tempfile.mkdtemp())
    root = work / "project"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root)
    for folder in ("articles", "subscribers"):
        shutil.copytree(REPO / folder, root / folder)
    project = Project.open(root, clock=FixedClock(NOW))
    _, rendered = compose(project, [root / "articles" / "000_1718b35f7cc77fd8.txt"])
    _, welcome = compose(project, [root / "articles" / "welcome.md"], "welcome-half")
    _, stopped = compose(project, [root / "articles" / "welcome.md"], "welcome-cancelled")
    people = [
        Subscriber("ada@example.com", "Ada Lovelace",
                   {"email": "ada@example.com", "name": "Ada Lovelace", "city": "London"}),
        Subscriber("zoe@example.org", "Zoë Ångström-Núñez",
                   {"email": "zoe@example.org", "name": "Zoë Ångström-Núñez", "city": "Malmö"}),
        Subscriber("tom@example.net", "Tom <b>Bold</b> & Sons",
                   {"email": "tom@example.net", "name": "Tom <b>Bold</b> & Sons",
                    "city": "Springfield"}),
        Subscriber("nameless@example.com", "",
                   {"email": "nameless@example.com", "name": "", "city": "Paris"}),
    ]  # fmt: skip
    many = [Subscriber(f"reader{i}@example.com", f"Reader {i}") for i in range(12)]

    ledger = Ledger(project.state_dir / "state.db")
    suppressions = Suppressions(ledger)
    suppressions.add("Gone@Example.com", "unsubscribed", "one-click", NOW)
    suppressions.add("reader3@example.com", "unsubscribed", "link", NOW)
    suppressions.add_many(
        [("bounce@example.com", "bounced", "sendgrid bounces"),
         ("spam@example.com", "spam report", "import:mailchimp"),
         ("removed@example.com", "removed", "manual")],
        NOW,
    )  # fmt: skip

    # A finished issue: every recipient accepted in one batch with SendGrid's id.
    ledger.freeze(rendered, "sample", "sendgrid", ["articles/000_1718b35f7cc77fd8.txt"],
                  "hash-done", people, NOW)  # fmt: skip
    claimed = ledger.claim(rendered.id, 1000, 1, NOW)
    ledger.settle(rendered.id, 1, {s.email: "SG-1" for s in claimed}, {}, [], NOW, "SG-1")
    ledger.finish_if_done(rendered.id, NOW)

    # An issue stopped half way: batch 1 accepted with one refusal, batch 2 ambiguous,
    # batch 3 left in flight by a killed run, the rest pending; reader3 suppressed.
    ledger.freeze(welcome, "big", "smtp", ["articles/welcome.md"], "hash-half", many, NOW)
    first = ledger.claim(welcome.id, 4, 1, NOW)
    sent = {s.email: f"<m{n}@example.com>" for n, s in enumerate(first) if n != 1}
    refused = {first[1].email: "550 5.1.1 no such user"}
    ledger.settle(welcome.id, 1, sent, refused, [], NOW)
    second = ledger.claim(welcome.id, 3, 2, NOW)
    ledger.settle(welcome.id, 2, {}, {}, [s.email for s in second], NOW)
    ledger.claim(welcome.id, 2, 3, NOW)

    # A send stopped by the editor (schedule --cancel of a started send).
    ledger.freeze(stopped, "big", "outbox", ["articles/welcome.md"], "hash-x", many[:5], NOW)
    ledger.cancel(stopped.id, "cancelled by the editor", NOW)
    ledger.finish_if_done(stopped.id, NOW)

    queue = Queue(ledger)
    later = NOW + timedelta(days=2)
    queue.add("2026-12-01", "sample", ["articles/welcome.md"], None, later,
              "2026-11-27T09:30+00:00", NOW)  # fmt: skip
    queue.add("forced", "sample", ["articles/welcome.md"], "sendgrid", later,
              "2026-11-27T09:30+00:00", NOW, force=True)  # fmt: skip
    cancelled = queue.add("dropped", "sample", ["articles/welcome.md"], None, later,
                          "2026-11-27T09:30+00:00", NOW)  # fmt: skip
    queue.mark(cancelled.n, "cancelled", NOW)
    queue.note(queue.queued("forced")[0].n, "SENDGRID_API_KEY is not set", NOW)
    Backoff(ledger).failed("forced", NOW)
    Backoff(ledger).failed("sync:sendgrid", NOW)
    ledger.db.execute(
        "INSERT INTO sync_cursors VALUES ('sendgrid bounces', 1764000000, ?)", (NOW.isoformat(),)
    )
    ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ledger.close()

    target = HERE / "state.db"
    target.unlink(missing_ok=True)
    source = sqlite3.connect(project.state_dir / "state.db")
    copy = sqlite3.connect(target)
    source.backup(copy)
    copy.close()
    source.close()
    shutil.rmtree(work)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
