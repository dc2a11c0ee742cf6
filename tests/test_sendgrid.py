"""The SendGrid transport through the real `sendgrid` client, against a local
SendGrid-like server (tests/fake_sendgrid.py) on 127.0.0.1."""

import json
import logging
import time

import pytest
from conftest import SAMPLE_ARTICLE, SECRET, point_sendgrid_at, write
from fake_sendgrid import FakeSendGrid

from newsletter.signing import link_reader

ISSUE = "000_1718b35f7cc77fd8"


@pytest.fixture
def waits(sleepless):
    """No real waiting between retries: the waits asked for are recorded."""
    return sleepless.slept


@pytest.fixture
def sendgrid_project(project_dir, on_fake, waits):
    """The sample project sending through the local server (timeout 1 s), a list of
    2,500."""
    point_sendgrid_at(project_dir, on_fake.url, timeout="1")
    rows = "".join(f"reader{i}@example.com,Reader {i} & <Co>\n" for i in range(2500))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    return project_dir


def send(cli, *extra):
    return cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid", "--yes", *extra)


def test_2500_recipients_make_exactly_3_requests_each_address_once(sendgrid_project, fake, cli):
    result = send(cli)
    assert result.exit_code == 0, result.output
    assert fake.requests == 3
    assert [len(body["personalizations"]) for body in fake.accepted] == [1000, 1000, 500]
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 2500
    assert "2,500 accepted by sendgrid" in result.stdout


def test_each_recipient_gets_their_own_name_and_unsubscribe_headers(sendgrid_project, fake, cli):
    assert send(cli).exit_code == 0
    body = fake.accepted[1]
    person = body["personalizations"][7]
    assert person["to"] == [{"email": "reader1007@example.com", "name": "Reader 1007 & <Co>"}]
    html = body["content"][1]["value"]
    text = body["content"][0]["value"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    subs = person["substitutions"]
    html_name = [v for k, v in subs.items() if k in html and "Reader" in v]
    text_name = [v for k, v in subs.items() if k in text and "Reader" in v]
    assert html_name == ["Reader 1007 &amp; &lt;Co&gt;"]
    assert text_name == ["Reader 1007 & <Co>"]
    link = person["headers"]["List-Unsubscribe"][1:-1]
    assert person["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link_reader(SECRET.encode(), link) == ("big", "reader1007@example.com")
    assert body["custom_args"] == {"issue": ISSUE, "list": "big"}
    assert body["categories"] == ["newsletter"]
    assert body["from"] == {"email": "news@example.com", "name": "Pop Culture Weekly"}


def test_429s_and_500s_are_retried_and_every_address_goes_once(sendgrid_project, fake, cli, waits):
    fake.inject("429", "500", "429", "500")
    result = send(cli)
    assert result.exit_code == 0, result.output
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 2500
    assert fake.requests == 3 + 4
    assert len(waits) == 4 and all(0 <= w <= 60 for w in waits)


@pytest.mark.parametrize(("reset_in", "low", "high"), [(30, 28.5, 31.5), (-300, 1, 2.5)])
def test_a_429_waits_until_its_reset_time_or_a_moment_if_that_passed(
    sendgrid_project, fake, cli, waits, reset_in, low, high
):
    fake.reset_in = reset_in
    fake.inject("429")
    assert send(cli).exit_code == 0
    (wait,) = waits
    assert low <= wait <= high


def test_a_429_reset_hours_ahead_waits_the_longest_allowed_then_retries(
    sendgrid_project, fake, cli, waits
):
    fake.reset_in = 3 * 3600
    fake.inject("429")
    assert send(cli).exit_code == 0
    (wait,) = waits
    assert 120 <= wait <= 121.5


@pytest.mark.slow
def test_refused_connections_are_retried_until_the_server_is_back(
    sendgrid_project, fake, cli, sleepless, monkeypatch
):
    monkeypatch.setattr(sleepless, "sleep", lambda seconds: time.sleep(0.2))  # a short wait
    fake.refuse_for(0.5)
    result = send(cli)
    assert result.exit_code == 0, result.output
    assert len(set(fake.accepted_emails())) == 2500


def test_a_connection_dropped_after_the_request_is_held_and_the_rest_go(
    sendgrid_project, fake, cli
):
    fake.inject("drop")
    result = send(cli)
    assert result.exit_code == 1
    assert fake.requests == 3  # the dropped batch is held; the other two go
    emails = fake.accepted_emails()
    assert len(emails) == len(set(emails)) == 2500  # the server had taken the dropped one
    assert "1,500 accepted" in result.stdout and "1,000 ambiguous" in result.stdout
    assert "held as ambiguous" in result.stderr and "--retry-ambiguous" in result.stderr
    again = send(cli)  # a plain re-run never resends the held batch
    assert again.exit_code == 1 and fake.requests == 3


def test_retry_ambiguous_sends_the_held_batch_and_finishes_the_issue(sendgrid_project, fake, cli):
    fake.inject("drop")
    send(cli)
    result = send(cli, "--retry-ambiguous")
    assert result.exit_code == 0, result.output
    assert fake.requests == 4 and len(fake.accepted_emails()) == 3500
    assert "Released the 1,000 recipients of issue" in result.stdout
    assert "1,000 accepted" in result.stdout
    done = send(cli)
    assert done.exit_code == 0 and "nothing more to send" in done.stdout
    assert fake.requests == 4


def test_mark_ambiguous_sent_finishes_the_issue_without_sending(sendgrid_project, fake, cli):
    fake.inject("drop")
    send(cli)
    result = send(cli, "--mark-ambiguous-sent")
    assert result.exit_code == 0, result.output
    assert fake.requests == 3
    assert "Marked the 1,000 recipients of issue" in result.stdout
    assert "held as ambiguous as sent; they are not sent again." in result.stdout
    assert "nothing more to send" in send(cli).stdout
    again = send(cli, "--mark-ambiguous-sent", "--json")
    assert again.exit_code == 0 and fake.requests == 3
    data = json.loads(again.stdout)
    assert data["marked_sent"] == 0 and data["resent_ambiguous"] == 0
    nothing = send(cli, "--retry-ambiguous")
    assert "was held as ambiguous: nothing to change." in nothing.stdout
    assert fake.requests == 3


@pytest.mark.slow
def test_an_answer_slower_than_the_timeout_is_ambiguous_not_resent(sendgrid_project, fake, cli):
    fake.slow_seconds = 2.5
    fake.inject("slow")
    result = send(cli)
    assert result.exit_code == 1
    assert fake.requests == 3
    assert "1,000 ambiguous" in result.stdout and "held as ambiguous" in result.stderr


@pytest.mark.slow
def test_an_answer_trickled_byte_by_byte_is_cut_at_the_timeout(sendgrid_project, fake, cli):
    fake.inject("trickle")
    start = time.monotonic()
    result = send(cli)
    assert time.monotonic() - start < 5  # timeout = 1 in total, though bytes keep coming
    assert result.exit_code == 1 and "1,000 ambiguous" in result.stdout
    assert fake.requests == 3


@pytest.mark.slow
def test_an_answer_whose_body_trickles_is_cut_at_the_timeout_too(sendgrid_project, fake, cli):
    fake.inject("trickle-body")
    start = time.monotonic()
    result = send(cli)
    assert time.monotonic() - start < 5  # the deadline holds while the body is read as well
    assert result.exit_code == 1 and "1,000 ambiguous" in result.stdout
    assert fake.requests == 3


def test_a_400_stops_the_send_with_the_apis_own_message(sendgrid_project, fake, cli):
    fake.inject("400")
    result = send(cli)
    assert result.exit_code == 1
    assert fake.accepted == []
    assert result.stderr.strip().splitlines()[-1] == (
        "error: SendGrid answered 400: The from address does not match a verified Sender "
        "Identity. (field from) (a batch of 1000 recipients)"
    )


def test_a_wrong_key_is_a_401_with_sendgrids_message(sendgrid_project, fake, cli, monkeypatch):
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong")
    result = send(cli)
    assert result.exit_code == 1
    assert "SendGrid answered 401: The provided authorization grant is invalid" in result.stderr
    assert "SG.wrong" not in result.output


def test_a_missing_key_names_the_variable(sendgrid_project, cli, monkeypatch):
    monkeypatch.delenv("SENDGRID_API_KEY")
    result = send(cli)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: newsletter.toml: [sendgrid] api_key_env: the environment variable "
        "SENDGRID_API_KEY is not set; it must hold your SendGrid API key\n"
    )


def test_the_key_is_in_no_output_log_or_file(sendgrid_project, fake, cli, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    fake.inject("429", "drop")
    outputs = [send(cli), send(cli, "--dry-run"), send(cli, "--json")]
    text = "".join(r.output for r in outputs) + caplog.text
    files = [p.read_bytes() for p in sendgrid_project.rglob("*") if p.is_file()]
    assert fake.api_key not in text
    assert not any(fake.api_key.encode() in data for data in files)


def test_sandbox_mode_is_asked_for_and_its_200_counts_as_accepted(sendgrid_project, fake, cli):
    settings = sendgrid_project / "newsletter.toml"
    settings.write_text(settings.read_text().replace("sandbox = false", "sandbox = true"))
    result = send(cli, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 2500
    assert all(b["mail_settings"] == {"sandbox_mode": {"enable": True}} for b in fake.accepted)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("403", "SendGrid answered 403: access forbidden"),
        ("413", "SendGrid answered 413: The JSON payload you have included in your request"),
    ],
)
def test_permanent_answers_stop_the_send_with_exit_1(sendgrid_project, fake, cli, fault, message):
    fake.inject(fault)
    result = send(cli)
    assert result.exit_code == 1
    assert fake.accepted == [] and fake.requests == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {message}")


def test_retries_that_run_out_stop_the_send_and_say_so(sendgrid_project, fake, cli):
    fake.inject(*["503"] * 6)
    result = send(cli)
    assert result.exit_code == 1
    assert "Service unavailable (gave up after 6 attempts)" in result.stderr
    assert fake.accepted == []


def test_a_recipient_sendgrid_would_reject_is_refused_by_name_and_the_rest_go(
    sendgrid_project, fake, cli
):
    rows = "email,name\nok@example.com,Ok\nbig@example.com," + "x" * 6000 + "\n"
    write(sendgrid_project / "subscribers" / "big.csv", rows)
    result = send(cli)
    assert result.exit_code == 0, result.output
    assert fake.accepted_emails() == ["ok@example.com"]
    assert "refused: big@example.com: its fields make" in result.stderr
    assert "1 accepted by sendgrid" in result.stdout and "1 refused" in result.stdout


def test_only_a_202_counts_as_accepted_outside_sandbox_mode(sendgrid_project, fake, cli):
    fake.inject("200")
    result = send(cli)
    assert result.exit_code == 1
    assert "1,000 ambiguous" in result.stdout
    assert fake.requests == 3


def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else(sendgrid_project, fake, cli):
    with FakeSendGrid(api_key=fake.api_key) as elsewhere:
        fake.redirect_to = f"{elsewhere.url}/v3/mail/send"
        fake.inject("303")
        result = send(cli)
        assert result.exit_code == 1
        assert "SendGrid answered 303" in result.stderr
        assert elsewhere.requests == 0 and fake.requests == 1


def test_a_key_with_a_line_break_is_refused_without_showing_it(sendgrid_project, cli, monkeypatch):
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.SECRET123\r\nX-Evil: 1")
    result = send(cli)
    assert result.exit_code == 1
    assert "SECRET123" not in result.output
    assert "SENDGRID_API_KEY holds characters an API key cannot have" in result.stderr


def test_the_api_host_must_be_https_unless_on_this_machine(sendgrid_project, cli):
    settings = sendgrid_project / "newsletter.toml"
    text = settings.read_text()
    start = text.index('host = "http://127.0.0.1')
    end = text.index("\n", start)
    settings.write_text(text[:start] + 'host = "http://api.example.com"' + text[end:])
    result = send(cli)
    assert result.exit_code == 1
    assert "[sendgrid] host: the API host must use https" in result.stderr


def test_message_ids_are_reported_per_batch(sendgrid_project, fake, cli):
    result = send(cli, "--json")
    ids = json.loads(result.stdout)["message_ids"]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(ids)


def test_a_test_copy_is_retried_like_a_send(sendgrid_project, fake, cli, waits):
    fake.inject("500")
    result = cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "sendgrid",
                 "--test", "reader7@example.com")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(waits) == 1 and fake.accepted_emails() == ["reader7@example.com"]
    assert fake.accepted[0]["subject"].startswith("[Test] ")


def test_a_dry_run_needs_no_api_key_and_says_a_send_would(project_dir, cli, fake, monkeypatch):
    point_sendgrid_at(project_dir, fake.url)
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    dry = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--transport", "sendgrid", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("Dry run: nothing is sent.")
    assert "SENDGRID_API_KEY is not set: a real send would stop there" in dry.stderr
    assert fake.requests == 0
    real = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--transport", "sendgrid", "--yes")
    assert real.exit_code == 1 and "SENDGRID_API_KEY is not set" in real.stderr
