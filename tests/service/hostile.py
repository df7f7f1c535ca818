"""A corpus of hostile uploads, built in code (seeded, a few seconds): every file here once
answered 500 or cost far more than its size suggests. Used by the hardening and fuzz tests
and by bench/verify_budget.py.

Each builder returns bytes; `corpus()` names them. Sizes are kept below the default upload
limit so the files reach the decoders rather than the 413.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def h264_clip(
    width: int,
    height: int,
    frames: int,
    *,
    fps: int = 8,
    noise: bool = False,
    gop: int | None = None,
    container: str = "mp4",
    moving: bool = False,
) -> bytes:
    """A flat (or noisy, or panning) H.264 clip: a flat 4096x4096 one is tiny on disk and huge decoded."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", **({"g": str(gop)} if gop else {})}
        flat = np.full((height, width, 3), 90, np.uint8)
        for index in range(frames):
            if moving:  # a panning pattern with some grain: what camera footage costs to decode
                x = np.arange(width)[None, :] + 4 * index
                y = np.arange(height)[:, None]
                base = 128 + 60 * np.sin(x / 23.0) * np.cos(y / 17.0)
                grain = rng.normal(0, 6, (height, width))
                picture = np.clip(
                    np.stack([base + grain, base[:, ::-1] + grain, 255 - base + grain], -1), 0, 255
                ).astype(np.uint8)
            else:
                picture = rng.integers(0, 255, (height, width, 3), dtype=np.uint8) if noise else flat
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, format="JPEG", quality=10)
    return buffer.getvalue()


def size_changing_mjpeg(
    first: tuple[int, int] = (96, 96), later: tuple[int, int] = (8192, 4096), frames: int = 4
) -> bytes:
    """Motion JPEG in Matroska whose header (and first frame) is small and whose later frames are huge:
    every frame is a whole JPEG of its own size, so only per-frame checks can see it."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as output:
        stream = output.add_stream("mjpeg", rate=8)
        stream.width, stream.height = first
        stream.pix_fmt = "yuvj420p"
        for index, size in enumerate([first] + [later] * (frames - 1)):
            packet = av.Packet(_jpeg(*size))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, index, index, Fraction(1, 8)
            output.mux(packet)
    return buffer.getvalue()


def many_frame_gif(frames: int = 600_000, side: int = 64) -> bytes:
    """A GIF of `frames` 1x1-pixel updates on a side x side canvas: 23 bytes per frame on disk,
    a whole canvas per frame decoded."""
    header = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    # graphic control (delay 1 cs), a 1x1 image at the origin, LZW codes clear(4), 0, end(5)
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"
        + b"\x2c"
        + struct.pack("<HHHH", 0, 0, 1, 1)
        + b"\x00"
        + b"\x02\x02\x44\x01\x00"
    )
    return header + loop + frame * frames + b"\x3b"


def png_bomb(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A PNG claiming width x height of zeros: a few KB compressed, width*height*3 bytes decoded.
    With `rows`, only that many rows of data follow the header (the header is what a decoder
    must refuse; building 30,000 rows takes seconds)."""
    raw_row = b"\x00" + b"\x00" * (width * 3)
    compressor = zlib.compressobj(1)
    data = compressor.compress(raw_row * (height if rows is None else rows)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def byte_flipped(data: bytes, *, seed: int = 0, flips: int = 200) -> bytes:
    rng = np.random.default_rng(seed)
    damaged = bytearray(data)
    for position in rng.integers(64, len(damaged), flips):
        damaged[position] ^= 0xFF
    return bytes(damaged)


def normal_clip() -> bytes:
    """What a genuine upload looks like: 48 frames of 640x360 H.264."""
    return h264_clip(640, 360, 48, moving=True)


def corpus(*, gif_frames: int = 600_000, big_frames: int = 60) -> dict[str, Callable[[], bytes]]:
    """name -> builder, for every hostile case (builders run lazily: a 4096x4096 frame takes ~0.5 s
    to encode, so the tests use fewer `big_frames` than the bench)."""
    small = lambda: h264_clip(128, 96, 24, noise=True)  # noqa: E731
    return {
        "h264_4096x4096_many_frames": lambda: h264_clip(4096, 4096, big_frames),
        "h264_4096x4096_many_frames_keyframe_each": lambda: h264_clip(4096, 4096, big_frames, gop=1),
        "mjpeg_size_change_to_8192x4096": size_changing_mjpeg,
        "mjpeg_size_change_within_limit": lambda: size_changing_mjpeg(later=(4096, 4096), frames=12),
        f"gif_{gif_frames}_tiny_frames": lambda: many_frame_gif(gif_frames),
        "png_bomb_30000x30000": lambda: png_bomb(30000, 30000, rows=200),
        "png_4096x4096_zeros": lambda: png_bomb(4096, 4096),
        "mp4_unknown_fourcc": lambda: small().replace(b"avc1", b"zzzz"),
        "mp4_truncated_half": lambda: (lambda d: d[: len(d) // 2])(small()),
        "mp4_truncated_header": lambda: small()[:100],
        "mp4_byte_flipped": lambda: byte_flipped(small()),
        "mkv_h264_2000_frames_64px": lambda: h264_clip(64, 64, 2000, container="matroska"),
        "mpegts_h264": lambda: h264_clip(128, 96, 24, noise=True, container="mpegts"),
        "garbage_bytes": lambda: np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
    }
