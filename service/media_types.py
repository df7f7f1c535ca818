"""Media types: what an uploaded or stored image is (by its first bytes, never by its name)."""

from __future__ import annotations

OCTET_STREAM = "application/octet-stream"


def sniff_image_type(data: bytes) -> str:
    """image/png, image/jpeg or image/webp by magic number; anything else is octet-stream."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return OCTET_STREAM
