"""RFC 3161 timestamps from a real TSA (``openssl ts -reply`` on loopback, started and stopped here):
a clip signed by a certificate that has since expired stays Trusted when its signature was
timestamped while the certificate was valid; without a timestamp the report says why it no
longer validates."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import numpy as np
import pytest
from cryptography import x509

from provenance.credentials import SigningCredentials
from provenance.manifest import ManifestInfo, read_manifest, sign_mp4
from provenance.media import encode_mp4_bytes
from provenance.trust import TrustConfiguration
from tests.provenance.foreign_signer import foreign_ca
from tests.provenance.local_tsa import LocalTsa

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the local TSA needs the openssl command")

# long enough to sign two clips on a loaded CI machine, short enough to wait out
SIGNER_LIFETIME = dt.timedelta(seconds=8)


@pytest.fixture(scope="module")
def tsa():
    with LocalTsa() as authority:
        yield authority


@pytest.fixture(scope="module")
def clip() -> bytes:
    base = np.random.default_rng(11).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    return encode_mp4_bytes(np.stack([np.roll(base, i, axis=1) for i in range(6)]), fps=6)


INFO = ManifestInfo(
    generation_id="gen_ts",
    model_id="tiny",
    model_version="1",
    parameters_digest="d",
    policy_version="p",
    decision_id="d",
)


def test_a_timestamped_signature_reads_its_time_and_a_trusted_timestamp(tsa, clip, tmp_path):
    ours = SigningCredentials.load_or_create_development(tmp_path / "keys", tsa_url=tsa.url)
    signed = sign_mp4(clip, INFO, ours)
    assert tsa.requests >= 1  # the token really came from the local TSA

    untrusted_tsa = read_manifest(signed, None, ours.trust_anchors_pem())
    assert untrusted_tsa.timestamped and not untrusted_tsa.timestamp_trusted
    assert "timeStamp.untrusted" in untrusted_tsa.informational_codes

    (tmp_path / "tsa.pem").write_text(tsa.root_pem)
    trust = TrustConfiguration.from_files(tsa_trust_list=tmp_path / "tsa.pem")
    report = read_manifest(signed, None, ours.trust_anchors_pem(), trust=trust)
    assert report.trusted and report.timestamped and report.timestamp_trusted
    stamped = dt.datetime.fromisoformat(report.signing_time)
    assert abs((stamped - dt.datetime.now(dt.UTC)).total_seconds()) < 120


def test_a_tsa_root_does_not_make_manifest_signers_trusted(tsa, clip, tmp_path):
    ours = SigningCredentials.load_or_create_development(tmp_path / "keys", tsa_url=tsa.url)
    signed = sign_mp4(clip, INFO, ours)
    (tmp_path / "tsa.pem").write_text(tsa.root_pem)
    report = read_manifest(signed, None, None, trust=TrustConfiguration.from_files(tsa_trust_list=tmp_path / "tsa.pem"))
    assert report.timestamp_trusted and not report.trusted
    assert "signingCredential.untrusted" in report.failure_codes


def test_a_short_lived_certificate_stays_trusted_after_expiry_only_with_a_timestamp(tsa, clip, tmp_path):
    issuer = foreign_ca("Short Lived Signer", signer_lifetime=SIGNER_LIFETIME)
    expires = x509.load_pem_x509_certificate(issuer.chain_pem.encode()).not_valid_after_utc
    stamped_signer = SigningCredentials.from_pem(issuer.chain_pem, issuer.key_pem, tsa_url=tsa.url)
    plain_signer = SigningCredentials.from_pem(issuer.chain_pem, issuer.key_pem)
    with_timestamp = sign_mp4(clip, INFO, stamped_signer)
    without_timestamp = sign_mp4(clip, INFO, plain_signer)
    assert dt.datetime.now(dt.UTC) < expires, "signing took longer than the certificate lived"
    (tmp_path / "tsa.pem").write_text(tsa.root_pem)
    trust = TrustConfiguration.from_files(tsa_trust_list=tmp_path / "tsa.pem")

    before = read_manifest(without_timestamp, None, issuer.root_pem, trust=trust)
    assert before.trusted and before.validity_problem is None

    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.5)

    kept = read_manifest(with_timestamp, None, issuer.root_pem, trust=trust)
    assert kept.validation_state == "Trusted" and kept.timestamp_trusted and kept.validity_problem is None
    assert dt.datetime.fromisoformat(kept.signing_time) < expires

    lapsed = read_manifest(without_timestamp, None, issuer.root_pem, trust=trust)
    assert lapsed.validation_state == "Invalid" and not lapsed.trusted and not lapsed.tampered
    assert "signingCredential.expired" in lapsed.failure_codes
    assert lapsed.signature_valid is not None and lapsed.content_hash_intact  # nothing was altered
    assert "no trusted RFC 3161 timestamp" in lapsed.validity_problem


def test_an_unreachable_tsa_fails_signing_with_the_reason(clip, tmp_path):
    """A configured timestamp is a promise: signing without it would silently shorten the clip's life."""
    import socket

    from provenance.errors import SigningError

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    ours = SigningCredentials.load_or_create_development(
        tmp_path / "keys", tsa_url=f"http://127.0.0.1:{closed_port}/tsa"
    )
    with pytest.raises(SigningError, match="C2PA signing failed"):
        sign_mp4(clip, INFO, ours)
