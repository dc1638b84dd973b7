"""HTTPS: the CA certificates every client trusts (tls.py) are httpx's own choice, loaded off the main thread.

Replies come from the loopback server over real TLS, with a certificate from a test CA that only
``SSL_CERT_FILE`` makes trusted, so each test shows which certificates chatstream checked against.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner, Result

from chatstream_cli import tls
from chatstream_cli.cli import app
from tests.conftest import error_line
from tests.loopback import LoopbackServer, Reply
from tests.test_anthropic_provider import GREETING, KEY, MODEL

OPENAI_STREAM = (
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    '[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n'
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    '[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer[0] if issuer else subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A test CA (ca.pem) and a certificate it signed for 127.0.0.1 (server.pem, server.key)."""
    where = tmp_path_factory.mktemp("pki")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("chatstream test CA", ca_key, None)
    server = _certificate("127.0.0.1", server_key, ("chatstream test CA", ca_key))
    paths = {"ca": where / "ca.pem", "cert": where / "server.pem", "key": where / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def https_server(pki: dict[str, Path]) -> Iterator[LoopbackServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    with LoopbackServer(tls=context) as server:
        yield server


@pytest.fixture
def claude(https_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", https_server.base_url)
    return https_server


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["--no-log", *args])


@pytest.mark.parametrize("mode", [[], ["--async"], ["--no-stream"]], ids=["stream", "async", "invoke"])
def test_a_reply_over_https_from_a_ca_that_ssl_cert_file_names(
    claude: LoopbackServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch, mode: list[str]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    wire = "anthropic_nonstream.json" if mode == ["--no-stream"] else "anthropic_stream_text.sse"
    claude.enqueue(Reply.from_wire(wire))
    result = run("-m", f"anthropic:{MODEL}", *mode, "Greet me")
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")
    assert claude.base_url.startswith("https://") and len(claude.requests) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to name the hashed file")
def test_ssl_cert_dir_is_read_as_httpx_reads_it(
    claude: LoopbackServer, pki: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory of certificates named by their subject hash, as ``c_rehash`` leaves it."""
    hashed = tmp_path / "certs"
    hashed.mkdir()
    ca = x509.load_pem_x509_certificate(pki["ca"].read_bytes())
    (hashed / f"{_subject_hash(ca)}.0").write_bytes(pki["ca"].read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed))
    claude.enqueue(Reply.from_wire("anthropic_stream_text.sse"))
    result = run("-m", f"anthropic:{MODEL}", "Greet me")
    assert (result.exit_code, result.stdout) == (0, GREETING + "\n"), result.stderr


def test_the_openai_provider_checks_the_same_certificates(
    https_server: LoopbackServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    https_server.enqueue(Reply.sse(OPENAI_STREAM))
    result = run("-m", "openai:gpt-4o-mini", "-o", "stream_usage", "false", "--base-url", https_server.base_url, "hi")
    assert (result.exit_code, result.stdout) == (0, "Hi\n"), result.stderr


def test_a_certificate_from_an_unknown_ca_is_refused(claude: LoopbackServer) -> None:
    """Without SSL_CERT_FILE the test CA is not trusted (certifi's bundle is): the connection is refused."""
    claude.enqueue(Reply.from_wire("anthropic_stream_text.sse"))
    result = run("-m", f"anthropic:{MODEL}", "--retries", "0", "Greet me")
    line = error_line(result)
    assert result.exit_code == 5 and result.stdout == ""
    assert "certificate" in line.lower(), line
    assert claude.requests == []  # nothing was sent over the unverified connection


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_a_missing_certificate_source_is_a_configuration_error(
    claude: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    missing = tmp_path / "no-such-certificates"
    monkeypatch.setenv(variable, str(missing))
    result = run("-m", f"anthropic:{MODEL}", "Greet me")
    line = error_line(result)
    assert result.exit_code == 3, line
    assert f"{variable}={missing}" in line and "unset it" in line
    assert claude.requests == []


def test_a_file_with_no_certificates_is_a_configuration_error(
    claude: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(junk))
    result = run("-m", f"anthropic:{MODEL}", "Greet me")
    line = error_line(result)
    assert result.exit_code == 3
    assert "SSL_CERT_FILE=" in line and "no certificate" in line.lower(), line
    assert "_ssl.c" not in line


@pytest.mark.parametrize("variable", [None, "SSL_CERT_FILE"])
def test_the_context_is_the_one_httpx_would_make(
    pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch, variable: str | None
) -> None:
    if variable:
        monkeypatch.setenv(variable, str(pki["ca"]))
    ours, theirs = tls.context(), httpx.create_ssl_context()
    assert _serials(ours) == _serials(theirs) and len(_serials(ours)) >= 1
    assert (ours.verify_mode, ours.check_hostname, ours.options, ours.minimum_version) == (
        theirs.verify_mode,
        theirs.check_hostname,
        theirs.options,
        theirs.minimum_version,
    )
    assert ours.verify_mode == ssl.CERT_REQUIRED and ours.check_hostname


def test_one_context_serves_every_client_and_changes_with_the_environment(
    pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tls.preload()
    default = tls.context()
    assert tls.context() is default
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    assert tls.context() is not default
    assert [cert["subject"] for cert in tls.context().get_ca_certs()] == [((("commonName", "chatstream test CA"),),)]


def _serials(context: ssl.SSLContext) -> list[str]:
    return sorted(cert["serialNumber"] for cert in context.get_ca_certs())


def _subject_hash(certificate: x509.Certificate) -> str:
    """OpenSSL's name for the file of a certificate in a hashed directory (what ``openssl x509 -hash`` prints)."""
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    return (
        subprocess.run(["openssl", "x509", "-hash", "-noout"], input=pem, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )
