"""Signing credentials: the development CA, production files, and the KMS/HSM callback."""

from __future__ import annotations

import datetime as dt
import io
import stat

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance import credentials as credentials_module
from provenance.credentials import (
    C2PA_CLAIM_SIGNING_EKU,
    ROOT_CERT_FILE,
    SIGNER_CHAIN_FILE,
    SIGNER_KEY_FILE,
    SigningCredentials,
)
from provenance.errors import CredentialsError
from provenance.manifest import ManifestInfo, read_manifest, sign_image


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


INFO = ManifestInfo(
    generation_id="gen_1",
    model_id="tiny",
    model_version="1",
    parameters_digest="sha256:00",
    policy_version="p1",
    decision_id="dec_1",
)


def test_development_ca_is_created_once_with_private_keys_0600(tmp_path):
    directory = tmp_path / "credentials"
    first = SigningCredentials.load_or_create_development(directory)
    again = SigningCredentials.load_or_create_development(directory)

    assert first.is_development and first.algorithm == "es256"
    assert again.certificate_chain_pem == first.certificate_chain_pem
    assert again.trust_anchors_pem() == first.trust_anchors_pem()
    for path in directory.glob("*.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(list(directory.glob("*.key"))) == 3  # root, intermediate, signer


def test_development_chain_is_root_intermediate_signer_with_c2pa_usages(tmp_path):
    credentials = SigningCredentials.load_or_create_development(tmp_path, organisation="Test Org")
    signer, intermediate = x509.load_pem_x509_certificates(credentials.certificate_chain_pem.encode())
    (root,) = x509.load_pem_x509_certificates(credentials.trust_anchors_pem().encode())

    assert signer.issuer == intermediate.subject and intermediate.issuer == root.subject
    signer.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    assert isinstance(signer.public_key(), ec.EllipticCurvePublicKey)
    assert signer.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = set(signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert {ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING_EKU} <= usages
    summary = credentials.summary()
    assert summary.organisation == "Test Org" and summary.is_development and summary.trust_anchor_count == 1


def test_two_installations_get_different_roots(tmp_path):
    ours = SigningCredentials.load_or_create_development(tmp_path / "a")
    theirs = SigningCredentials.load_or_create_development(tmp_path / "b")
    assert ours.trust_anchors_pem() != theirs.trust_anchors_pem()


def test_incomplete_development_directory_is_refused_not_silently_replaced(tmp_path):
    SigningCredentials.load_or_create_development(tmp_path)
    (tmp_path / SIGNER_KEY_FILE).unlink()
    with pytest.raises(CredentialsError, match="incomplete"):
        SigningCredentials.load_or_create_development(tmp_path)


def test_expiring_development_signer_is_renewed_under_the_same_root(tmp_path, monkeypatch):
    first = SigningCredentials.load_or_create_development(tmp_path)
    monkeypatch.setattr(credentials_module, "_RENEW_BEFORE", dt.timedelta(days=100_000))
    renewed = SigningCredentials.load_or_create_development(tmp_path)

    assert renewed.certificate_chain_pem != first.certificate_chain_pem
    assert renewed.trust_anchors_pem() == first.trust_anchors_pem()
    signed = sign_image(_png(), "image/png", INFO, renewed)
    assert read_manifest(signed, "image/png", first.trust_anchors_pem()).validation_state == "Trusted"


def test_from_files_splits_root_from_chain_and_checks_the_key(tmp_path):
    development = SigningCredentials.load_or_create_development(tmp_path / "dev")
    chain_with_root = tmp_path / "chain.pem"
    chain_with_root.write_text(development.certificate_chain_pem + development.trust_anchors_pem())

    loaded = SigningCredentials.from_files(chain_with_root, tmp_path / "dev" / SIGNER_KEY_FILE, tsa_url=None)
    assert not loaded.is_development
    assert loaded.certificate_chain_pem == development.certificate_chain_pem
    assert loaded.trust_anchors_pem() == development.trust_anchors_pem()

    foreign_key = tmp_path / "foreign.key"
    foreign_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(CredentialsError, match="does not belong"):
        SigningCredentials.from_files(chain_with_root, foreign_key)
    with pytest.raises(CredentialsError, match="cannot read"):
        SigningCredentials.from_files(tmp_path / "missing.pem", foreign_key)


def test_configured_extra_anchors_are_trusted_besides_our_own_root(tmp_path):
    ours = SigningCredentials.load_or_create_development(tmp_path / "ours")
    partner = SigningCredentials.load_or_create_development(tmp_path / "partner")
    trusting = ours.with_trust_anchors(partner.trust_anchors_pem())

    assert ours.trust_anchors_pem() in trusting.trust_anchors_pem()
    partner_image = sign_image(_png(), "image/png", INFO, partner)
    assert read_manifest(partner_image, "image/png", ours.trust_anchors_pem()).validation_state == "Valid"
    assert read_manifest(partner_image, "image/png", trusting.trust_anchors_pem()).validation_state == "Trusted"


def test_callback_signer_for_kms_or_hsm_produces_trusted_manifests(tmp_path):
    development = SigningCredentials.load_or_create_development(tmp_path)
    key = serialization.load_pem_private_key((tmp_path / SIGNER_KEY_FILE).read_bytes(), password=None)
    calls = []

    def kms_sign(data: bytes) -> bytes:
        calls.append(len(data))
        return key.sign(data, ec.ECDSA(hashes.SHA256()))  # DER, as KMS APIs return it

    chain = (tmp_path / SIGNER_CHAIN_FILE).read_text() + (tmp_path / ROOT_CERT_FILE).read_text()
    remote = SigningCredentials.from_callback(chain, kms_sign)
    assert remote.private_key_pem is None and remote.summary().uses_callback

    signed = sign_image(_png(), "image/png", INFO, remote)
    assert calls
    assert read_manifest(signed, "image/png", development.trust_anchors_pem()).validation_state == "Trusted"


def test_signer_without_c2pa_usages_is_refused_early(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ca")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "tls")]))
        .issuer_name(name)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = leaf.public_bytes(serialization.Encoding.PEM).decode() + ca.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(CredentialsError, match="extended key usages"):
        SigningCredentials.from_pem(pem, key_pem)
