"""Human review of held generations: list what waits, approve or reject with a reason.

A `review` decision parks a generation: before it runs (input screening) or after it ran but
before release (output screening). Every reviewer's decision is appended to the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select, update

from service.api_types import DecisionRecord, ReviewItem, ReviewLinks, ReviewPage, ReviewResolution
from service.db import Generation, rowcount, utcnow
from service.generations.views import view
from service.jobs.leases import BLOCKED, QUEUED, REVIEW, SUCCEEDED
from service.problems import Conflict, InvalidRequest, NotFound

if TYPE_CHECKING:
    from service.runtime import Runtime

ACTIONS = ("approve", "reject")


def _stage(generation: Generation) -> str:
    return "output" if generation.video_key else "input"


def pending(runtime: Runtime, *, limit: int = 100) -> ReviewPage:
    with runtime.db.session() as session:
        rows = list(
            session.scalars(
                select(Generation).where(Generation.status == REVIEW).order_by(Generation.created_at).limit(limit)
            )
        )
    items = []
    for generation in rows:
        held = generation.held_by_decision_id
        decision = runtime.audit.get(held) if held else None
        items.append(
            ReviewItem(
                id=held,
                generation_id=generation.id,
                stage=_stage(generation),
                held_at=decision["created_at"] if decision else None,
                decision=msgspec.convert(decision, DecisionRecord) if decision else None,
                generation=view(generation),
                links=ReviewLinks(
                    input_image=f"/v1/reviews/{held}/input" if generation.input_image_key else None,
                    video=f"/v1/reviews/{held}/video" if generation.video_key else None,
                ),
            )
        )
    return ReviewPage(items=items)


def held_generation(runtime: Runtime, decision_id: str) -> Generation:
    with runtime.db.session() as session:
        generation = session.scalar(select(Generation).where(Generation.held_by_decision_id == decision_id))
    if generation is None:
        raise NotFound(f"no review {decision_id}")
    return generation


def held_input_image(runtime: Runtime, decision_id: str) -> bytes:
    generation = held_generation(runtime, decision_id)
    if not generation.input_image_key or not runtime.storage.exists(generation.input_image_key):
        raise NotFound("this review has no input image")
    return runtime.storage.get(generation.input_image_key)


MAX_REASON_LENGTH = 2000
MAX_REVIEWER_LENGTH = 200  # the generations.reviewed_by column


def resolve(
    runtime: Runtime, decision_id: str, *, action: str, reason: str, reviewer_key_id: str, reviewer: str = ""
) -> ReviewResolution:
    if action not in ACTIONS:
        raise InvalidRequest("action must be approve or reject", field="action")
    if not reason or not reason.strip():
        raise InvalidRequest("a reviewer must give a reason", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest(f"a reason is at most {MAX_REASON_LENGTH} characters; got {len(reason)}", field="reason")
    if len(reviewer) > MAX_REVIEWER_LENGTH:
        raise InvalidRequest(
            f"a reviewer's name is at most {MAX_REVIEWER_LENGTH} characters; got {len(reviewer)}", field="reviewer"
        )
    generation = held_generation(runtime, decision_id)
    if generation.status != REVIEW:
        raise Conflict(
            f"this review was already resolved: the generation is {generation.status}",
            generation_status=generation.status,
        )
    stage = _stage(generation)
    held = runtime.audit.get(decision_id) or {}
    appended = runtime.audit.append(
        kind="review",
        decision="allow" if action == "approve" else "block",
        categories=held.get("categories", []),
        api_key_id=reviewer_key_id,
        generation_id=generation.id,
        policy_version=held.get("policy_version"),
        details={
            "reviews_decision_id": decision_id,
            "action": action,
            "reason": reason.strip(),
            "reviewer": reviewer,
            "stage": stage,
            "owner_api_key_id": generation.api_key_id,
        },
    )
    if action == "approve":
        status = QUEUED if stage == "input" else SUCCEEDED
        values: dict[str, Any] = {"status": status, "stage": status if stage == "input" else "done"}
        if stage == "output":
            values["finished_at"] = utcnow()
    else:
        values = {
            "status": BLOCKED,
            "stage": BLOCKED,
            "finished_at": utcnow(),
            "error_code": "rejected_in_review",
            "error_reason": f"rejected by a reviewer: {reason.strip()}",
            "video_key": None,
        }
    with runtime.db.session() as session:
        changed = rowcount(
            session.execute(
                update(Generation)
                .where(Generation.id == generation.id, Generation.status == REVIEW)
                .values(reviewed_by=reviewer or reviewer_key_id, review_reason=reason.strip(), **values)
            )
        )
    if not changed:
        raise Conflict("this review was resolved concurrently")
    if action == "reject" and generation.video_key:
        runtime.storage.delete(generation.video_key)  # a rejected output is not kept for download
    if action == "approve" and stage == "input":
        runtime.queue.enqueue(generation.id)
    with runtime.db.session() as session:
        resolved = session.get(Generation, generation.id)
        if resolved is None:
            raise NotFound(f"generation {generation.id} no longer exists")
        return ReviewResolution(review_decision_id=appended.id, generation=view(resolved))
