"""Originframe's keyed video watermark, and a detector for Stability's reference mark.

    marked = embed_watermark(frames, identifier, keyring.current)
    result = detect_watermark(frames, keyring)   # result.detected, result.p_value, result.identifier

See docs/watermark.md for the payload, the embedding and the detection statistics.
"""

from provenance.watermark.detect import ALGORITHM, WatermarkDetection, detect_watermark
from provenance.watermark.embed import embed_watermark
from provenance.watermark.keys import Keyring, WatermarkKey
from provenance.watermark.payload import IDENTIFIER_BITS
from provenance.watermark.reference import ReferenceWatermarkDetection, detect_reference_watermark

__all__ = [
    "ALGORITHM",
    "IDENTIFIER_BITS",
    "Keyring",
    "ReferenceWatermarkDetection",
    "WatermarkDetection",
    "WatermarkKey",
    "detect_reference_watermark",
    "detect_watermark",
    "embed_watermark",
]
