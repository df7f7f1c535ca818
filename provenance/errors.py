"""Domain errors raised by the provenance package (mapped to HTTP once, in service.errors)."""


class ProvenanceError(Exception):
    """Base class for provenance failures the caller can act on."""


class UnreadableMedia(ProvenanceError, ValueError):
    """The uploaded bytes are not a decodable image or video."""
