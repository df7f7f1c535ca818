"""The one SHA-256 helper set: hex digests of bytes, of text and of a file read in chunks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Of the UTF-8 encoding (prompts, API key secrets)."""
    return sha256_hex(text.encode())


def sha256_json(value: Any) -> str:
    """Of a JSON document with sorted keys, so equal values digest equally."""
    return sha256_hex(json.dumps(value, sort_keys=True).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
