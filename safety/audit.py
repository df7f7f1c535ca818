"""Tamper-evident decision log: canonical serialisation, hash chaining and verification.

Each record carries `sequence` (0, 1, 2, ...), `previous_hash` (the `record_hash` of the
record before it; 64 zeros for the first) and `record_hash`:

    record_hash = sha256( previous_hash || 0x0A || canonical_json(record without record_hash) )

Because the hash covers the sequence number and the previous hash, editing any field of a
record breaks its own hash; deleting, inserting or reordering records breaks the link of
the record after it; editing a record *and* recomputing its hash still breaks the next
link. Only the newest records can be cut off without a trace, so keep the head hash (the
last `record_hash`) somewhere else too and pass it as `expected_head`.

These are pure functions; storage (SQL rows, JSONL export) belongs to the caller.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "ChainReport",
    "canonical_json",
    "chain_hash",
    "seal_record",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
_CHAIN_FIELDS = ("sequence", "previous_hash", "record_hash")


def _check_numbers(value: Any, path: str = "record") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} has no canonical JSON form")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings, got {k!r}")
            _check_numbers(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_numbers(v, f"{path}[{i}]")


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no insignificant whitespace, no NaN/Infinity.

    Floats use Python's shortest round-trip repr, so a record read back from JSON hashes
    the same as the one written. Timestamps should be strings (ISO 8601) to stay exact.
    """
    _check_numbers(record)
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def chain_hash(previous_hash: str, record: Mapping[str, Any]) -> str:
    """sha256 hex digest linking `record` (its `record_hash` field, if any, is ignored) to the chain."""
    if not isinstance(previous_hash, str) or len(previous_hash) != 64:
        raise ValueError(f"previous_hash must be a 64-character hex digest, got {previous_hash!r}")
    body = {k: v for k, v in record.items() if k != "record_hash"}
    return hashlib.sha256(previous_hash.encode("ascii") + b"\n" + canonical_json(body)).hexdigest()


def seal_record(body: Mapping[str, Any], *, sequence: int, previous_hash: str = GENESIS_HASH) -> dict[str, Any]:
    """A copy of `body` with `sequence`, `previous_hash` and `record_hash` filled in."""
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ValueError(f"sequence must be a non-negative integer, got {sequence!r}")
    clash = [k for k in _CHAIN_FIELDS if k in body]
    if clash:
        raise ValueError(f"body must not set the chain fields {clash}")
    record = dict(body)
    record["sequence"] = sequence
    record["previous_hash"] = previous_hash
    record["record_hash"] = chain_hash(previous_hash, record)
    return record


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int  # records examined
    first_bad_position: int | None = None  # index in the list given to verify_chain
    first_bad_sequence: int | None = None  # the `sequence` value stored in that record
    problem: str | None = None  # edited | deleted | inserted | reordered | duplicated | truncated | malformed
    detail: str = ""
    head_hash: str | None = None  # record_hash of the last record checked

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_position": self.first_bad_position,
            "first_bad_sequence": self.first_bad_sequence,
            "problem": self.problem,
            "detail": self.detail,
            "head_hash": self.head_hash,
        }


def _bad(
    position: int, checked: int, record: Mapping[str, Any] | None, problem: str, detail: str, head: str | None
) -> ChainReport:
    seq = record.get("sequence") if isinstance(record, Mapping) else None
    return ChainReport(False, checked, position, seq if isinstance(seq, int) else None, problem, detail, head)


def verify_chain(
    records: Iterable[Mapping[str, Any]],
    *,
    previous_hash: str = GENESIS_HASH,
    start_sequence: int = 0,
    expected_head: str | None = None,
) -> ChainReport:
    """Check a run of records in storage order and say where the first problem is.

    To check a window of a long log, pass the `record_hash` of the record just before the
    window as `previous_hash` and its sequence + 1 as `start_sequence`.
    """
    records = list(records)
    checked = 0
    prev_hash = previous_hash
    expected_seq = start_sequence
    prev_record: Mapping[str, Any] | None = None
    for position, record in enumerate(records):
        checked += 1
        if not isinstance(record, Mapping) or any(k not in record for k in _CHAIN_FIELDS):
            return _bad(
                position,
                checked,
                record if isinstance(record, Mapping) else None,
                "malformed",
                f"record lacks one of the chain fields {', '.join(_CHAIN_FIELDS)}",
                prev_hash,
            )
        seq = record["sequence"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            return _bad(position, checked, record, "malformed", f"sequence {seq!r} is not an integer", prev_hash)
        try:
            recomputed = chain_hash(record["previous_hash"], record)
        except (ValueError, TypeError) as exc:
            return _bad(position, checked, record, "malformed", str(exc), prev_hash)
        if recomputed != record["record_hash"]:
            return _bad(
                position, checked, record, "edited", f"record {seq}: content does not match its record_hash", prev_hash
            )
        if seq != expected_seq or record["previous_hash"] != prev_hash:
            later = {r.get("sequence") for r in records[position + 1 :] if isinstance(r, Mapping)}
            return _classify_break(position, checked, record, prev_record, expected_seq, prev_hash, later)
        prev_hash = record["record_hash"]
        prev_record = record
        expected_seq = seq + 1
    if expected_head is not None and prev_hash != expected_head:
        return ChainReport(
            False,
            checked,
            checked,
            expected_seq,
            "truncated",
            "the last record is not the expected head: records after it are missing",
            prev_hash,
        )
    return ChainReport(True, checked, head_hash=prev_hash)


def _classify_break(
    position: int,
    checked: int,
    record: Mapping[str, Any],
    prev_record: Mapping[str, Any] | None,
    expected_seq: int,
    prev_hash: str,
    later: set[Any],
) -> ChainReport:
    """Name a broken link: each record's own hash is intact, but it does not follow its predecessor."""
    seq = record["sequence"]
    if seq == expected_seq:
        # Right place, wrong link: the record before it was edited and re-hashed to hide it.
        return _bad(
            position - 1 if position else position,
            checked,
            prev_record or record,
            "edited",
            f"record {seq - 1} was altered and re-hashed: record {seq} no longer links to it",
            prev_hash,
        )
    if seq > expected_seq and expected_seq in later:
        return _bad(
            position,
            checked,
            record,
            "reordered",
            f"record {seq} appears where record {expected_seq} should be (it comes later)",
            prev_hash,
        )
    if seq > expected_seq:
        missing = seq - expected_seq
        return _bad(
            position,
            checked,
            record,
            "deleted",
            f"{missing} record(s) missing before record {seq} (expected {expected_seq})",
            prev_hash,
        )
    if prev_record is not None and seq == prev_record["sequence"]:
        return _bad(position, checked, record, "duplicated", f"record {seq} appears twice", prev_hash)
    if seq < expected_seq:
        return _bad(
            position, checked, record, "reordered", f"record {seq} appears after record {expected_seq - 1}", prev_hash
        )
    return _bad(position, checked, record, "inserted", f"record {seq} does not belong here", prev_hash)
