"""Generations in the database: record, find, list, count, cancel; who may see and change which."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from service.db import ApiKey, Generation, utcnow
from service.digests import sha256_hex, sha256_text
from service.generations.resolution import ResolvedRequest
from service.generations.status import GenerationStatus
from service.jobs.leases import CANCELLED, FINAL_STATES, QUEUED, REVIEW, RUNNING
from service.problems import Conflict, InvalidRequest, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.auth import Caller
    from service.settings import Settings


def find_idempotent(session: Session, api_key_id: str | None, idempotency_key: str, digest: str) -> Generation | None:
    existing = session.scalar(
        select(Generation).where(Generation.api_key_id == api_key_id, Generation.idempotency_key == idempotency_key)
    )
    if existing is not None and existing.request_sha256 != digest:
        raise Conflict(
            "this Idempotency-Key was already used with a different request", idempotency_key=idempotency_key
        )
    return existing


def count_active(session: Session, api_key_id: str) -> int:
    """Generations of this key waiting for or holding a worker (held reviews wait on people, not workers)."""
    active = session.scalar(
        select(func.count())
        .select_from(Generation)
        .where(Generation.api_key_id == api_key_id, Generation.status.in_((QUEUED, RUNNING)))
    )
    return active or 0


def lock_key(session: Session, api_key_id: str) -> None:
    """Serialise this key's submissions until the session commits: a no-op UPDATE of its row takes
    PostgreSQL's row lock and SQLite's write lock (as the transaction's first statement, so a
    later count sees every generation committed before it)."""
    session.execute(update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=ApiKey.last_used_at))


def create_generation(
    session: Session,
    resolved: ResolvedRequest,
    *,
    generation_id: str,
    api_key_id: str | None,
    idempotency_key: str | None,
    image_key: str | None,
    status: str,
    stages: dict,
    settings: Settings,
    watermark_id: int | None,
    input_decision_id: str | None = None,
    held_by_decision_id: str | None = None,
) -> Generation:
    prompt = resolved.input.prompt
    blocked = status == GenerationStatus.BLOCKED
    generation = Generation(
        id=generation_id,
        api_key_id=api_key_id,
        idempotency_key=idempotency_key,
        request_sha256=resolved.digest(),
        status=status,
        stage=status,
        model=resolved.model,
        mode=resolved.input.mode,
        parameters=resolved.parameters,
        prompt=prompt,
        prompt_sha256=sha256_text(prompt) if prompt else None,
        negative_prompt=resolved.input.negative_prompt,
        input_image_key=image_key,
        input_image_sha256=sha256_hex(resolved.image_bytes) if resolved.image_bytes else None,
        max_attempts=settings.max_attempts,
        progress_total=resolved.parameters.get("num_inference_steps") or 0,
        stages=stages,
        timings={},
        output={},
        watermark_id=None if blocked else watermark_id,
        input_decision_id=input_decision_id,
        held_by_decision_id=held_by_decision_id,
        error_code="blocked_by_policy" if blocked else None,
        error_reason="the request was refused by the content policy" if blocked else None,
        finished_at=utcnow() if blocked else None,
        created_at=utcnow(),
    )
    session.add(generation)
    return generation


def get_owned(session: Session, generation_id: str, caller: Caller) -> Generation:
    """The caller's own generation (auditors and admins see all); 404 otherwise, not 403, to hide existence."""
    generation = session.get(Generation, generation_id) if _is_uuid(generation_id) else None
    if generation is None or not (generation.api_key_id == caller.key_id or caller.has("audit")):
        raise NotFound(f"no generation {generation_id}")
    return generation


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def require_control(generation: Generation, caller: Caller) -> None:
    """Changing a generation is for its owner or an admin: auditors may read every tenant's, not act on them."""
    if generation.api_key_id != caller.key_id and not caller.has("admin"):
        raise NotFound(f"no generation {generation.id}")


def request_cancel(session: Session, generation: Generation) -> Generation:
    if generation.status in FINAL_STATES:
        raise Conflict(
            f"generation {generation.id} is already {generation.status}", generation_status=generation.status
        )
    if generation.status in (QUEUED, REVIEW):
        session.execute(
            update(Generation)
            .where(Generation.id == generation.id, Generation.status == generation.status)
            .values(
                status=CANCELLED,
                stage=CANCELLED,
                cancel_requested=True,
                finished_at=utcnow(),
                error_code="cancelled",
                error_reason="cancelled by the client before it ran",
            )
        )
    else:  # running: the worker stops between steps
        session.execute(update(Generation).where(Generation.id == generation.id).values(cancel_requested=True))
    session.flush()
    session.refresh(generation)
    return generation


def list_owned(
    session: Session, caller: Caller, *, limit: int, cursor: str | None, status: str | None, all_keys: bool
) -> tuple[list[Generation], str | None]:
    """Newest first; the cursor is the created_at/id of the last item of the previous page."""
    query = select(Generation)
    if not (all_keys and caller.has("audit")):
        query = query.where(Generation.api_key_id == caller.key_id)
    if status:
        query = query.where(Generation.status == status)
    if cursor:
        anchor = session.get(Generation, cursor) if _is_uuid(cursor) else None
        if anchor is not None and anchor.api_key_id != caller.key_id and not (all_keys and caller.has("audit")):
            anchor = None  # another tenant's id reads as unknown: 200 vs 422 must not tell that it exists
        if anchor is None:
            raise InvalidRequest("unknown cursor", field="cursor")
        query = query.where(
            (Generation.created_at < anchor.created_at)
            | ((Generation.created_at == anchor.created_at) & (Generation.id < anchor.id))
        )
    rows = list(session.scalars(query.order_by(Generation.created_at.desc(), Generation.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def status_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Generation.status, func.count()).group_by(Generation.status)).all())
