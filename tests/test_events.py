"""SendGrid's Event Webhook (issue 17, items 1 to 3), over real HTTP under the
production server, on both state engines: an issue sent through the official client
to the local SendGrid-like server, then the events SendGrid documents for its copies,
signed with a test key pair and posted in batches, read back through `report`,
`status` and the suppressions."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import SAMPLE_ARTICLE, open_state, point_sendgrid_at, write
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from newsletter.web import make_app
from newsletter.web.production import Endpoint

pytestmark = pytest.mark.usefixtures("engine")

ISSUE = "000_1718b35f7cc77fd8"
KEY_ENV = "SENDGRID_WEBHOOK_PUBLIC_KEY"


class Signer:
    """A key pair as SendGrid's: its public half in base64 DER, as the settings page
    shows it."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: str) -> str:
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()


@pytest.fixture
def signer(monkeypatch) -> Signer:
    made = Signer()
    monkeypatch.setenv(KEY_ENV, made.public)
    return made


@pytest.fixture
def sent(project_dir, on_fake, cli, signer):
    """1,200 readers sent the sample issue through SendGrid (two requests): their
    addresses, numbers (the custom arg `r`) and the X-Message-Id of their request."""
    point_sendgrid_at(project_dir, on_fake.url, timeout="1")
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(1200))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    result = cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes")
    assert result.exit_code in (0, 1), result.output
    return readers(project_dir, on_fake)


def readers(project_dir, fake) -> dict[str, tuple[str, str | None]]:
    """address -> (its number as sent, the message id the ledger holds for it)."""
    numbers = {
        p["to"][0]["email"]: p["custom_args"]["r"]
        for body in fake.accepted
        for p in body["personalizations"]
    }
    with open_state(project_dir) as state:
        ids = {r.email: r.message_id for r in state.ledger.recipients(ISSUE)}
    return {email: (number, ids.get(email)) for email, number in numbers.items()}


@pytest.fixture
def endpoint(project_dir):
    with Endpoint(make_app(project_dir)).start() as server:
        yield f"http://127.0.0.1:{server.port}/events/sendgrid"


def event(kind: str, email: str, readers, at: float | None = None, **extra):
    number, message_id = readers[email]
    found = {
        "email": email, "timestamp": int(at or time.time()), "event": kind,
        "sg_event_id": uuid.uuid4().hex, "issue": ISSUE, "list": "big", "r": number,
        "sg_message_id": f"{message_id or 'unknown'}.recvd-5f8d4c7b-1-0.0",
        "category": ["newsletter"],
    }  # fmt: skip
    return found | extra


def post(url, events, signer, timestamp=None, body=None, signature=None):
    body = body if body is not None else json.dumps(events).encode()
    timestamp = timestamp or str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "X-Twilio-Email-Event-Webhook-Signature": signature or signer.sign(body, timestamp),
    }
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def report(cli, *extra) -> dict:
    result = cli("report", ISSUE, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def suppressions(project_dir) -> dict[str, tuple[str, str]]:
    with open_state(project_dir) as state:
        return {s.email: (s.reason, s.source) for s in state.suppressions.all()}


def recorded(project_dir) -> tuple:
    """Everything the events wrote: the events, the fates, the engagement, and the
    ledger's states."""
    with open_state(project_dir) as state:
        engine = state.engine
        return (
            engine.all("SELECT id, issue, seq, kind, at FROM events ORDER BY id"),
            engine.all("SELECT * FROM fates ORDER BY seq"),
            engine.all("SELECT * FROM engagement ORDER BY issue, kind, url"),
            [tuple(r) for r in state.ledger.recipients(ISSUE)],
        )


def test_each_documented_event_lands_on_its_recipient_once(
    project_dir, sent, endpoint, signer, cli
):
    r = sent
    first = [
        event("processed", "reader0@example.com", r),
        event("delivered", "reader0@example.com", r),
        event("delivered", "reader1@example.com", r),
        event("deferred", "reader2@example.com", r, response="451 4.7.1 Try again later",
              attempt="1"),
        event("bounce", "reader3@example.com", r, type="bounce", status="5.1.1",
              reason="550 5.1.1 The email account that you tried to reach does not exist"),
        event("bounce", "reader4@example.com", r, type="blocked", status="4.0.0",
              reason="421 Too many connections"),
    ]  # fmt: skip
    second = [
        event("dropped", "reader5@example.com", r, reason="Bounced Address", status="5.0.0"),
        event("dropped", "reader6@example.com", r, reason="Spam Content"),
        event("delivered", "reader7@example.com", r),
        event("spamreport", "reader7@example.com", r),
        event("delivered", "reader8@example.com", r),
        event("unsubscribe", "reader8@example.com", r),
        event("delivered", "reader9@example.com", r),
        event("group_unsubscribe", "reader9@example.com", r, asm_group_id=1),
        event("open", "reader1@example.com", r, sg_machine_open=False),
        event("click", "reader1@example.com", r, url="https://example.com/a"),
    ]
    assert post(endpoint, first, signer) == 204
    assert post(endpoint, second, signer) == 204
    data = report(cli)
    assert data["accepted"] == 1200
    assert data["delivered"] == 5  # reader0, 1, and 7, 8, 9 (who then complained or left)
    assert (data["deferred"], data["bounced"], data["bounced_hard"], data["bounced_soft"]) == (
        1, 2, 1, 1)  # fmt: skip
    assert (data["dropped"], data["spam_reports"], data["unsubscribed"]) == (2, 1, 2)
    assert data["no_event_yet"] == 1200 - 10
    assert data["tracking"] is None  # [tracking] is off: opens and clicks not recorded
    found = suppressions(project_dir)
    assert found == {
        "reader3@example.com": ("bounced", "sendgrid event"),
        "reader5@example.com": ("bounced", "sendgrid event"),
        "reader7@example.com": ("spam report", "sendgrid event"),
        "reader8@example.com": ("unsubscribed", "sendgrid event"),
        "reader9@example.com": ("unsubscribed", "sendgrid event"),
    }  # a soft bounce, a drop for its content: not suppressed
    with open_state(project_dir) as state:
        fates = dict(state.engine.all("SELECT seq, reason FROM fates WHERE state = 'bounced'"))
        kept = state.engine.value("SELECT count(*) FROM events")
    assert any("does not exist" in (why or "") for why in fates.values())
    exported = json.loads(cli("subscribers", "export", "reader3@example.com", "--json").stdout)
    (issue,) = exported["issues"]
    assert issue["after"]["state"] == "bounced" and issue["after"]["bounce"] == "hard"
    shown = cli("subscribers", "export", "reader3@example.com").stdout
    assert "    after: bounced (hard): 550 5.1.1 The email account" in shown
    assert kept == len(first) + len(second) - 2  # the open and the click were not kept


def test_the_same_batch_posted_three_times_changes_nothing_after_the_first(
    project_dir, sent, endpoint, signer, cli
):
    batch = [event("delivered", f"reader{i}@example.com", sent) for i in range(0, 1000, 3)]
    batch += [event("bounce", "reader1@example.com", sent, type="bounce")]
    assert post(endpoint, batch, signer) == 204
    once = recorded(project_dir), suppressions(project_dir)
    for _ in range(2):
        assert post(endpoint, batch, signer) == 204  # each signed anew, as SendGrid retries
    assert (recorded(project_dir), suppressions(project_dir)) == once
    assert report(cli)["delivered"] == 334


def test_forged_stale_malformed_and_unknown_change_nothing(
    project_dir, sent, endpoint, signer, cli, capfd
):
    good = [event("bounce", "reader1@example.com", sent, type="bounce")]
    before = recorded(project_dir)
    body = json.dumps(good).encode()
    other = Signer()
    assert post(endpoint, good, signer, signature=other.sign(body, str(int(time.time())))) == 403
    altered = body.replace(b"reader1@", b"reader2@")
    stamp = str(int(time.time()))
    assert post(endpoint, None, signer, stamp, altered, signer.sign(body, stamp)) == 403
    assert post(endpoint, good, signer, signature="not base64 at all!") == 403
    stale = str(int(time.time()) - 301)
    assert post(endpoint, good, signer, timestamp=stale) == 403
    assert post(endpoint, good, signer, timestamp=str(int(time.time()) + 301)) == 403
    assert post(endpoint, good, signer, timestamp="soon") == 400
    assert post(endpoint, None, signer, body=b'[{"event": "bounce",') == 400
    assert post(endpoint, None, signer, body=b'{"event": "bounce"}') == 400
    assert post(endpoint, None, signer, body=b"\xff\xfe[]") == 400
    unknown = [
        event("bounce", "reader1@example.com", sent, type="bounce",
              sg_message_id="SomeoneElsesRequest.recvd-1-0.0"),
        event("bounce", "reader1@example.com", sent, issue="no-such-issue"),
        event("bounce", "nobody@example.com", {"nobody@example.com": ("5", None)}),
        {"event": "delivered", "email": "reader1@example.com"},  # no timestamp
        "not an event",
    ]  # fmt: skip
    unknown += [  # what JSON readers take but no database holds: unreadable, never a 500
        event("bounce", "reader1@example.com", sent, type="bounce", timestamp=10**30),
        event("bounce", "nobody@example.com", {"nobody@example.com": ("9" * 40, None)}),
    ]
    nan = json.dumps([event("delivered", "reader1@example.com", sent)]).replace(
        '"timestamp": ', '"timestamp": NaN, "x": '
    )
    assert post(endpoint, unknown, signer) == 204  # read: nothing of it was ours
    assert post(endpoint, None, signer, body=nan.encode()) == 204
    assert recorded(project_dir) == before and suppressions(project_dir) == {}
    log = capfd.readouterr().err
    assert "4 unknown (" in log and "3 unreadable" in log and "reader1@" not in log
    for verb in (b"GET", b"PUT"):
        request = urllib.request.Request(endpoint, method=verb.decode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405


def test_without_a_key_set_nothing_is_taken(
    project_dir, sent, endpoint, signer, monkeypatch, capfd
):
    monkeypatch.delenv(KEY_ENV)
    assert post(endpoint, [event("delivered", "reader1@example.com", sent)], signer) == 404
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not set" in capfd.readouterr().err
    monkeypatch.setenv(KEY_ENV, "bm90IGEga2V5")  # base64, but of no key
    assert post(endpoint, [event("delivered", "reader1@example.com", sent)], signer) == 404
    assert recorded(project_dir)[0] == []


def test_a_state_never_goes_backwards(project_dir, sent, endpoint, signer, cli):
    now = time.time()
    late = [
        event("bounce", "reader1@example.com", sent, at=now - 60, type="blocked"),
        event("bounce", "reader1@example.com", sent, at=now - 30, type="bounce",
              reason="550 no such user"),
        event("delivered", "reader1@example.com", sent, at=now - 10),
        event("deferred", "reader2@example.com", sent, at=now - 50),
        event("delivered", "reader2@example.com", sent, at=now - 40),
    ]  # fmt: skip
    assert post(endpoint, late[:2], signer) == 204
    assert post(endpoint, late[2:], signer) == 204  # a late "delivered" after the bounce
    data = report(cli)
    assert (data["bounced"], data["bounced_hard"], data["delivered"], data["deferred"]) == (
        1, 1, 1, 0)  # fmt: skip
    assert post(endpoint, [event("deferred", "reader2@example.com", sent)], signer) == 204
    assert report(cli)["delivered"] == 1  # a deferral after the delivery: still delivered


def tracking(project_dir, per_subscriber: bool) -> None:
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write("\n[tracking]\nopens = true\nclicks = true\nmachine_seconds = 30\n"
                       f"per_subscriber = {str(per_subscriber).lower()}\n")  # fmt: skip


@pytest.mark.parametrize("per_subscriber", [False, True])
def test_opens_and_clicks_are_counted_with_machines_apart(
    project_dir, sent, endpoint, signer, cli, per_subscriber
):
    tracking(project_dir, per_subscriber)
    now = time.time()
    r = sent
    batch = [
        event("delivered", "reader1@example.com", r, at=now - 600),
        event("delivered", "reader2@example.com", r, at=now - 5),
        event("open", "reader1@example.com", r, at=now - 500, sg_machine_open=False),
        event("open", "reader1@example.com", r, at=now - 400, sg_machine_open=False),
        event("open", "reader3@example.com", r, sg_machine_open=True),  # Apple's proxy
        event("click", "reader1@example.com", r, at=now - 300, url="https://example.com/a"),
        # a link scanner: every link, within seconds of the delivery
        event("click", "reader2@example.com", r, at=now - 4, url="https://example.com/a"),
        event("click", "reader2@example.com", r, at=now - 4, url="https://example.com/b"),
        event("click", "reader1@example.com", r, at=now - 200,
              url="http://127.0.0.1:8025/preferences?l=big&t=SECRET-TOKEN"),
    ]  # fmt: skip
    assert post(endpoint, batch, signer) == 204
    data = report(cli)["tracking"]
    assert (data["opens"], data["machine_opens"]) == (2, 1)
    assert (data["clicks"], data["machine_clicks"]) == (2, 2)
    links = {link["url"]: (link["clicks"], link["machine_clicks"]) for link in data["links"]}
    assert links == {"https://example.com/a": (1, 1), "https://example.com/b": (0, 1),
                     "(preferences page)": (1, 0)}  # fmt: skip
    with open_state(project_dir) as state:
        opens = state.engine.all("SELECT opens, machine_opens, clicks FROM fates WHERE opens > 0 "
                                 "OR machine_opens > 0 OR clicks > 0")  # fmt: skip
        kept = json.dumps(state.engine.all("SELECT * FROM engagement"))
    assert "SECRET-TOKEN" not in kept
    if per_subscriber:
        assert (data["openers"], data["machine_openers"], data["clickers"]) == (1, 1, 1)
        assert sorted(map(tuple, opens)) == [(0, 1, 0), (2, 0, 2)]
    else:
        assert "openers" not in data and opens == []  # counts only: no reader's opens


def test_an_ambiguous_batch_is_settled_by_its_events_and_never_resent(
    project_dir, on_fake, cli, signer, endpoint
):
    point_sendgrid_at(project_dir, on_fake.url, timeout="1")
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(1200))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    on_fake.inject("drop")  # the first request is taken, its answer never comes
    first = cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes")
    assert first.exit_code == 1 and "1,000 ambiguous" in first.stdout
    r = readers(project_dir, on_fake)
    held = [e for e, (_, msgid) in r.items() if msgid is None]
    assert len(held) == 1000
    # SendGrid's events for the held copies: processed for all, delivered for some
    batch = [event("processed", e, r, sg_message_id="Dropped0Answer.recvd-1-0.0") for e in held]
    batch += [event("delivered", e, r, sg_message_id="Dropped0Answer.recvd-1-0.0")
              for e in held[:10]]  # fmt: skip
    assert post(endpoint, batch[:500], signer) == 204
    status = json.loads(cli("status", ISSUE, "--json").stdout)[0]
    assert status["ambiguous"] == 500 and status["events"]["settled"] == 500
    assert post(endpoint, batch[500:], signer) == 204
    status = json.loads(cli("status", ISSUE, "--json").stdout)[0]
    assert (status["accepted"], status["ambiguous"], status["state"]) == (1200, 0, "done")
    assert status["events"]["settled"] == 1000 and status["events"]["delivered"] == 10
    shown = cli("status").stdout
    assert "1,000 held as ambiguous were settled as accepted" in shown
    requests = on_fake.requests
    again = cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes",
                "--retry-ambiguous")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert on_fake.requests == requests  # nobody resent
    assert len(on_fake.accepted_emails()) == len(set(on_fake.accepted_emails())) == 1200
    with open_state(project_dir) as state:
        ids = {row.message_id for row in state.ledger.recipients(ISSUE) if row.email in held}
    assert ids == {"Dropped0Answer"}


def test_the_report_as_text_csv_and_its_flags(project_dir, sent, endpoint, signer, cli):
    batch = [event("delivered", f"reader{i}@example.com", sent) for i in range(100)]
    batch += [event("spamreport", "reader1@example.com", sent)]
    batch += [event("bounce", f"reader{i}@example.com", sent, type="bounce")
              for i in range(100, 130)]  # fmt: skip
    assert post(endpoint, batch, signer) == 204
    data = report(cli)
    assert data["complaint_rate"] == {"rate": 0.01, "limit": 0.003, "over": True}
    assert data["bounce_rate"] == {"rate": 0.025, "limit": 0.02, "over": True}
    text = cli("report", ISSUE)
    assert text.exit_code == 0
    assert "spam complaint rate: 1.00% (Gmail's limit 0.3%)  OVER THE LIMIT" in text.stdout
    assert "bounce rate: 2.50% (limit 2.0%)  OVER THE LIMIT" in text.stdout
    table = cli("report", ISSUE, "--csv").stdout.splitlines()
    assert table[0] == "measure,count,machines,rate,limit,over"
    assert "delivered,100,,,," in table and "complaint_rate,1,,0.010000,0.003,yes" in table
    assert cli("report", ISSUE, "--csv", "--json").exit_code == 2
    missing = cli("report", "no-such-issue")
    assert missing.exit_code == 1 and "no issue 'no-such-issue'" in missing.stderr
    columns = cli("status").stdout.splitlines()
    assert columns[0].split()[-3:] == ["delivered", "bounced", "issue"]
    assert columns[1].split()[-3:] == ["100", "30", ISSUE]


def _serve(project_dir):
    """`newsletter serve --port 0` in a process of its own: (its URL, the process)."""
    env = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "--port", "0"], cwd=project_dir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    assert line.startswith("Unsubscribe endpoint at http://127.0.0.1:"), line
    return line.split()[3].rstrip("/") + "/events/sendgrid", process


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.05, 0.2, 0.5])
def test_serve_killed_while_a_batch_is_written_records_the_retry_exactly_once(
    project_dir, sent, signer, after
):
    kinds = ("processed", "delivered")
    batch = [event(kind, email, sent) for email in sent for kind in kinds]  # 2,400 events
    url, process = _serve(project_dir)
    try:
        poster = threading.Thread(target=lambda: _quietly(post, url, batch, signer))
        poster.start()
        time.sleep(after)
        process.kill()  # SIGKILL: no answer, no cleanup
        process.wait(10)
        poster.join(30)
    finally:
        process.kill()
        process.communicate(timeout=15)
    with open_state(project_dir) as state:
        kept = state.engine.value("SELECT count(*) FROM events")
    assert kept in (0, len(batch))  # the batch's transaction: all of it or nothing
    url, process = _serve(project_dir)
    try:
        assert post(url, batch, signer) == 204  # SendGrid's retry
    finally:
        process.terminate()
        process.communicate(timeout=15)
    with open_state(project_dir) as state:
        counts = state.engine.all("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind")
        fates = state.engine.all("SELECT state, count(*) FROM fates GROUP BY state")
    assert counts == [("delivered", 1200), ("processed", 1200)]
    assert fates == [("delivered", 1200)]


def _quietly(call, *args):
    with contextlib.suppress(OSError, http.client.HTTPException):
        call(*args)


def test_each_copy_carries_its_number_and_tracking_is_off_unless_asked(
    project_dir, on_fake, sent, cli
):
    body = on_fake.accepted[0]
    assert body["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
    }
    numbers = [int(p["custom_args"]["r"]) for b in on_fake.accepted for p in b["personalizations"]]
    assert len(set(numbers)) == 1200 and numbers == sorted(numbers)
    tracking(project_dir, per_subscriber=False)
    result = cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes",
                 "--id", "tracked")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert on_fake.accepted[-1]["tracking_settings"] == {
        "click_tracking": {"enable": True, "enable_text": False},
        "open_tracking": {"enable": True},
    }
    test = cli("send", SAMPLE_ARTICLE, "--test", "me@example.com", "--transport", "sendgrid")
    assert test.exit_code == 0, test.output
    assert "custom_args" not in on_fake.accepted[-1]["personalizations"][0]  # outside the ledger
