"""A second, foreign test CA ("Elsewhere Test Root"), and files it signs with c2pa-python.

Used to build, inside the tests, the manifests a newsroom meets in the wild: another party's
valid AI credentials, a signer whose certificate has expired, a root nobody here trusts, and
files whose content or claim changed after signing. Nothing is read from disk or the network.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from provenance.manifest import TRAINED_ALGORITHMIC_MEDIA

_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@dataclass(frozen=True)
class ForeignSigner:
    chain_pem: str  # signer certificate, then the root
    key_pem: str
    root_pem: str
    organisation: str
    not_valid_after: dt.datetime

    def wait_until_expired(self, margin_s: float = 1.5) -> None:
        """Sleep until the signer's certificate has been expired for ``margin_s`` (validators compare
        whole seconds)."""
        import time

        left = (self.not_valid_after - dt.datetime.now(dt.UTC)).total_seconds() + margin_s
        if left > 0:
            time.sleep(left)


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)]
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def foreign_signer(
    organisation: str = "Elsewhere Labs", *, valid_for: dt.timedelta = dt.timedelta(days=365)
) -> ForeignSigner:
    """A root CA and an ES256 claim signer it issued, valid from yesterday for ``valid_for`` from now
    (c2pa refuses to sign with an expired certificate: give a few seconds, sign, and wait)."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{organisation} Test Root", organisation)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=3650))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = now - dt.timedelta(days=1), now + valid_for
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} Generator", organisation))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ForeignSigner(
        chain_pem=_pem(signer) + _pem(root),
        key_pem=key_pem,
        root_pem=_pem(root),
        organisation=organisation,
        not_valid_after=signer.not_valid_after_utc,
    )


def sign_foreign(media: bytes, mime: str, signer: ForeignSigner, *, ai_generated: bool = True) -> bytes:
    """``media`` with a manifest by ``signer``: created by its AI generator (or, if not, captured)."""
    source = (
        TRAINED_ALGORITHMIC_MEDIA if ai_generated else "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    )
    definition = {
        "claim_generator_info": [{"name": f"{signer.organisation} Generator", "version": "1.0"}],
        "title": "elsewhere",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source}]}}
        ],
    }
    context = c2pa.Context.from_dict(
        {"builder": {"thumbnail": {"enabled": False}}, "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    )
    output = io.BytesIO()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, signer.chain_pem.encode(), signer.key_pem.encode(), None)
    with context, c2pa.Builder(definition, context=context) as builder, c2pa.Signer.from_info(info) as c2pa_signer:
        builder.sign(c2pa_signer, mime, io.BytesIO(media), output)
    return output.getvalue()


def change_content(mp4: bytes) -> bytes:
    """Flip bytes inside the coded frames (mdat), leaving the manifest as signed."""
    position = mp4.rfind(b"mdat")
    data = bytearray(mp4)
    for offset in range(position + 200, position + 240):
        data[offset] ^= 0xFF
    return bytes(data)


def change_claim(signed: bytes) -> bytes:
    """Alter one byte of the claim's own text (its title) inside the manifest store: the claim no
    longer matches its signature, the content is untouched."""
    marker = b"elsewhere"
    position = signed.find(marker)
    if position < 0:
        raise ValueError("the manifest's title is not in the file")
    data = bytearray(signed)
    data[position] ^= 0x20  # 'e' -> 'E'
    return bytes(data)
