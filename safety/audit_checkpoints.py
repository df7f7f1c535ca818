"""Signed checkpoints of the decision log's head, kept outside the database.

The hash chain (safety.audit) shows any edit *inside* the log, but whoever can write the
database can also cut records off its end, delete them all, or re-seal the whole chain after
an edit: the shortened or rewritten chain is internally consistent. A checkpoint pins the head
as it was: (sequence, record_hash, time), signed with an Ed25519 key the database does not hold
and appended to a store the database does not hold (a file by default). A log is consistent
with its checkpoints when every checkpointed sequence is still there with the same hash; a
record cut after the latest checkpoint is the only loss that can go unseen, and checkpoints
are written after every append.

Pure functions and a small file store; which key and which file is the caller's business.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safety.audit import canonical_json

__all__ = [
    "Checkpoint",
    "CheckpointFile",
    "CheckpointReport",
    "check_against_checkpoints",
    "key_id_of",
    "load_or_create_signing_key",
    "sign_checkpoint",
    "verify_signature",
]


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    record_hash: str
    created_at: str  # ISO 8601, UTC
    key_id: str  # first 16 hex digits of SHA-256 of the raw public key
    signature: str  # base64 Ed25519 over payload()

    def payload(self) -> bytes:
        return b"originframe-audit-checkpoint-v1\n" + canonical_json(
            {
                "sequence": self.sequence,
                "record_hash": self.record_hash,
                "created_at": self.created_at,
                "key_id": self.key_id,
            }
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_mapping(cls, value: Mapping) -> Checkpoint:
        return cls(
            sequence=int(value["sequence"]),
            record_hash=str(value["record_hash"]),
            created_at=str(value["created_at"]),
            key_id=str(value["key_id"]),
            signature=str(value["signature"]),
        )


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_checkpoint(key: Ed25519PrivateKey, *, sequence: int, record_hash: str, created_at: str) -> Checkpoint:
    unsigned = Checkpoint(sequence, record_hash, created_at, key_id_of(key.public_key()), "")
    signature = base64.b64encode(key.sign(unsigned.payload())).decode("ascii")
    return Checkpoint(sequence, record_hash, created_at, unsigned.key_id, signature)


def verify_signature(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    if checkpoint.key_id != key_id_of(public_key):
        return False
    try:
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.payload())
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The PEM private key at `path`; a new one (mode 0600, its public key beside it as .pub) if there is none."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load_or_create_signing_key(path)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    path.with_suffix(".pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key


class CheckpointFile:
    """Append-only JSON lines. One write of one short line with O_APPEND per checkpoint, so
    several processes on one box can share the file without interleaving."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (checkpoint.to_json() + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def read(self) -> tuple[list[Checkpoint], int]:
        """The checkpoints, and how many lines could not be parsed (a torn or edited line)."""
        if not self.path.exists():
            return [], 0
        checkpoints, malformed = [], 0
        for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                checkpoints.append(Checkpoint.from_mapping(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                malformed += 1
        return checkpoints, malformed


@dataclass(frozen=True)
class CheckpointReport:
    ok: bool
    checkpoints: int  # checkpoints with a valid signature
    latest_sequence: int | None
    unanchored_records: int  # records newer than the latest checkpoint (not yet pinned)
    problem: str | None = None  # truncated | resealed | forged_checkpoint
    first_bad_sequence: int | None = None
    detail: str = ""


def check_against_checkpoints(
    record_hashes: Mapping[int, str], checkpoints: Iterable[Checkpoint], public_key: Ed25519PublicKey
) -> CheckpointReport:
    """Is the log (sequence -> record_hash, as stored now) consistent with every signed checkpoint?

    Check the chain itself first (safety.audit.verify_chain): with an intact chain, a matching
    hash at a checkpoint's sequence vouches for every record up to it.
    """
    valid: list[Checkpoint] = []
    forged: list[Checkpoint] = []
    for checkpoint in checkpoints:
        (valid if verify_signature(checkpoint, public_key) else forged).append(checkpoint)
    last = max(record_hashes) if record_hashes else None
    latest = max((c.sequence for c in valid), default=None)
    unanchored = (
        last - latest
        if latest is not None and last is not None and last > latest
        else (last + 1 if latest is None and last is not None else 0)
    )
    if forged:
        bad = forged[0]
        return CheckpointReport(
            False,
            len(valid),
            latest,
            unanchored,
            "forged_checkpoint",
            bad.sequence,
            f"{len(forged)} checkpoint(s) carry no valid signature of this key (e.g. sequence {bad.sequence})",
        )
    for checkpoint in sorted(valid, key=lambda c: c.sequence):
        stored = record_hashes.get(checkpoint.sequence)
        if stored is None:
            held = "none" if last is None else f"up to record {last}"
            return CheckpointReport(
                False,
                len(valid),
                latest,
                0,
                "truncated",
                checkpoint.sequence,
                f"record {checkpoint.sequence} was checkpointed at {checkpoint.created_at} but the log "
                f"holds {held}: records were deleted",
            )
        if stored != checkpoint.record_hash:
            return CheckpointReport(
                False,
                len(valid),
                latest,
                unanchored,
                "resealed",
                checkpoint.sequence,
                f"record {checkpoint.sequence} does not have the hash checkpointed at "
                f"{checkpoint.created_at}: the chain was rewritten and re-sealed",
            )
    return CheckpointReport(True, len(valid), latest, unanchored)
