"""Signing credentials for C2PA manifests: an X.509 chain, a key or a signing callback, trust anchors.

Three ways to get them:

* ``SigningCredentials.load_or_create_development(directory)`` — the embedded default. On first
  use it creates a local root CA, an intermediate CA and an ES256 signer in ``directory`` (private
  keys mode 0600) and reuses them afterwards. Every installation gets its own root, so clips signed
  by another installation are *not* trusted by this one.
* ``SigningCredentials.from_files(chain, key)`` — production certificate and key files.
* ``SigningCredentials.from_callback(chain_pem, sign)`` — the key stays in a KMS or HSM; ``sign``
  receives the bytes to be signed and returns the signature (DER or raw r||s for ECDSA).

The chain handed to c2pa is the signer followed by its intermediates; self-signed certificates
found in a chain file are kept apart as the service's own trust anchors, because C2PA validators
expect the root to come from their trust list, not from the manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import c2pa
import msgspec
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from provenance.errors import CredentialsError

SignCallback = Callable[[bytes], bytes]

# c2pa-rs accepts a signer whose extended key usage contains one of these (its default trust
# configuration); the C2PA claim-signing purpose is the one a C2PA-conformant CA issues.
EMAIL_PROTECTION_EKU = ExtendedKeyUsageOID.EMAIL_PROTECTION
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING_EKU = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
ACCEPTED_SIGNER_EKUS = frozenset(
    {
        EMAIL_PROTECTION_EKU.dotted_string,
        DOCUMENT_SIGNING_EKU.dotted_string,
        C2PA_CLAIM_SIGNING_EKU.dotted_string,
        "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft C2PA signing
    }
)

ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")

# Development certificate files inside the data directory
ROOT_CERT_FILE = "dev-root-ca.pem"
ROOT_KEY_FILE = "dev-root-ca.key"
INTERMEDIATE_CERT_FILE = "dev-intermediate-ca.pem"
INTERMEDIATE_KEY_FILE = "dev-intermediate-ca.key"
SIGNER_CHAIN_FILE = "dev-signer-chain.pem"
SIGNER_KEY_FILE = "dev-signer.key"
_LOCK_FILE = ".dev-credentials.lock"

_ROOT_DAYS = 3650
_INTERMEDIATE_DAYS = 1825
_SIGNER_DAYS = 730
# Re-issue the development signer this long before it expires, so a long-running install never
# signs with an expired certificate (the root stays, so earlier clips stay trusted).
_RENEW_BEFORE = dt.timedelta(days=30)


class CredentialsSummary(msgspec.Struct, kw_only=True):
    """What /health and the CLI say about the signing identity (no secrets)."""

    subject_common_name: str | None
    organisation: str | None
    issuer_common_name: str | None
    algorithm: str
    not_valid_after: str
    certificate_sha256: str
    is_development: bool
    uses_callback: bool
    tsa_url: str | None
    trust_anchor_count: int


@dataclass(frozen=True)
class SigningCredentials:
    """An ES256 (or other C2PA) signing identity and the roots a verifier should trust.

    ``certificate_chain_pem`` holds the signer certificate first, then its intermediates.
    Exactly one of ``private_key_pem`` and ``sign_callback`` is set.
    """

    certificate_chain_pem: str = field(repr=False)
    algorithm: str = "es256"
    private_key_pem: str | None = field(default=None, repr=False)
    sign_callback: SignCallback | None = field(default=None, repr=False)
    tsa_url: str | None = None
    own_roots_pem: str = field(default="", repr=False)
    extra_trust_anchors_pem: str = field(default="", repr=False)
    is_development: bool = False

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise CredentialsError(f"unknown signing algorithm {self.algorithm!r}; use one of {', '.join(ALGORITHMS)}")
        if (self.private_key_pem is None) == (self.sign_callback is None):
            raise CredentialsError("give exactly one of a private key and a signing callback")
        if self.tsa_url is not None and not self.tsa_url.startswith(("http://", "https://")):
            raise CredentialsError(f"timestamp authority URL must be http(s), got {self.tsa_url!r}")
        chain = _parse_certificates(self.certificate_chain_pem, "certificate chain")
        if _is_self_signed(chain[0]):
            raise CredentialsError(
                "the first certificate of the chain is self-signed; C2PA needs a signer issued by a CA"
            )
        _check_signer_profile(chain[0])
        if self.own_roots_pem:
            _parse_certificates(self.own_roots_pem, "own trust anchors")
        if self.extra_trust_anchors_pem:
            _parse_certificates(self.extra_trust_anchors_pem, "extra trust anchors")

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_pem(
        cls,
        certificate_chain_pem: str,
        private_key_pem: str,
        tsa_url: str | None = None,
        *,
        trust_anchors_pem: str = "",
    ) -> SigningCredentials:
        """Credentials from PEM text (e.g. from a secret store). Self-signed certificates in the chain
        become this service's own trust anchors."""
        chain, roots = _split_chain(certificate_chain_pem)
        key = _load_private_key(private_key_pem)
        signer_certificate = x509.load_pem_x509_certificate(chain.encode())
        if _public_bytes(key.public_key()) != _public_bytes(signer_certificate.public_key()):
            raise CredentialsError("the private key does not belong to the first certificate of the chain")
        return cls(
            certificate_chain_pem=chain,
            algorithm=_algorithm_for_key(key),
            private_key_pem=private_key_pem,
            tsa_url=tsa_url,
            own_roots_pem=roots,
            extra_trust_anchors_pem=trust_anchors_pem,
        )

    @classmethod
    def from_files(
        cls,
        cert_chain_pem: str | Path,
        private_key_pem: str | Path,
        tsa_url: str | None = None,
        *,
        trust_anchors_pem: str | Path | None = None,
    ) -> SigningCredentials:
        """Credentials from a PEM chain file (signer first) and a PEM private key file.

        ``trust_anchors_pem`` is an optional file of extra roots to trust when verifying (for
        instance the root that issued the production signer, if the chain file stops short of it).
        """
        anchors = _read_text(trust_anchors_pem, "trust anchors") if trust_anchors_pem else ""
        return cls.from_pem(
            _read_text(cert_chain_pem, "certificate chain"),
            _read_text(private_key_pem, "private key"),
            tsa_url,
            trust_anchors_pem=anchors,
        )

    @classmethod
    def from_callback(
        cls,
        certificate_chain_pem: str,
        sign: SignCallback,
        *,
        algorithm: str = "es256",
        tsa_url: str | None = None,
        trust_anchors_pem: str = "",
    ) -> SigningCredentials:
        """Credentials whose private key lives elsewhere (KMS, HSM): ``sign(data) -> signature``.

        For ECDSA the signature may be DER (what most KMS APIs return) or raw r||s.
        """
        if not callable(sign):
            raise CredentialsError("sign must be a callable taking bytes and returning the signature bytes")
        chain, roots = _split_chain(certificate_chain_pem)
        return cls(
            certificate_chain_pem=chain,
            algorithm=algorithm,
            sign_callback=sign,
            tsa_url=tsa_url,
            own_roots_pem=roots,
            extra_trust_anchors_pem=trust_anchors_pem,
        )

    @classmethod
    def load_or_create_development(
        cls,
        directory: Path,
        organisation: str = "Originframe dev",
        *,
        tsa_url: str | None = None,
        trust_anchors_pem: str = "",
    ) -> SigningCredentials:
        """The development CA and signer in ``directory``: created on first use, reused after.

        Safe when several processes start at once (a lock file serialises creation). A signer that
        expires within 30 days is re-issued from the stored intermediate; the root never changes,
        so clips signed earlier stay trusted.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(directory / _LOCK_FILE):
            paths = {name: directory / name for name in (ROOT_CERT_FILE, SIGNER_CHAIN_FILE, SIGNER_KEY_FILE)}
            present = [name for name, path in paths.items() if path.exists()]
            if not present:
                _create_development_ca(directory, organisation)
            elif len(present) < len(paths):
                missing = sorted(set(paths) - set(present))
                raise CredentialsError(
                    f"development credentials in {directory} are incomplete (missing {', '.join(missing)}); "
                    "restore them, or remove the directory's dev-* files to start a new development CA "
                    "(clips signed by the old one will then read back untrusted)"
                )
            else:
                _renew_development_signer_if_expiring(directory, organisation)
            credentials = cls.from_pem(
                _read_text(directory / SIGNER_CHAIN_FILE, "development signer chain"),
                _read_text(directory / SIGNER_KEY_FILE, "development signer key"),
                tsa_url,
                trust_anchors_pem=trust_anchors_pem,
            )
            root = _read_text(directory / ROOT_CERT_FILE, "development root certificate")
        return replace(credentials, own_roots_pem=_merge_pem(credentials.own_roots_pem, root), is_development=True)

    # -- use ----------------------------------------------------------------------------------

    def with_trust_anchors(self, pem: str) -> SigningCredentials:
        """A copy that also trusts the roots in ``pem`` when verifying."""
        return replace(self, extra_trust_anchors_pem=_merge_pem(self.extra_trust_anchors_pem, pem))

    def trust_anchors_pem(self) -> str:
        """Roots a verifier should trust: this service's own root(s) first, then configured extras."""
        return _merge_pem(self.own_roots_pem, self.extra_trust_anchors_pem)

    @property
    def signer_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_chain_pem.encode())

    def summary(self) -> CredentialsSummary:
        certificate = self.signer_certificate
        anchors = self.trust_anchors_pem()
        return CredentialsSummary(
            subject_common_name=_name_attribute(certificate.subject, NameOID.COMMON_NAME),
            organisation=_name_attribute(certificate.subject, NameOID.ORGANIZATION_NAME),
            issuer_common_name=_name_attribute(certificate.issuer, NameOID.COMMON_NAME),
            algorithm=self.algorithm,
            not_valid_after=certificate.not_valid_after_utc.isoformat(),
            certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            is_development=self.is_development,
            uses_callback=self.sign_callback is not None,
            tsa_url=self.tsa_url,
            trust_anchor_count=len(_parse_certificates(anchors, "trust anchors")) if anchors else 0,
        )

    def c2pa_signer(self) -> c2pa.Signer:
        """A fresh ``c2pa.Signer`` (about 1 ms to build; the caller closes it)."""
        algorithm = getattr(c2pa.C2paSigningAlg, self.algorithm.upper())
        if self.sign_callback is not None:
            return c2pa.Signer.from_callback(self.sign_callback, algorithm, self.certificate_chain_pem, self.tsa_url)
        assert self.private_key_pem is not None  # exactly one of the key and the callback is set
        info = c2pa.C2paSignerInfo(
            algorithm,
            self.certificate_chain_pem.encode(),
            self.private_key_pem.encode(),
            self.tsa_url.encode() if self.tsa_url else None,
        )
        return c2pa.Signer.from_info(info)


# -- certificate helpers --------------------------------------------------------------------------


def _read_text(path: str | Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialsError(f"cannot read the {what} file {path}: {error}") from error


def _parse_certificates(pem: str, what: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as error:
        raise CredentialsError(f"the {what} is not PEM-encoded X.509: {error}") from error
    if not certificates:
        raise CredentialsError(f"the {what} contains no certificate")
    return certificates


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _merge_pem(*bundles: str) -> str:
    seen: set[bytes] = set()
    merged: list[str] = []
    for bundle in bundles:
        if not bundle.strip():
            continue
        for certificate in _parse_certificates(bundle, "trust anchors"):
            digest = certificate.fingerprint(hashes.SHA256())
            if digest not in seen:
                seen.add(digest)
                merged.append(_pem(certificate))
    return "".join(merged)


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except Exception:  # a bad signature, a foreign algorithm: either way not self-signed
        return False
    return True


def _split_chain(pem: str) -> tuple[str, str]:
    """(signer + intermediates, self-signed roots) from a chain bundle."""
    certificates = _parse_certificates(pem, "certificate chain")
    chain = [c for c in certificates if not _is_self_signed(c)]
    roots = [c for c in certificates if _is_self_signed(c)]
    if not chain:
        raise CredentialsError("the certificate chain holds only self-signed certificates; it needs the signer")
    return "".join(map(_pem, chain)), "".join(map(_pem, roots))


def _check_signer_profile(certificate: x509.Certificate) -> None:
    """Fail early, with the reason, where c2pa would later fail with a generic signing error."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CredentialsError(
            "the signer certificate has no key usage extension; C2PA needs digitalSignature"
        ) from None
    if not usage.digital_signature:
        raise CredentialsError("the signer certificate's key usage lacks digitalSignature, which C2PA requires")
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CredentialsError(
            "the signer certificate has no extended key usage; C2PA needs e.g. emailProtection, "
            "documentSigning or the C2PA claim-signing purpose"
        ) from None
    oids = {oid.dotted_string for oid in extended}
    if not oids & ACCEPTED_SIGNER_EKUS:
        raise CredentialsError(
            f"the signer certificate's extended key usages {sorted(oids)} include none that C2PA validators accept"
        )


def _load_private_key(pem: str):
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise CredentialsError(f"the private key is not an unencrypted PEM key: {error}") from error


def _public_bytes(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _algorithm_for_key(key) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in by_curve:
            raise CredentialsError(f"EC curve {key.curve.name} is not allowed by C2PA (use P-256, P-384 or P-521)")
        return by_curve[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise CredentialsError(f"unsupported private key type {type(key).__name__}")


def _name_attribute(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


# -- development CA ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with the final mode from the start (a key is never briefly world-readable)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)  # the umask may have narrowed or the fs widened it
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Development certificate - not for production"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: x509.Name,
    public_key,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    days: int,
    ca_path_length: int | None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    is_ca = ca_path_length is not None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew between hosts
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if subject != issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([EMAIL_PROTECTION_EKU, DOCUMENT_SIGNING_EKU, C2PA_CLAIM_SIGNING_EKU]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _create_development_ca(directory: Path, organisation: str) -> None:
    # A short random tag tells one installation's development identity from another's in reports.
    tag = secrets.token_hex(3)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(organisation, f"{organisation} root CA {tag}")
    root = _issue(root_name, root_key.public_key(), root_name, root_key, days=_ROOT_DAYS, ca_path_length=1)
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_name = _name(organisation, f"{organisation} intermediate CA {tag}")
    intermediate = _issue(
        intermediate_name, intermediate_key.public_key(), root_name, root_key, days=_INTERMEDIATE_DAYS, ca_path_length=0
    )
    _write_private(directory / ROOT_KEY_FILE, _key_pem(root_key), 0o600)
    _write_private(directory / INTERMEDIATE_KEY_FILE, _key_pem(intermediate_key), 0o600)
    _write_private(directory / ROOT_CERT_FILE, _pem(root).encode(), 0o644)
    _write_private(directory / INTERMEDIATE_CERT_FILE, _pem(intermediate).encode(), 0o644)
    _issue_development_signer(directory, organisation, tag, intermediate, intermediate_key)


def _issue_development_signer(
    directory: Path,
    organisation: str,
    tag: str,
    intermediate: x509.Certificate,
    intermediate_key: ec.EllipticCurvePrivateKey,
) -> None:
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = _issue(
        _name(organisation, f"{organisation} signer {tag}"),
        signer_key.public_key(),
        intermediate.subject,
        intermediate_key,
        days=_SIGNER_DAYS,
        ca_path_length=None,
    )
    # key first: a crash between the two writes leaves an old chain with a new key, which
    # from_pem rejects loudly instead of signing with a mismatched pair
    _write_private(directory / SIGNER_KEY_FILE, _key_pem(signer_key), 0o600)
    _write_private(directory / SIGNER_CHAIN_FILE, (_pem(signer) + _pem(intermediate)).encode(), 0o644)


def _renew_development_signer_if_expiring(directory: Path, organisation: str) -> None:
    chain = _parse_certificates(_read_text(directory / SIGNER_CHAIN_FILE, "development signer chain"), "chain")
    expires = chain[0].not_valid_after_utc
    if expires - dt.datetime.now(dt.UTC) > _RENEW_BEFORE:
        return
    intermediate_key_path = directory / INTERMEDIATE_KEY_FILE
    intermediate_path = directory / INTERMEDIATE_CERT_FILE
    if not intermediate_key_path.exists() or not intermediate_path.exists():
        raise CredentialsError(
            f"the development signer in {directory} expires {expires:%Y-%m-%d} and the intermediate CA "
            "needed to renew it is missing"
        )
    intermediate = _parse_certificates(_read_text(intermediate_path, "intermediate certificate"), "intermediate")[0]
    intermediate_key = _load_private_key(_read_text(intermediate_key_path, "intermediate key"))
    tag = (_name_attribute(intermediate.subject, NameOID.COMMON_NAME) or "dev").rsplit(" ", 1)[-1]
    _issue_development_signer(directory, organisation, tag, intermediate, intermediate_key)
