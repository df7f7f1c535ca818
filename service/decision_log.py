"""The decision log in SQL: append sealed records, filter, export, verify the chain.

Hashing and chain checks are safety.audit's pure functions; this module stores records,
assigns sequence numbers (concurrent writers in many processes retry on the primary key),
and checks that the filterable columns still say what the hashed body says.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from safety.audit import (
    GENESIS_HASH,
    ChainReport,
    canonical_json,
    seal_record,
    verify_chain,
)
from safety.audit_checkpoints import (
    Checkpoint,
    CheckpointFile,
    check_against_checkpoints,
    load_or_create_signing_key,
    sign_checkpoint,
)
from service.db import Database, Decision, Generation, rowcount, utcnow
from service.digests import sha256_text
from service.generations.status import FINAL_STATES
from service.problems import InvalidRequest

logger = logging.getLogger("originframe.audit")

KINDS = ("screening", "input", "output", "review")
_COLUMNS = ("id", "kind", "decision", "api_key_id", "generation_id", "policy_version")
_APPEND_RETRIES = 50


@dataclass(frozen=True)
class AppendedDecision:
    id: str
    sequence: int
    record_hash: str


def prompt_digest(prompt: str | None) -> str | None:
    return sha256_text(prompt) if prompt else None


class HeadCheckpoints:
    """Signs the chain head after every append and keeps the checkpoints outside the database.

    The key is created on first use (like the development C2PA credentials), never at import."""

    def __init__(self, key_path: Path, file_path: Path) -> None:
        self.key_path = key_path
        self.file = CheckpointFile(file_path)
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._key is None:
                self._key = load_or_create_signing_key(self.key_path)
            return self._key

    def record(self, sequence: int, record_hash: str) -> Checkpoint:
        checkpoint = sign_checkpoint(
            self.key, sequence=sequence, record_hash=record_hash, created_at=utcnow().isoformat()
        )
        self.file.append(checkpoint)
        return checkpoint

    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


class DecisionLog:
    def __init__(self, db: Database, *, store_prompts: bool, checkpoints: HeadCheckpoints | None = None) -> None:
        self.db = db
        self.store_prompts = store_prompts
        self.checkpoints = checkpoints

    def append(
        self,
        *,
        kind: str,
        decision: str,
        categories: list[str],
        api_key_id: str | None = None,
        generation_id: str | None = None,
        policy_version: str | None = None,
        prompt: str | None = None,
        screening: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> AppendedDecision:
        """Seal and store one decision; its body is immutable from here on."""
        if kind not in KINDS:
            raise ValueError(f"unknown decision kind {kind!r}")
        decision_id = str(uuid.uuid4())
        created_at = utcnow()
        body = {
            "id": decision_id,
            "created_at": created_at.isoformat(),
            "kind": kind,
            "decision": decision,
            "categories": sorted(categories),
            "api_key_id": api_key_id,
            "generation_id": generation_id,
            "policy_version": policy_version,
            "prompt_sha256": prompt_digest(prompt),
            "screening": screening,
            "details": details or {},
        }
        canonical_json(body)  # fail early on values with no canonical form
        for _ in range(_APPEND_RETRIES):
            try:
                with self.db.session() as session:
                    if self.db.engine.dialect.name == "postgresql":
                        session.execute(text("SELECT pg_advisory_xact_lock(74202)"))
                    last = session.execute(
                        select(Decision.sequence, Decision.record_hash).order_by(Decision.sequence.desc()).limit(1)
                    ).first()
                    sequence, previous = (last[0] + 1, last[1]) if last else (0, GENESIS_HASH)
                    sealed = seal_record(body, sequence=sequence, previous_hash=previous)
                    session.add(
                        Decision(
                            sequence=sequence,
                            id=decision_id,
                            created_at=created_at,
                            kind=kind,
                            decision=decision,
                            categories="," + ",".join(sorted(categories)) + ("," if categories else ""),
                            api_key_id=api_key_id,
                            generation_id=generation_id,
                            policy_version=policy_version,
                            prompt=prompt if self.store_prompts else None,
                            body=canonical_json(sealed).decode(),
                            previous_hash=previous,
                            record_hash=sealed["record_hash"],
                        )
                    )
                logger.info("audit head %d %s", sequence, sealed["record_hash"])
                self._checkpoint(sequence, sealed["record_hash"])
                return AppendedDecision(decision_id, sequence, sealed["record_hash"])
            except IntegrityError:
                continue  # another writer took this sequence number; read the new head and retry
        raise RuntimeError("could not append to the decision log: too much contention")

    def _checkpoint(self, sequence: int, record_hash: str) -> None:
        if self.checkpoints is None:
            return
        try:
            self.checkpoints.record(sequence, record_hash)
        except OSError:
            # the decision is committed; a missing checkpoint only widens the unanchored tail,
            # which `audit verify` reports
            logger.exception("could not write the audit checkpoint of record %d", sequence)

    def read_checkpoints(self) -> dict[str, Any]:
        """The signed checkpoints and the public key that checks them (for export and auditors)."""
        if self.checkpoints is None:
            return {"enabled": False, "public_key_pem": None, "checkpoints": [], "malformed_lines": 0}
        checkpoints, malformed = self.checkpoints.file.read()
        return {
            "enabled": True,
            "public_key_pem": self.checkpoints.public_key_pem(),
            "checkpoints": [asdict(c) for c in checkpoints],
            "malformed_lines": malformed,
        }

    # reading ------------------------------------------------------------------------------

    def get(self, decision_id: str) -> dict[str, Any] | None:
        with self.db.session() as session:
            row = session.scalar(select(Decision).where(Decision.id == decision_id))
            return self._view(row) if row else None

    @staticmethod
    def _view(row: Decision) -> dict[str, Any]:
        body = json.loads(row.body)
        body["prompt"] = row.prompt
        return body

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        decision: str | None = None,
        kind: str | None = None,
        category: str | None = None,
        api_key_id: str | None = None,
        policy_version: str | None = None,
        generation_id: str | None = None,
        after_sequence: int | None = None,
        limit: int | None = 100,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Oldest first; pass the returned cursor as after_sequence for the next page."""
        query = select(Decision).order_by(Decision.sequence)
        if since:
            query = query.where(Decision.created_at >= since)
        if until:
            query = query.where(Decision.created_at < until)
        if decision:
            query = query.where(Decision.decision == decision)
        if kind:
            query = query.where(Decision.kind == kind)
        if category:
            if "," in category or "%" in category:
                raise InvalidRequest("category must be a single category name", field="category")
            query = query.where(Decision.categories.like(f"%,{category},%"))
        if api_key_id:
            query = query.where(Decision.api_key_id == api_key_id)
        if policy_version:
            query = query.where(Decision.policy_version == policy_version)
        if generation_id:
            query = query.where(Decision.generation_id == generation_id)
        if after_sequence is not None:
            query = query.where(Decision.sequence > after_sequence)
        with self.db.session() as session:
            rows = list(session.scalars(query.limit(limit + 1 if limit else None)))
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit else rows
        views = [dict(self._view(row), sequence=row.sequence, record_hash=row.record_hash) for row in rows]
        return views, (rows[-1].sequence if more else None)

    def export(self, fmt: str, **filters: Any) -> Iterator[str]:
        """JSONL (one sealed record per line, as hashed, plus the clear prompt) or CSV."""
        if fmt not in ("jsonl", "csv"):
            raise InvalidRequest("format must be jsonl or csv", field="format")
        cursor = None
        header_done = False
        fields = [
            "sequence",
            "id",
            "created_at",
            "kind",
            "decision",
            "categories",
            "api_key_id",
            "generation_id",
            "policy_version",
            "prompt_sha256",
            "prompt",
            "signals_active",
            "record_hash",
            "previous_hash",
        ]
        while True:
            rows, cursor = self.query(after_sequence=cursor, limit=500, **filters)
            for row in rows:
                if fmt == "jsonl":
                    yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
                    continue
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                if not header_done:
                    writer.writerow(fields)
                    header_done = True
                signals = (row.get("screening") or {}).get("signals", [])
                values = dict(
                    row,
                    categories=";".join(row["categories"]),
                    signals_active=";".join(s["name"] for s in signals if s.get("active")),
                )
                writer.writerow(["" if values.get(f) is None else values.get(f) for f in fields])
                yield buffer.getvalue()
            if cursor is None:
                return

    # integrity ----------------------------------------------------------------------------

    def verify(self, *, expected_head: str | None = None) -> dict[str, Any]:
        """Walk the whole chain; report the first edited, deleted, inserted or reordered record,
        then hold the chain against the signed checkpoints (a cut tail, an emptied table, a
        re-sealed chain)."""
        # checkpoints first: any written while the rows are read point at rows that exist
        checkpoints, malformed = self.checkpoints.file.read() if self.checkpoints else ([], 0)
        records: list[dict[str, Any]] = []
        hashes: dict[int, str] = {}
        mismatch: dict[str, Any] | None = None
        with self.db.session() as session:
            for position, row in enumerate(
                session.scalars(select(Decision).order_by(Decision.sequence)).yield_per(1000)
            ):
                try:
                    body = json.loads(row.body)
                except ValueError:
                    body = {"sequence": row.sequence}
                records.append(body)
                hashes[row.sequence] = row.record_hash
                if mismatch is None:
                    differs = _column_mismatches(row, body)
                    if differs:
                        mismatch = {"position": position, "sequence": row.sequence, "columns": differs}
        report: ChainReport = verify_chain(records, expected_head=expected_head)
        result = report.to_dict()
        if report.ok and mismatch is not None:
            result.update(
                ok=False,
                first_bad_position=mismatch["position"],
                first_bad_sequence=mismatch["sequence"],
                problem="edited",
                detail=f"record {mismatch['sequence']}: column(s) {', '.join(mismatch['columns'])} "
                "no longer match the sealed record",
            )
        result["checkpoints"] = None
        if self.checkpoints is not None:
            anchored = check_against_checkpoints(hashes, checkpoints, self.checkpoints.key.public_key())
            result["checkpoints"] = {
                "checked": anchored.checkpoints,
                "latest_sequence": anchored.latest_sequence,
                "unanchored_records": anchored.unanchored_records,
                "malformed_lines": malformed,
                "file": str(self.checkpoints.file.path),
            }
            if result["ok"] and not anchored.ok:
                result.update(
                    ok=False,
                    first_bad_position=None,
                    first_bad_sequence=anchored.first_bad_sequence,
                    problem=anchored.problem,
                    detail=anchored.detail,
                )
        return result

    # retention -----------------------------------------------------------------------------

    def purge_prompts(self, older_than_days: int) -> int:
        """Drop clear prompts older than the retention period (their hashes stay in the chain)."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        with self.db.session() as session:
            purged = rowcount(
                session.execute(
                    update(Decision)
                    .where(Decision.created_at < cutoff, Decision.prompt.is_not(None))
                    .values(prompt=None)
                )
            )
            session.execute(
                update(Generation)
                .where(
                    Generation.created_at < cutoff,
                    Generation.prompt.is_not(None),
                    Generation.status.in_(sorted(FINAL_STATES)),
                )
                .values(prompt=None, negative_prompt=None)
            )
        return purged

    def count(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(Decision)) or 0


def _column_mismatches(row: Decision, body: dict[str, Any]) -> list[str]:
    """Columns that filter or export a record but are not what its sealed body says."""
    column_values = {
        "id": row.id,
        "kind": row.kind,
        "decision": row.decision,
        "api_key_id": row.api_key_id,
        "generation_id": row.generation_id,
        "policy_version": row.policy_version,
        "record_hash": row.record_hash,
        "previous_hash": row.previous_hash,
    }
    differs = [name for name, value in column_values.items() if body.get(name) != value]
    if body.get("sequence") != row.sequence:
        differs.append("sequence")
    if sorted(body.get("categories") or []) != [c for c in row.categories.split(",") if c]:
        differs.append("categories")
    if row.prompt is not None and prompt_digest(row.prompt) != body.get("prompt_sha256"):
        differs.append("prompt")
    if _as_utc(row.created_at) != _parse_time(body.get("created_at")):
        differs.append("created_at")  # a back-dated row would drop out of time-filtered queries and exports
    return differs


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    # SQLite hands back naive datetimes; the service writes UTC only
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_time(value: Any) -> datetime | None:
    try:
        return _as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None
