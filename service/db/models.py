"""SQL schema of the service. It changes only through an Alembic migration (service/db/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on SQLite (which drops the zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class Generation(Base):
    """One generation job: request, state machine, lease, results and what each stage did."""

    __tablename__ = "generations"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key", name="uq_generations_idempotency"),
        Index("ix_generations_owner_created", "api_key_id", "created_at"),
        Index("ix_generations_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_sha256: Mapped[str] = mapped_column(String(64))

    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_reason: Mapped[str | None] = mapped_column(Text, default=None)

    model: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))  # text-to-video | image-to-video
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    prompt: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    negative_prompt: Mapped[str | None] = mapped_column(Text, default=None)
    input_image_key: Mapped[str | None] = mapped_column(String(200), default=None)
    input_image_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=2)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stages: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    video_key: Mapped[str | None] = mapped_column(String(200), default=None)
    video_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    video_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # frames, width, height, fps
    watermark_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    watermark_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    input_decision_id: Mapped[str | None] = mapped_column(String(36), default=None)
    output_decision_id: Mapped[str | None] = mapped_column(String(36), default=None)
    label_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    held_by_decision_id: Mapped[str | None] = mapped_column(String(36), default=None)  # a `review` decision parked it
    reviewed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)


class Decision(Base):
    """One record of the tamper-evident decision log.

    `body` is the exact canonical JSON that was hashed (safety.audit.seal_record); the other
    columns are copies for filtering, checked against the body by `audit verify`. The clear
    prompt is kept outside the hash so that retention can purge it: the hashed body holds its
    SHA-256.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_created", "created_at"),
        Index("ix_decisions_kind_decision", "kind", "decision"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))  # screening | input | output | review
    decision: Mapped[str] = mapped_column(String(20))
    categories: Mapped[str] = mapped_column(String(500), default=",")  # ",a,b," for LIKE filtering
    api_key_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    generation_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    policy_version: Mapped[str | None] = mapped_column(String(80), index=True, default=None)
    prompt: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))


class FingerprintRecord(Base):
    """The perceptual fingerprint of a generated clip; `sequence` orders them for incremental index loads."""

    __tablename__ = "fingerprints"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    generation_id: Mapped[str] = mapped_column(String(36), unique=True)
    algorithm: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verification(Base):
    """Who asked to verify what (by hash, never the content) and what was found."""

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    media_sha256: Mapped[str] = mapped_column(String(64))
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    media_kind: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(32), index=True)
    strongest_evidence: Mapped[str | None] = mapped_column(String(32), default=None)
    generation_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Worker(Base):
    """A live `originframe worker` (or an embedded consumer): what it serves, where, and when it was last seen."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    models: Mapped[list[Any]] = mapped_column(JSON)
    device: Mapped[str] = mapped_column(String(64))
    dtype: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    jobs_failed: Mapped[int] = mapped_column(Integer, default=0)
