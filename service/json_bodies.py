"""JSON bodies decoded safely: nesting bounded before any decoder recurses, UTF-8 checked,
every failure a 422 with the reason (never a RecursionError or UnicodeDecodeError traceback)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
import numpy as np

from service.problems import InvalidRequest

T = TypeVar("T")

# No request type of this API nests deeper than a few levels; 32 leaves room for clients
# that wrap things, and keeps every decoder far below its recursion limit.
MAX_JSON_DEPTH = 32

# A JSON string, with escapes (the unrolled form: linear time, no backtracking).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte except brackets


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in `body` (brackets inside strings do not count)."""
    structure = _JSON_STRING.sub(b"", body).translate(None, _BRACKETS)
    if not structure:
        return 0
    steps = np.frombuffer(structure, dtype=np.uint8)
    opening = (steps == ord("[")) | (steps == ord("{"))
    return int(np.cumsum(np.where(opening, 1, -1)).max())


def decode_json(body: bytes, type_: type[T] | Any = Any, *, what: str = "the body") -> T:
    """Decode a JSON body into `type_`, answering 422 with the reason for anything malformed."""
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequest(f"{what} nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    try:
        return msgspec.json.decode(body, type=type_)
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"{what} is not valid UTF-8 (byte {error.start})") from None
    except msgspec.ValidationError as error:
        raise InvalidRequest(f"invalid field: {error}") from None
    except (msgspec.DecodeError, RecursionError) as error:
        raise InvalidRequest(f"{what} is not valid JSON: {error}") from None


__all__ = ["MAX_JSON_DEPTH", "decode_json", "json_depth"]
