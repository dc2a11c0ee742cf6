"""The SMTP transport through smtplib against a real local SMTP server (aiosmtpd on
127.0.0.1, tests/fake_smtp.py): plain, STARTTLS and implicit TLS with a private CA,
AUTH, refusals, retries, dropped connections, ambiguous answers, parallel connections."""

import logging
import re

import pytest
from conftest import NOW, SAMPLE_ARTICLE, point_smtp_at, write
from fake_smtp import PASSWORD, USER, FakeSmtp

from newsletter.clock import FixedClock
from newsletter.errors import AmbiguousError, PermanentError, TransientError
from newsletter.message import Envelope
from newsletter.project import Project
from newsletter.send.retry import send_with_retries
from newsletter.transports.base import Batch, RetryPolicy
from newsletter.transports.outbox import OutboxTransport, file_name

ISSUE = "000_1718b35f7cc77fd8"
N = 250  # three batches of 100 over one connection


@pytest.fixture
def waits(sleepless):
    """No real waiting between retries: the waits asked for are recorded."""
    return sleepless.slept


@pytest.fixture
def big_list(project_dir):
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(N))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    return [f"reader{i}@example.com" for i in range(N)]


@pytest.fixture
def plain(project_dir, smtp_server, big_list, waits):
    """The sample project sending in plain text to the local server."""
    point_smtp_at(project_dir, smtp_server.port, security='"none"')
    return smtp_server


def send(cli, *extra):
    return cli("send", SAMPLE_ARTICLE, "--list", "big", "--transport", "smtp", "--yes", *extra)


def counts(project_dir):
    with Project.open(project_dir) as project:
        return project.state.ledger.counts(ISSUE)


def exactly_once(server, emails):
    assert server.counts() == dict.fromkeys(emails, 1)


# --- the send ---


def test_every_address_goes_once_over_one_kept_connection(plain, big_list, cli, project_dir):
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, big_list)
    assert plain.connections() == 1  # one connection for the whole send, not one a message
    assert plain.handler.quits == 1  # and it was closed politely
    assert {m.mail_from for m in plain.received} == {"news@example.com"}
    assert all(len(m.rcpt_tos) == 1 for m in plain.received)
    assert f"{N} accepted by smtp (smtp://127.0.0.1:{plain.port}, no TLS) in 3 batches" in (
        result.stdout
    )
    assert counts(project_dir)["sent"] == N


def test_each_message_is_the_outbox_message_for_that_recipient(project, smtp_server, tmp_path):
    point_smtp_at(project.root, smtp_server.port, security='"none"')
    project = Project.open(project.root, clock=FixedClock(NOW))
    batch = _batch(project)
    smtp = project.transport("smtp")
    try:
        accepted = smtp.send(batch).accepted
    finally:
        smtp.close()
    OutboxTransport(tmp_path / "outbox", FixedClock(NOW)).send(batch)
    assert len(smtp_server.received) == len(batch.recipients) == 4
    for message, recipient in zip(smtp_server.received, batch.recipients, strict=True):
        assert message.rcpt_tos == [recipient.email]
        written = (tmp_path / "outbox" / ISSUE / file_name(recipient.email)).read_bytes()
        assert _same_boundary(message.content) == _same_boundary(written)
        msgid = re.search(rb"^Message-ID: (.*)\r$", message.content, re.M).group(1).decode()
        assert accepted[recipient.email] == msgid


def test_a_leading_dot_in_a_line_survives_the_trip(project, smtp_server):
    point_smtp_at(project.root, smtp_server.port, security='"none"')
    project = Project.open(project.root, clock=FixedClock(NOW))
    smtp = project.transport("smtp")
    try:
        smtp._connections[0].deliver("news@example.com", "a@example.com", b".\r\n..x\r\n.")
    finally:
        smtp.close()
    assert smtp_server.received[0].content == b".\r\n..x\r\n.\r\n"


# --- TLS and login ---


@pytest.fixture
def ca_file(project_dir, smtp_ca):
    target = project_dir / "ca.pem"
    target.write_bytes(smtp_ca.ca_cert.read_bytes())
    return '"ca.pem"'  # relative to the project


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_with_a_private_ca_and_a_login(
    project_dir, smtp_ca, ca_file, big_list, cli, monkeypatch, mechanism
):
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    with FakeSmtp("starttls", smtp_ca, auth=True, auth_exclude_mechanism=[other]) as server:
        point_smtp_at(project_dir, server.port, ca_file=ca_file, username=f'"{USER}"')
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        result = send(cli)
        assert result.exit_code == 0, result.output
        exactly_once(server, big_list)
        assert server.handler.logins == [(mechanism, USER)]
        assert f"(smtp://127.0.0.1:{server.port}, STARTTLS)" in result.stdout


def test_implicit_tls_with_a_private_ca(project_dir, smtp_ca, ca_file, big_list, cli):
    with FakeSmtp("ssl", smtp_ca) as server:
        point_smtp_at(project_dir, server.port, security='"ssl"', ca_file=ca_file)
        result = send(cli)
        assert result.exit_code == 0, result.output
        exactly_once(server, big_list)
        assert f"(smtps://127.0.0.1:{server.port})" in result.stdout


def test_a_certificate_no_trusted_ca_signed_stops_the_send(project_dir, smtp_ca, big_list, cli):
    with FakeSmtp("starttls", smtp_ca) as server:
        point_smtp_at(project_dir, server.port)  # the system's CAs only
        result = send(cli)
        assert result.exit_code == 1
        assert "cannot verify the certificate of the SMTP server at 127.0.0.1" in result.stderr
        assert "[smtp] ca_file" in result.stderr
        assert server.received == []
    assert counts(project_dir)["pending"] == N


def test_starttls_is_required_never_a_fall_back_to_plain_text(plain, cli, project_dir):
    point_smtp_at(project_dir, plain.port, security='"starttls"')
    result = send(cli)
    assert result.exit_code == 1
    assert "does not offer STARTTLS" in result.stderr
    assert "nothing is sent in the clear" in result.stderr
    assert plain.received == []


def test_implicit_tls_to_a_plain_port_says_what_is_wrong(plain, cli, project_dir):
    point_smtp_at(project_dir, plain.port, security='"ssl"')
    result = send(cli)
    assert result.exit_code == 1
    assert "TLS with the SMTP server" in result.stderr and "take TLS from the start" in (
        result.stderr
    )
    assert plain.received == []


def test_a_wrong_password_stops_with_the_servers_message_and_nothing_is_sent(
    project_dir, smtp_ca, ca_file, big_list, cli, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    with FakeSmtp("starttls", smtp_ca, auth=True) as server:
        point_smtp_at(project_dir, server.port, ca_file=ca_file, username=f'"{USER}"')
        monkeypatch.setenv("SMTP_PASSWORD", "not-the-password")
        result = send(cli)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1].startswith(  # after the note of the state's id
            f"error: the SMTP server at 127.0.0.1:{server.port} refused the login of editor: 535"
        )
        assert "Authentication credentials invalid" in result.stderr
        assert server.received == []
    assert counts(project_dir)["sent"] == 0 and counts(project_dir)["pending"] == N
    files = [p.read_bytes() for p in project_dir.rglob("*") if p.is_file()]
    assert "not-the-password" not in result.output + caplog.text
    assert not any(b"not-the-password" in data for data in files)


def test_a_missing_password_names_the_variable(project_dir, big_list, cli, monkeypatch):
    point_smtp_at(project_dir, 25, username='"editor"')
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    result = send(cli)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: newsletter.toml: [smtp] password_env: the environment variable "
        "SMTP_PASSWORD is not set; it must hold the SMTP password of editor\n"
    )


def test_a_password_never_goes_in_the_clear_beyond_this_machine(
    project_dir, big_list, cli, monkeypatch
):
    point_smtp_at(project_dir, 25, host='"mail.example.com"', security='"none"',
                  username='"editor"')  # fmt: skip
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    result = send(cli)
    assert result.exit_code == 1
    assert '[smtp] security: "none" would send the password of editor in the clear' in (
        result.stderr
    )


def test_a_missing_ca_file_is_named(project_dir, big_list, cli):
    point_smtp_at(project_dir, 25, ca_file='"certs/ca.pem"')
    result = send(cli)
    assert result.exit_code == 1
    assert "[smtp] ca_file: no such file" in result.stderr and "ca.pem" in result.stderr


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_without_tls_works_on_this_machine(project_dir, big_list, cli, monkeypatch):
    with FakeSmtp(auth=True, auth_require_tls=False) as server:
        point_smtp_at(project_dir, server.port, security='"none"', username=f'"{USER}"')
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        result = send(cli)
        assert result.exit_code == 0, result.output
        exactly_once(server, big_list)


# --- what the server answers ---


def test_a_550_refuses_that_recipient_and_the_others_go(plain, big_list, cli, project_dir):
    plain.inject("RCPT", "550 5.1.1 <reader7@example.com>: no such user", email=big_list[7])
    unknown = "550 5.1.1 <reader9@example.com>: Recipient address rejected: User unknown in "
    plain.inject("RCPT", unknown + "relay recipient table", email=big_list[9])
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, [e for e in big_list if e not in (big_list[7], big_list[9])])
    assert "248 accepted" in result.stdout and "2 refused" in result.stdout
    assert f"refused: {big_list[7]}: 550 5.1.1 <reader7@example.com>: no such user" in (
        result.stderr
    )
    assert counts(project_dir)["refused"] == 2 and counts(project_dir)["sent"] == N - 2
    assert plain.connections() == 1


def test_a_mailbox_refusal_after_the_message_refuses_that_recipient(plain, big_list, cli):
    plain.inject("DATA", "552 5.2.2 mailbox full", email=big_list[3])
    result = send(cli)
    assert result.exit_code == 0, result.output
    assert "1 refused" in result.stdout and "552 5.2.2 mailbox full" in result.stderr
    exactly_once(plain, [e for e in big_list if e != big_list[3]])


def test_a_policy_refusal_of_the_message_stops_the_send(plain, big_list, cli, project_dir):
    plain.inject("DATA", "554 5.7.1 Message rejected: sender not verified", after=120)
    result = send(cli)
    assert result.exit_code == 1
    assert "refused the message to reader120@example.com: 554 5.7.1" in result.stderr
    exactly_once(plain, big_list[:120])
    assert counts(project_dir)["sent"] == 120 and counts(project_dir)["pending"] == N - 120
    plain.handler.faults.clear()
    again = send(cli)  # fixed: the rerun sends the rest
    assert again.exit_code == 0, again.output
    exactly_once(plain, big_list)


def test_a_refused_sender_stops_the_send_with_the_servers_message(plain, big_list, cli):
    plain.inject("MAIL", "553 5.7.1 Sender address rejected: not owned by user")
    result = send(cli)
    assert result.exit_code == 1
    assert "refused MAIL FROM:<news@example.com> (the sender): 553 5.7.1 Sender" in result.stderr
    assert plain.received == []


def test_a_server_that_will_not_relay_stops_rather_than_refusing_everyone(plain, cli, project_dir):
    plain.inject("RCPT", "554 5.7.1 <reader0@example.com>: Relay access denied")
    result = send(cli)
    assert result.exit_code == 1
    assert "Relay access denied" in result.stderr
    assert counts(project_dir)["refused"] == 0 and counts(project_dir)["pending"] == N


def test_a_451_is_retried_after_a_wait(plain, big_list, cli, waits):
    plain.inject("RCPT", "451 4.7.1 Greylisted, try again later", after=150)
    plain.inject("DATA", "451 4.3.0 Temporary failure", after=30)
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, big_list)
    assert len(waits) == 2 and all(0 < w <= 60 for w in waits)
    assert "after 2 retries" in result.stdout


def test_a_dropped_connection_reconnects_and_resumes_each_address_once(plain, big_list, cli, waits):
    plain.inject("RCPT", "drop", after=40)  # mid-batch: 40 went, the rest of it is retried
    plain.inject("MAIL", "drop", after=130)  # a kept connection found closed: a new one
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, big_list)
    assert plain.connections() == 3
    assert len(waits) == 1  # the closed kept connection is replaced without waiting


@pytest.mark.slow
def test_a_server_too_slow_to_answer_before_the_message_is_retried(
    plain, big_list, cli, project_dir, waits
):
    point_smtp_at(project_dir, plain.port, security='"none"', timeout="1")
    plain.inject("RCPT", "stall", after=42)
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, big_list)
    assert len(waits) == 1


@pytest.mark.slow
def test_a_server_too_slow_to_answer_the_message_is_ambiguous(plain, big_list, cli, project_dir):
    point_smtp_at(project_dir, plain.port, security='"none"', timeout="1")
    plain.inject("DATA", "stall", email=big_list[42])
    result = send(cli)
    assert result.exit_code == 1
    assert "held as ambiguous" in result.stderr
    exactly_once(plain, big_list)
    assert counts(project_dir)["ambiguous"] == 1


def test_retries_that_run_out_stop_the_send_and_keep_what_went(plain, big_list, cli, project_dir):
    plain.inject("RCPT", "421 4.3.2 Service shutting down", after=10, times=6)
    result = send(cli)
    assert result.exit_code == 1
    assert "gave up after 6 attempts" in result.stderr and "421 4.3.2" in result.stderr
    exactly_once(plain, big_list[:10])
    assert counts(project_dir)["sent"] == 10 and counts(project_dir)["pending"] == N - 10


def test_no_answer_after_the_message_is_ambiguous_held_and_resent_only_when_asked(
    plain, big_list, cli, project_dir
):
    lost = big_list[150]
    plain.inject("DATA", "drop", email=lost)  # the server took it; the answer is lost
    result = send(cli)
    assert result.exit_code == 1
    exactly_once(plain, big_list)  # the rest of that batch went in the same run
    assert f"{N - 1} accepted" in result.stdout and "1 ambiguous" in result.stdout
    assert "held as ambiguous" in result.stderr and "--retry-ambiguous" in result.stderr
    assert counts(project_dir)["ambiguous"] == 1 and counts(project_dir)["sent"] == N - 1
    with Project.open(project_dir) as project:
        held = [r.email for r in project.state.ledger.recipients(ISSUE) if r.state == "ambiguous"]
    assert held == [lost]

    again = send(cli)  # a plain re-run never resends it
    assert again.exit_code == 1 and len(plain.received) == N

    result = send(cli, "--retry-ambiguous")
    assert result.exit_code == 0, result.output
    assert plain.emails()[N:] == [lost]  # the editor asked: that one, once more
    assert counts(project_dir)["sent"] == N


# --- parallel connections ---


@pytest.mark.slow
def test_four_connections_send_every_address_exactly_once(plain, project_dir, cli):
    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(1000))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    point_smtp_at(project_dir, plain.port, security='"none"', connections="4")
    result = send(cli)
    assert result.exit_code == 0, result.output
    exactly_once(plain, [f"reader{i}@example.com" for i in range(1000)])
    assert plain.connections() == 4 and plain.handler.quits == 4
    assert "1,000 accepted" in result.stdout and "in 3 batches" in result.stdout
    assert counts(project_dir)["sent"] == 1000


def test_four_connections_with_failures_still_send_each_address_once(
    plain, big_list, project_dir, cli, waits
):
    point_smtp_at(project_dir, plain.port, security='"none"', connections="4")
    plain.inject("RCPT", "drop", after=20)
    plain.inject("DATA", "drop", email=big_list[60])
    plain.inject("RCPT", "550 5.1.1 no such user", email=big_list[61])
    plain.inject("DATA", "451 4.3.0 try again", after=100)
    result = send(cli)
    assert result.exit_code == 1  # one is held
    exactly_once(plain, [e for e in big_list if e != big_list[61]])
    c = counts(project_dir)
    assert (c["sent"], c["refused"], c["ambiguous"], c["pending"]) == (N - 2, 1, 1, 0)


def test_a_test_copy_goes_through_smtp(plain, cli):
    result = cli(
        "send", SAMPLE_ARTICLE, "--test", "me@example.com", "--list", "big", "--transport", "smtp"
    )
    assert result.exit_code == 0, result.output
    (message,) = plain.received
    assert message.rcpt_tos == ["me@example.com"]
    assert b"Subject: [Test] " in message.content


# --- the transport on its own, with a fixed clock ---


def _batch(project, emails=None):
    from newsletter.personalise import Personaliser
    from newsletter.send.plan import plan_send
    from newsletter.signing import Links

    plan = plan_send(project, [project.root / SAMPLE_ARTICLE], "sample", None, "outbox")
    subscribers = [s for s in plan.rows() if hasattr(s, "email")]
    audience = Links(project.settings.unsubscribe.url, b"x" * 32, "sample")
    recipients = tuple(Personaliser(plan.rendered, audience).recipient(s) for s in subscribers)
    envelope = Envelope(project.settings.newsletter, "sample")
    return Batch(plan.rendered, recipients, envelope)


def _same_boundary(data: bytes) -> bytes:
    """The MIME boundary is random per MessageMaker; everything else must match."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    return data.replace(boundary, b"BOUNDARY")


@pytest.fixture
def direct(project, smtp_server):
    point_smtp_at(project.root, smtp_server.port, security='"none"')
    with Project.open(project.root, clock=FixedClock(NOW)) as project:
        transport = project.transport("smtp")
        yield project, transport, smtp_server
        transport.close()


def test_a_transient_failure_says_what_went_before_it(direct):
    project, transport, server = direct
    batch = _batch(project)
    server.inject("RCPT", "451 4.7.1 later", after=2)
    result = transport.send(batch)
    assert isinstance(result.error, TransientError) and result.error.status == 451
    assert list(result.accepted) == [r.email for r in batch.recipients[:2]]


def test_retries_wait_on_the_project_clock_and_send_only_the_rest(direct):
    project, transport, server = direct
    batch = _batch(project)
    server.inject("RCPT", "drop", after=2)
    server.inject("DATA", "421 4.3.2 shutting down", after=3)
    result = send_with_retries(transport, batch, project.clock, RetryPolicy())
    assert len(project.clock.slept) == 2  # recorded, never slept for real
    assert result.error is None and set(result.accepted) == {r.email for r in batch.recipients}
    exactly_once(server, [r.email for r in batch.recipients])


def test_no_answer_after_the_message_is_ambiguous_for_that_one_after_what_went_before(direct):
    project, transport, server = direct
    batch = _batch(project)
    server.inject("DATA", "drop", after=3)
    result = transport.send(batch)
    emails = [r.email for r in batch.recipients]
    assert isinstance(result.error, AmbiguousError)
    assert list(result.accepted) == emails[:3] and result.ambiguous == (emails[3],)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_permanent(project, smtp_ca, monkeypatch):
    with FakeSmtp(auth=True, auth_require_tls=False) as server:
        point_smtp_at(project.root, server.port, security='"none"', username='"editor"')
        monkeypatch.setenv("SMTP_PASSWORD", "wrong")
        with Project.open(project.root, clock=FixedClock(NOW)) as opened:
            error = opened.transport("smtp").send(_batch(opened)).error
        assert isinstance(error, PermanentError) and error.status == 535
        assert "wrong" not in str(error)


def test_a_refused_connection_is_transient(project):
    point_smtp_at(project.root, 1, security='"none"')  # nothing listens on port 1
    with Project.open(project.root, clock=FixedClock(NOW)) as opened:
        error = opened.transport("smtp").send(_batch(opened)).error
    assert isinstance(error, TransientError)
    assert str(error).startswith("cannot connect to the SMTP server at 127.0.0.1:1:")
