"""Whom a reader trusts: signer roots (the C2PA trust list, our own root, extras) and TSA roots.

Both lists are local files, never fetched: a PEM bundle, or the JSON trust list the C2PA
Conformance Program publishes (ETSI TS 119 602 "list of trusted entities": each service's
``ServiceDigitalIdentity.X509Certificates[].val`` is a base64 DER certificate; only services whose
``ServiceStatus`` ends in ``/trusted`` are taken, withdrawn ones are skipped).

Signer anchors and TSA anchors are kept apart: c2pa checks a timestamp token's chain against
the TSA anchors only, so a TSA root never makes a manifest signer trusted, nor the reverse.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from provenance.errors import CredentialsError

_TRUSTED_STATUS_SUFFIX = "/trusted"


def _certificates_from_json(document: Any, source: str) -> list[x509.Certificate]:
    try:
        entities = document["LoTE"]["TrustedEntitiesList"]
    except (KeyError, TypeError):
        raise CredentialsError(f"{source} is JSON but not a C2PA trust list (no LoTE.TrustedEntitiesList)") from None
    certificates: list[x509.Certificate] = []
    for entity in entities or []:
        for service in entity.get("TrustedEntityServices") or []:
            information = service.get("ServiceInformation") or {}
            status = str(information.get("ServiceStatus") or service.get("ServiceStatus") or "")
            if status and not status.endswith(_TRUSTED_STATUS_SUFFIX):
                continue
            identity = information.get("ServiceDigitalIdentity") or {}
            for item in identity.get("X509Certificates") or []:
                try:
                    certificates.append(x509.load_der_x509_certificate(base64.b64decode(item["val"], validate=True)))
                except (KeyError, TypeError, ValueError, binascii.Error) as error:
                    raise CredentialsError(f"{source}: a certificate entry is not base64 DER: {error}") from error
    return certificates


def load_trust_list(path: str | Path) -> str:
    """The certificates of a trust-list file (PEM bundle or C2PA JSON list) as one PEM bundle."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise CredentialsError(f"cannot read the trust list {source}: {error}") from error
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if text.startswith("{"):
        try:
            certificates = _certificates_from_json(json.loads(text), source)
        except json.JSONDecodeError as error:
            raise CredentialsError(f"the trust list {source} is not valid JSON: {error}") from error
    else:
        try:
            certificates = x509.load_pem_x509_certificates(raw)
        except ValueError as error:
            raise CredentialsError(
                f"the trust list {source} is neither a PEM bundle nor a C2PA JSON list: {error}"
            ) from error
    if not certificates:
        raise CredentialsError(f"the trust list {source} holds no trusted certificate")
    return merge_pem(*(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates))


def merge_pem(*bundles: str) -> str:
    """PEM bundles joined, each certificate once."""
    seen: set[bytes] = set()
    merged: list[str] = []
    for bundle in bundles:
        if not bundle or not bundle.strip():
            continue
        for certificate in x509.load_pem_x509_certificates(bundle.encode()):
            digest = certificate.fingerprint(hashes.SHA256())
            if digest not in seen:
                seen.add(digest)
                merged.append(certificate.public_bytes(serialization.Encoding.PEM).decode())
    return "".join(merged)


def count_certificates(pem: str) -> int:
    return len(x509.load_pem_x509_certificates(pem.encode())) if pem.strip() else 0


class TrustSummary(msgspec.Struct, kw_only=True):
    """What /health says about reading other signers: how many roots, of which kind."""

    signer_anchors: int
    tsa_anchors: int


@dataclass(frozen=True)
class TrustConfiguration:
    """Roots a reader trusts for manifest signers, and for timestamp authorities."""

    signer_anchors_pem: str = ""
    tsa_anchors_pem: str = ""

    @classmethod
    def from_files(
        cls,
        trust_list: str | Path | None = None,
        tsa_trust_list: str | Path | None = None,
        *,
        signer_anchors_pem: str = "",
    ) -> TrustConfiguration:
        """``trust_list`` (e.g. the C2PA trust list) adds to ``signer_anchors_pem``."""
        signers = load_trust_list(trust_list) if trust_list else ""
        tsa = load_trust_list(tsa_trust_list) if tsa_trust_list else ""
        return cls(signer_anchors_pem=merge_pem(signer_anchors_pem, signers), tsa_anchors_pem=tsa)

    def with_signer_anchors(self, pem: str) -> TrustConfiguration:
        return TrustConfiguration(
            signer_anchors_pem=merge_pem(self.signer_anchors_pem, pem or ""), tsa_anchors_pem=self.tsa_anchors_pem
        )

    def summary(self) -> TrustSummary:
        return TrustSummary(
            signer_anchors=count_certificates(self.signer_anchors_pem),
            tsa_anchors=count_certificates(self.tsa_anchors_pem),
        )

    @property
    def configured(self) -> bool:
        return bool(self.signer_anchors_pem.strip())

    def c2pa_trust_settings(self) -> dict[str, Any]:
        """The ``trust`` section of c2pa's settings (empty: c2pa's defaults)."""
        settings: dict[str, Any] = {}
        if self.signer_anchors_pem.strip():
            # user_anchors adds to c2pa's built-in list and keeps its signer-EKU configuration
            settings["user_anchors"] = self.signer_anchors_pem
        if self.tsa_anchors_pem.strip():
            settings["anchors"] = [
                {
                    "trust_anchors": self.tsa_anchors_pem,
                    "trust_kind": "tsa",
                    "trust_uri": "urn:originframe:tsa-trust-list",
                }
            ]
        return settings
