"""Domain errors raised by the provenance package (mapped to HTTP once, in service.errors)."""


class ProvenanceError(Exception):
    """Base class for provenance failures the caller can act on."""


class UnreadableMedia(ProvenanceError, ValueError):
    """The uploaded bytes are not a decodable image or video."""


class ManifestError(UnreadableMedia):
    """The bytes are malformed or truncated, so no C2PA manifest can be read from them."""


class SigningError(ProvenanceError):
    """A C2PA manifest could not be signed into the asset (bad input, format or credentials)."""


class CredentialsError(ProvenanceError):
    """Signing credentials are missing, unreadable or do not fit together."""


class FingerprintError(ProvenanceError, ValueError):
    """A fingerprint could not be computed or decoded (no frames, corrupt stored bytes)."""
