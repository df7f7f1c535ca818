"""A clip's fingerprint: one 64-bit perceptual hash (and strong-bit mask) per sampled frame.

Stored as bytes with the generation, reloaded into the index at start-up. The registered hash is
variant 0; the other variants (crop hypotheses, mirror) are there for when this fingerprint is
used as a query.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import FingerprintError
from provenance.fingerprint.frame_hash import VARIANTS, hash_frames, informative

FINGERPRINT_ALGORITHM = "originframe.fp.v1"
FORMAT_VERSION = 1
# Enough to cover a generated clip frame by frame (SVD-XT: 25); longer uploads are sampled
# evenly, which keeps frames of a 10 s clip 0.2 s apart.
DEFAULT_MAX_FRAMES = 48

_MAGIC = b"OFP"
_HEADER = struct.Struct("<3sBHHf")  # magic, version, variants, frames, fps (0: unknown)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Per-frame hashes of a clip.

    ``hashes`` and ``strong`` are (variants, frames) uint64: the hash bits and which of them are
    reliable; ``frame_indices`` says which source frames were sampled.
    """

    hashes: np.ndarray
    strong: np.ndarray
    frame_indices: np.ndarray
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.hashes.dtype != np.uint64 or self.strong.dtype != np.uint64:
            raise FingerprintError("fingerprint arrays must be uint64")
        if self.hashes.ndim != 2 or self.hashes.shape != self.strong.shape:
            raise FingerprintError(f"hashes {self.hashes.shape} and strong {self.strong.shape} must be (variants, frames)")
        if self.hashes.shape[0] != len(VARIANTS):
            raise FingerprintError(f"expected {len(VARIANTS)} variants, got {self.hashes.shape[0]}")
        if self.frame_indices.shape != (self.hashes.shape[1],):
            raise FingerprintError("one frame index per hashed frame")

    @property
    def frame_count(self) -> int:
        return int(self.hashes.shape[1])

    @property
    def informative_frames(self) -> int:
        """Frames with enough structure to identify a clip; 0 means this clip cannot be matched."""
        return int(informative(self.strong[0]).sum())

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, FORMAT_VERSION, self.hashes.shape[0], self.frame_count, self.fps or 0.0)
        return b"".join(
            (
                header,
                self.frame_indices.astype("<u4").tobytes(),
                self.hashes.astype("<u8").tobytes(),
                self.strong.astype("<u8").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if len(data) < _HEADER.size:
            raise FingerprintError("stored fingerprint is shorter than its header")
        magic, version, variants, frames, fps = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise FingerprintError("stored bytes are not an Originframe fingerprint")
        if version != FORMAT_VERSION:
            raise FingerprintError(f"fingerprint format {version} is not readable by this version (expects {FORMAT_VERSION})")
        expected = _HEADER.size + frames * 4 + 2 * variants * frames * 8
        if len(data) != expected:
            raise FingerprintError(f"stored fingerprint has {len(data)} bytes, its header implies {expected}")
        offset = _HEADER.size
        indices = np.frombuffer(data, "<u4", frames, offset).astype(np.int64)
        offset += frames * 4
        hashes = np.frombuffer(data, "<u8", variants * frames, offset).reshape(variants, frames)
        offset += variants * frames * 8
        strong = np.frombuffer(data, "<u8", variants * frames, offset).reshape(variants, frames)
        return cls(hashes=hashes.astype(np.uint64), strong=strong.astype(np.uint64), frame_indices=indices,
                   fps=float(fps) or None)

    def soft_binding_value(self) -> str:
        """The registered hashes, base64, for a ``c2pa.soft-binding`` assertion (alg ``FINGERPRINT_ALGORITHM``)."""
        return base64.b64encode(self.hashes[0].astype("<u8").tobytes()).decode("ascii")


def compute_fingerprint(
    frames: np.ndarray | Sequence[np.ndarray],
    *,
    fps: float | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> Fingerprint:
    """Fingerprint RGB uint8 frames: an array (T, H, W, 3), a list of (H, W, 3), or one still (H, W, 3)."""
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = frames[None]
    count = len(frames)
    if count == 0:
        raise FingerprintError("cannot fingerprint a clip without frames")
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    indices = np.unique(np.linspace(0, count - 1, min(count, max_frames)).round().astype(np.int64))
    try:
        hashes, strong = hash_frames([frames[int(i)] for i in indices])
    except ValueError as error:
        raise FingerprintError(str(error)) from error
    return Fingerprint(hashes=hashes, strong=strong, frame_indices=indices, fps=fps)
