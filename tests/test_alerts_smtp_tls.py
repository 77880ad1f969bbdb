"""Email alerts over TLS against a real aiosmtpd server with a self-signed certificate made
here: implicit TLS (SMTPS), STARTTLS, login only after encryption, and refusals that say why
(an untrusted certificate, a server that does not offer STARTTLS)."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from goodwill.settings import Settings
from goodwill.store.repository import Repository
from tests.alertsinks import SmtpReceiver
from tests.test_alerts_delivery import World, post


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "goodwill test smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.password in (b"s3cret-pw", "s3cret-pw")
    return AuthResult(success=ok, handled=False, auth_data=data)


@pytest.fixture
def world(repo: Repository, tmp_path: Path, certificate: tuple[Path, Path]) -> World:
    settings = Settings(
        data_dir=tmp_path,
        alerts_retry_scale=0.0001,
        smtp_host="127.0.0.1",
        smtp_user="goodwill",
        smtp_password=SecretStr("s3cret-pw"),
        smtp_ca_file=certificate[0],
    )
    w = World(repo, settings)
    w.alerts.add_rule(w.ws, "mail", "mention", topic="brand", emails=["care@b.example"])
    return w


@pytest.fixture
def smtps(certificate: tuple[Path, Path]) -> Iterator[SmtpReceiver]:
    # aiosmtpd only counts STARTTLS as encryption for AUTH; this connection is TLS throughout.
    receiver = SmtpReceiver(
        ssl_context=_server_context(certificate),
        authenticator=_check,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],
    ).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_check,
        auth_require_tls=True,  # AUTH is not even offered before STARTTLS
        auth_exclude_mechanism=["LOGIN"],
    ).start()
    yield receiver
    receiver.stop()


def test_implicit_tls_with_login(world: World, smtps: SmtpReceiver) -> None:
    world.settings.smtp_port = smtps.port
    world.settings.smtp_ssl = True
    world.ingest(post("Brightloaf over TLS"))
    [sent] = world.deliver()
    assert sent.ok, sent.error
    assert smtps.handler.tls == [True]
    assert smtps.handler.logins == [b"goodwill"]
    [(_, rcpts, msg)] = smtps.messages
    assert rcpts == ["care@b.example"] and "Brightloaf over TLS" in msg.get_body().get_content()  # type: ignore[union-attr]


def test_starttls_then_login(world: World, starttls: SmtpReceiver) -> None:
    world.settings.smtp_port = starttls.port
    world.settings.smtp_starttls = True
    world.ingest(post("Brightloaf after STARTTLS"))
    [sent] = world.deliver()
    assert sent.ok, sent.error
    assert starttls.handler.tls == [True]
    assert starttls.handler.logins == [b"goodwill"]


def test_an_untrusted_certificate_is_refused_and_kept(
    world: World, smtps: SmtpReceiver, tmp_path: Path
) -> None:
    world.settings.smtp_port = smtps.port
    world.settings.smtp_ssl = True
    world.settings.smtp_ca_file = None  # the system's authorities do not know this certificate
    world.ingest(post("Brightloaf"))
    [sent] = world.deliver()
    assert not sent.ok and not sent.final
    assert f"SMTP 127.0.0.1:{smtps.port}:" in (sent.error or "")
    assert "CERTIFICATE_VERIFY_FAILED" in (sent.error or "")
    assert smtps.messages == []
    assert world.deliveries()[0].status == "pending"  # retried later, not lost


def test_starttls_required_by_us_but_not_offered(world: World) -> None:
    plain = SmtpReceiver().start()
    try:
        world.settings.smtp_port = plain.port
        world.settings.smtp_starttls = True
        world.ingest(post("Brightloaf"))
        [sent] = world.deliver()
        assert not sent.ok
        assert "STARTTLS extension not supported by server" in (sent.error or "")
        assert plain.messages == []  # nothing went out in clear text
    finally:
        plain.stop()


def test_plain_smtp_to_a_server_requiring_starttls_is_refused(
    world: World, starttls: SmtpReceiver
) -> None:
    world.settings.smtp_port = starttls.port
    world.settings.smtp_starttls = False
    world.settings.smtp_user = None  # AUTH is not offered in clear; try to send without it
    world.ingest(post("Brightloaf"))
    [sent] = world.deliver()
    assert not sent.ok and "STARTTLS" in (sent.error or "")
    assert starttls.messages == []
