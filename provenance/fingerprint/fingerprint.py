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
from provenance.fingerprint.frame_hash import ALL_VARIANT_NAMES, QUERY_VARIANTS, VARIANTS, hash_frames, informative

FINGERPRINT_ALGORITHM = "originframe.fp.v1"
# 2: an optional input-image hash (image-to-video) after the frames; version 1 is still read
FORMAT_VERSION = 2
# Enough to cover a generated clip frame by frame (SVD-XT: 25); longer uploads are sampled
# evenly, which keeps frames of a 10 s clip 0.2 s apart.
DEFAULT_MAX_FRAMES = 48

# a registration stores VARIANTS; a query has QUERY_VARIANTS, on the content region too when one is found
_VARIANT_COUNTS = (len(VARIANTS), len(QUERY_VARIANTS), len(ALL_VARIANT_NAMES))
# A query (the verifier's suspect) may be far longer than any generation (a compilation, a
# stream recording): it is sampled densely enough that a 3 s clip anywhere in it keeps the
# MIN_ALIGNED_FRAMES frames an alignment needs: QUERY_FRAMES_PER_SECOND, up to QUERY_MAX_FRAMES.
QUERY_FRAMES_PER_SECOND = 4.0
QUERY_MAX_FRAMES = 256

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
    # image-to-video: the input image's own hash (canonical variant) and strong bits, so that a
    # suspect matching the input rather than the motion can be told apart
    input_hash: np.uint64 | None = None
    input_strong: np.uint64 | None = None

    def __post_init__(self) -> None:
        if self.hashes.dtype != np.uint64 or self.strong.dtype != np.uint64:
            raise FingerprintError("fingerprint arrays must be uint64")
        if self.hashes.ndim != 2 or self.hashes.shape != self.strong.shape:
            raise FingerprintError(
                f"hashes {self.hashes.shape} and strong {self.strong.shape} must be (variants, frames)"
            )
        if self.hashes.shape[0] not in _VARIANT_COUNTS:
            raise FingerprintError(
                f"expected {' or '.join(map(str, _VARIANT_COUNTS))} variants, got {self.hashes.shape[0]}"
            )
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
        image = b""
        if self.input_hash is not None and self.input_strong is not None:
            image = np.array([self.input_hash, self.input_strong], "<u8").tobytes()
        return b"".join(
            (
                header,
                self.frame_indices.astype("<u4").tobytes(),
                self.hashes.astype("<u8").tobytes(),
                self.strong.astype("<u8").tobytes(),
                image,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if len(data) < _HEADER.size:
            raise FingerprintError("stored fingerprint is shorter than its header")
        magic, version, variants, frames, fps = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise FingerprintError("stored bytes are not an Originframe fingerprint")
        if version not in (1, FORMAT_VERSION):
            raise FingerprintError(
                f"fingerprint format {version} is not readable by this version (expects {FORMAT_VERSION})"
            )
        expected = _HEADER.size + frames * 4 + 2 * variants * frames * 8
        with_image = version >= 2 and len(data) == expected + 16
        if len(data) != expected and not with_image:
            raise FingerprintError(f"stored fingerprint has {len(data)} bytes, its header implies {expected}")
        offset = _HEADER.size
        indices = np.frombuffer(data, "<u4", frames, offset).astype(np.int64)
        offset += frames * 4
        hashes = np.frombuffer(data, "<u8", variants * frames, offset).reshape(variants, frames)
        offset += variants * frames * 8
        strong = np.frombuffer(data, "<u8", variants * frames, offset).reshape(variants, frames)
        input_hash = input_strong = None
        if with_image:
            input_hash, input_strong = np.frombuffer(data, "<u8", 2, expected).astype(np.uint64)
        return cls(
            hashes=hashes.astype(np.uint64),
            strong=strong.astype(np.uint64),
            frame_indices=indices,
            fps=float(fps) or None,
            input_hash=input_hash,
            input_strong=input_strong,
        )

    def soft_binding_value(self) -> str:
        """The registered hashes, base64, for a ``c2pa.soft-binding`` assertion (alg ``FINGERPRINT_ALGORITHM``)."""
        return base64.b64encode(self.hashes[0].astype("<u8").tobytes()).decode("ascii")


def compute_fingerprint(
    frames: np.ndarray | Sequence[np.ndarray],
    *,
    fps: float | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    input_image: np.ndarray | None = None,
) -> Fingerprint:
    """Fingerprint RGB uint8 frames: an array (T, H, W, 3), a list of (H, W, 3), or one still (H, W, 3).

    ``input_image`` (RGB uint8, image-to-video): its hash is kept beside the frames'."""
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
    input_hash = input_strong = None
    if input_image is not None:
        try:
            image_hashes, image_strong = hash_frames([input_image])
        except ValueError as error:
            raise FingerprintError(f"input image: {error}") from error
        input_hash, input_strong = image_hashes[0, 0], image_strong[0, 0]
    return Fingerprint(
        hashes=hashes, strong=strong, frame_indices=indices, fps=fps, input_hash=input_hash, input_strong=input_strong
    )


def query_fingerprint(frames: np.ndarray | Sequence[np.ndarray], fps: float | None = None) -> Fingerprint:
    """The fingerprint of a suspect clip, for searching the registry: sampled densely (a
    registered clip may be a few seconds of a long upload), every frame hashed under the query
    variants (crops, both flips, the half turn), and once more on the content region when the
    frame shows more than the clip (bars, a blurred copy behind it, a decorated border, a
    picture-in-picture)."""
    from provenance.watermark.analysis import luma
    from provenance.watermark.region import content_region, inset_regions

    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = frames[None]
    count = len(frames)
    if count == 0:
        raise FingerprintError("cannot fingerprint a clip without frames")
    seconds = count / fps if fps else count / DEFAULT_MAX_FRAMES
    wanted = max(DEFAULT_MAX_FRAMES, min(QUERY_MAX_FRAMES, int(np.ceil(seconds * QUERY_FRAMES_PER_SECOND))))
    indices = np.unique(np.linspace(0, count - 1, min(count, wanted)).round().astype(np.int64))
    chosen = [np.ascontiguousarray(frames[int(i)]) for i in indices]
    try:
        hashes, strong = hash_frames(chosen, QUERY_VARIANTS)
    except ValueError as error:
        raise FingerprintError(str(error)) from error
    region = None
    if min(chosen[0].shape[:2]) >= 32:
        lumas = [luma(frame) for frame in chosen[:: max(len(chosen) // 8, 1)]]
        region = content_region(lumas)
        if region is None:
            insets = inset_regions(lumas, 1)
            region = insets[0] if insets else None
    if region is not None:
        inner = [frame[region.top : region.bottom, region.left : region.right] for frame in chosen]
        region_hashes, region_strong = hash_frames(inner, QUERY_VARIANTS)
        hashes, strong = np.concatenate([hashes, region_hashes]), np.concatenate([strong, region_strong])
    return Fingerprint(hashes=hashes, strong=strong, frame_indices=indices, fps=fps)
