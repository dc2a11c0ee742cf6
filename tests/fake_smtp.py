"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, an ephemeral port, a handler
that keeps every message it accepted and answers or drops the connection where a
test says. Plain, STARTTLS or implicit TLS, with or without AUTH; the certificates
come from a private CA made for the test run (`make_ca`)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "editor"
PASSWORD = "s3cret-Pa55word"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: tuple


@dataclass
class Fault:
    """At the `after + 1`-th `stage` (MAIL, RCPT, DATA: the answer to the message)
    from now, or at every one for `email`: answer `reply`, or "drop" the connection
    (at DATA the message is kept first: the server took it, the answer is lost), or
    "stall" for two seconds before answering (at DATA: after keeping the message)."""

    stage: str
    reply: str
    after: int = 0
    email: str | None = None
    times: int = 1


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, user)
    quits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, stage: str, email: str | None) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.stage != stage or (fault.email and fault.email != email):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault.reply
        return None

    async def handle_MAIL(self, server, session, envelope, address, options):
        said = self.fault("MAIL", None)
        if said == "drop":
            server.transport.close()
            return "250 OK"
        if said:
            return said
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        said = self.fault("RCPT", address)
        if said == "stall":
            await asyncio.sleep(2)
            said = None
        if said == "drop":
            server.transport.close()
            return "250 OK"
        if said:
            return said
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        said = self.fault("DATA", envelope.rcpt_tos[0] if envelope.rcpt_tos else None)
        if said and said not in ("drop", "stall"):
            return said
        with self.lock:
            message = Received(
                envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
            )
            self.received.append(message)
        if said == "drop":  # taken, but the answer never goes out
            server.transport.abort()
        if said == "stall":  # taken, but the answer comes too late
            await asyncio.sleep(2)
        return "250 2.0.0 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.quits += 1
        return "221 Bye"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        with self.lock:
            self.logins.append((mechanism, user))
        return AuthResult(success=(user, password) == (USER, PASSWORD), handled=False)


class _Controller(Controller):
    """aiosmtpd's Controller on an ephemeral port (it wants to know the port first)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtp:
    """`with FakeSmtp(tls=None | "starttls" | "ssl", auth=False) as server:`"""

    def __init__(
        self, tls: str | None = None, ca: CA | None = None, auth: bool = False, **options
    ) -> None:
        self.handler = Handler()
        kwargs = dict(hostname="127.0.0.1", port=0, server_hostname="localhost", **options)
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(ca.cert, ca.key)
            kwargs["tls_context" if tls == "starttls" else "ssl_context"] = context
        if auth:
            kwargs["authenticator"] = self.handler.authenticate
            kwargs["auth_required"] = True
        self.controller = _Controller(self.handler, **kwargs)

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def inject(self, stage: str, reply: str, after: int = 0, email: str | None = None,
               times: int = 1) -> None:  # fmt: skip
        with self.handler.lock:
            self.handler.faults.append(Fault(stage, reply, after, email, times))

    def emails(self) -> list[str]:
        """Every recipient of every accepted message, in the order they came."""
        return [to for message in self.received for to in message.rcpt_tos]

    def counts(self) -> Counter:
        return Counter(self.emails())

    def connections(self) -> int:
        return len({message.peer for message in self.received})


@dataclass
class CA:
    """A private certificate authority and a server certificate it signed for
    127.0.0.1 and localhost (PEM files)."""

    ca_cert: Path
    cert: Path
    key: Path


def make_ca(folder: Path) -> CA:
    """With the `cryptography` package (installed with sendgrid), else `openssl`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = CA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _make_with_openssl(ca)
    else:
        _make_with_cryptography(ca)
    return ca


def _make_with_cryptography(ca: CA) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsletter test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    ca.cert.write_bytes(cert.public_bytes(pem))
    ca.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _make_with_openssl(ca: CA) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("neither the cryptography package nor openssl is installed")
    folder = ca.ca_cert.parent
    ca_key = folder / "ca.key"

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca.ca_cert), "-days", "1",
        "-subj", "/CN=newsletter test CA")  # fmt: skip
    csr = str(folder / "server.csr")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca.key), "-out", csr, "-subj", "/CN=localhost")  # fmt: skip
    extensions = folder / "ext.cnf"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", csr, "-CA", str(ca.ca_cert),
        "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(ca.cert), "-days", "1",
        "-extfile", str(extensions))  # fmt: skip
