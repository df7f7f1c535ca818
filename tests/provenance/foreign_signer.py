"""Files as other generators sign them: c2pa-python with a second, foreign test CA.

Nothing here uses Originframe's signing code: the CA is made with ``cryptography`` (an ES256 root,
an intermediate and a leaf with the C2PA claim-signing and emailProtection purposes, as a
commercial C2PA CA issues them) and the manifests are written with ``c2pa.Builder`` the way other
services write theirs — a generator that *creates* media, an app that *opens* an AI image and
re-signs it with the image as its ``parentOf`` ingredient (how ChatGPT images are signed), a
camera capture followed by an AI edit.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: x509.Name, key, issuer: x509.Name, issuer_key, *, ca: bool, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
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
    if subject != issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([C2PA_CLAIM_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class ForeignSigner:
    """A signer of another organisation: its chain, key, root and optional TSA."""

    organisation: str
    chain_pem: str
    key_pem: str
    root_pem: str
    root_der: bytes
    intermediate_der: bytes
    tsa_url: str | None = None

    def signer(self) -> c2pa.Signer:
        return c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256,
                self.chain_pem.encode(),
                self.key_pem.encode(),
                self.tsa_url.encode() if self.tsa_url else None,
            )
        )


def foreign_ca(
    organisation: str = "Foreign Generative Lab",
    *,
    signer_lifetime: dt.timedelta = dt.timedelta(days=365),
    signer_not_before: dt.datetime | None = None,
) -> ForeignSigner:
    """A root, an intermediate and a leaf of ``organisation``; the leaf lives ``signer_lifetime``."""
    now = dt.datetime.now(dt.UTC)
    root_key, intermediate_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name = _name(f"{organisation} Root CA", organisation)
    root = _issue(
        root_name,
        root_key,
        root_name,
        root_key,
        ca=True,
        not_before=now - dt.timedelta(days=30),
        not_after=now + dt.timedelta(days=3650),
    )
    intermediate_name = _name(f"{organisation} Issuing CA", organisation)
    intermediate = _issue(
        intermediate_name,
        intermediate_key,
        root_name,
        root_key,
        ca=True,
        not_before=now - dt.timedelta(days=30),
        not_after=now + dt.timedelta(days=1825),
    )
    start = signer_not_before or now - dt.timedelta(minutes=5)
    leaf = _issue(
        _name(f"{organisation} signer", organisation),
        leaf_key,
        intermediate_name,
        intermediate_key,
        ca=False,
        not_before=start,
        not_after=now + signer_lifetime,
    )
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ForeignSigner(
        organisation=organisation,
        chain_pem=_pem(leaf) + _pem(intermediate),
        key_pem=key_pem,
        root_pem=_pem(root),
        root_der=root.public_bytes(serialization.Encoding.DER),
        intermediate_der=intermediate.public_bytes(serialization.Encoding.DER),
    )


def _context() -> c2pa.Context:
    return c2pa.Context.from_dict(
        {"builder": {"thumbnail": {"enabled": False}}, "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    )


def sign(
    data: bytes,
    mime: str,
    definition: dict[str, Any],
    signer: ForeignSigner,
    ingredients: list[tuple[dict[str, Any], str, bytes]] = (),
) -> bytes:
    """``data`` signed by ``signer`` with ``definition`` and the given (ingredient json, mime, bytes)."""
    output = io.BytesIO()
    with _context() as context, c2pa.Builder(definition, context=context) as builder:
        for ingredient, ingredient_mime, ingredient_data in ingredients:
            builder.add_ingredient(ingredient, ingredient_mime, io.BytesIO(ingredient_data))
        with signer.signer() as c2pa_signer:
            builder.sign(c2pa_signer, mime, io.BytesIO(data), output)
    return output.getvalue()


def _definition(generator: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": generator, "version": "3.1"}],
        "title": f"made with {generator}",
        "assertions": [
            {"label": "c2pa.actions.v2", "created": True, "data": {"allActionsIncluded": True, "actions": actions}}
        ],
    }


def created(
    data: bytes,
    mime: str,
    signer: ForeignSigner,
    source_type: str = "trainedAlgorithmicMedia",
    generator: str = "Foreign Video Model",
) -> bytes:
    """A file its generator *created* with the given IPTC digital source type."""
    return sign(
        data,
        mime,
        _definition(
            generator, [{"action": "c2pa.created", "digitalSourceType": IPTC + source_type, "description": "generated"}]
        ),
        signer,
    )


def opened_with_parent(
    parent: bytes,
    mime: str,
    signer: ForeignSigner,
    *,
    generator: str = "Foreign Chat App",
    edits: list[dict[str, Any]] = (),
) -> bytes:
    """``parent`` opened and re-signed, the parent (with its manifest) as ``parentOf`` ingredient;
    ``edits`` are further actions (e.g. an AI edit) after the opening."""
    opened = {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}
    ingredient = {"title": "parent", "relationship": "parentOf", "label": "parent"}
    return sign(parent, mime, _definition(generator, [opened, *edits]), signer, [(ingredient, mime, parent)])


def ai_edit(source_type: str = "compositeWithTrainedAlgorithmicMedia") -> dict[str, Any]:
    return {"action": "c2pa.edited", "digitalSourceType": IPTC + source_type, "description": "generative fill"}
