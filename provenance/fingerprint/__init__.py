"""Perceptual fingerprints of clips and a registry that finds a clip again after it was re-encoded,
resized, cropped, recoloured, re-timed or turned into a GIF -- also when the watermark is gone."""

from provenance.fingerprint.fingerprint import (
    DEFAULT_MAX_FRAMES,
    FINGERPRINT_ALGORITHM,
    Fingerprint,
    compute_fingerprint,
    query_fingerprint,
)
from provenance.fingerprint.index import FingerprintIndex, FingerprintMatch
from provenance.fingerprint.matching import MATCH_THRESHOLD, MIN_QUERY_FRAMES, STILL_MATCH_THRESHOLD

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "FINGERPRINT_ALGORITHM",
    "MATCH_THRESHOLD",
    "MIN_QUERY_FRAMES",
    "STILL_MATCH_THRESHOLD",
    "Fingerprint",
    "FingerprintIndex",
    "FingerprintMatch",
    "compute_fingerprint",
    "query_fingerprint",
]
