"""A real RFC 3161 timestamp authority for tests: ``openssl ts -reply`` behind a loopback HTTP endpoint.

The TSA has its own root CA (made here with ``cryptography``) and a signer whose extended key
usage is the critical ``timeStamping`` purpose RFC 3161 requires. ``LocalTsa`` starts a
``ThreadingHTTPServer`` on 127.0.0.1 on a free port; every POST of an
``application/timestamp-query`` is answered by a fresh ``openssl ts -reply`` run, so the token is
produced by OpenSSL's TSA code, not by anything written for these tests. Stop it with ``close()``
(or use it as a context manager).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_OPENSSL_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {directory}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa-root.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _certificate(subject: str, key, issuer: x509.Name | None, issuer_key, *, ca: bool, days: float) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Timestamp Authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class LocalTsa:
    """An RFC 3161 TSA on loopback; ``url`` to sign with, ``root_pem`` to trust its tokens."""

    def __init__(self) -> None:
        if shutil.which("openssl") is None:
            raise RuntimeError("the local TSA needs the openssl command")
        self.directory = Path(tempfile.mkdtemp(prefix="tsa-"))
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = _certificate("Test TSA root", root_key, None, root_key, ca=True, days=3650)
        key = ec.generate_private_key(ec.SECP256R1())
        signer = _certificate("Test TSA signer", key, root.subject, root_key, ca=False, days=365)
        pem = serialization.Encoding.PEM
        self.root_pem = root.public_bytes(pem).decode()
        (self.directory / "tsa-root.pem").write_text(self.root_pem)
        (self.directory / "tsa.pem").write_bytes(signer.public_bytes(pem))
        (self.directory / "tsa.key").write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        (self.directory / "serial").write_text("01\n")
        (self.directory / "openssl.cnf").write_text(_OPENSSL_CONFIG.format(directory=self.directory))
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tsa"

    def reply(self, query: bytes) -> bytes:
        """One ``openssl ts -reply`` run (serialised: openssl rewrites the serial file)."""
        with self._lock:
            self.requests += 1
            query_file = self.directory / f"query-{self.requests}.tsq"
            query_file.write_bytes(query)
            completed = subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.directory / "openssl.cnf"),
                    "-section",
                    "tsa_config",
                    "-queryfile",
                    str(query_file),
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )
        if completed.returncode != 0:
            raise RuntimeError(f"openssl ts -reply failed: {completed.stderr.decode(errors='replace')}")
        return completed.stdout

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = tsa.reply(self.rfile.read(length))
                except RuntimeError as error:
                    self.send_error(500, str(error))
                    return
                self.send_response(200)
                self.send_header("content-type", "application/timestamp-reply")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep test output quiet
                return

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalTsa:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
