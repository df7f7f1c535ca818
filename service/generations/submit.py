"""Submitting a generation, the API's half of the flow: resolve the request against its model,
replay an idempotent retry, check the key's quota, screen the inputs, keep the input image,
record the generation and queue it (or hold it for review, or refuse it)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from provenance.watermark import IDENTIFIER_BITS
from service.backends import Backend
from service.db import Database, Generation
from service.decision_log import DecisionLog
from service.digests import sha256_hex
from service.generations import records
from service.generations.request import GenerationRequest
from service.generations.resolution import resolve_request
from service.generations.status import Decision
from service.jobs.leases import BLOCKED, QUEUED, REVIEW
from service.problems import Conflict, RequestBlocked, TooManyRequests
from service.screening import ScreeningService
from service.settings import Settings
from service.storage import Storage

# identifiers fit a signed BIGINT on every database and the watermark's payload
WATERMARK_ID_BITS = min(63, IDENTIFIER_BITS)


class GenerationSubmission:
    """The submit use case, shared by POST /v1/generations, the web page and `originframe generate`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        backends: dict[str, Backend],
        screening: ScreeningService,
        decisions: DecisionLog,
        storage: Storage,
        enqueue: Callable[[str, str], None],
    ) -> None:
        self.settings, self.db, self.backends = settings, db, backends
        self.screening, self.decisions, self.storage, self.enqueue = screening, decisions, storage, enqueue

    def submit(
        self,
        request: GenerationRequest,
        *,
        image_bytes: bytes | None,
        caller_key_id: str | None,
        idempotency_key: str | None,
        enqueue: bool = True,
    ) -> tuple[Generation, bool]:
        """Returns (generation, created): created is False on an idempotent replay. A refused request
        is recorded (status blocked) and raises RequestBlocked."""
        # an API node of a fleet holds no weights: workers load them, and the registry says who can
        resolved = resolve_request(
            request, image_bytes, self.backends, self.settings, check_weights=self.settings.embedded_worker
        )
        digest = resolved.digest()
        if idempotency_key:
            with self.db.session() as session:
                existing = records.find_idempotent(session, caller_key_id, idempotency_key, digest)
            if existing is not None:
                if existing.status == BLOCKED and existing.input_decision_id:
                    raise _blocked(existing, self.decisions.get(existing.input_decision_id))
                return existing, False
        self._check_quota(caller_key_id)
        generation_id = str(uuid.uuid4())
        image_sha256 = sha256_hex(resolved.image_bytes) if resolved.image_bytes else None
        decided = self.screening.screen_inputs(
            prompt=resolved.input.prompt,
            negative_prompt=resolved.input.negative_prompt,
            image=resolved.input.image,
            api_key_id=caller_key_id,
            generation_id=generation_id,
            kind="input",
            image_sha256=image_sha256,
        )
        status = {Decision.BLOCK: BLOCKED, Decision.REVIEW: REVIEW}.get(Decision(decided.decision), QUEUED)
        image_key = None
        if resolved.image_bytes is not None and status != BLOCKED:  # a refused input is not kept, only its hash
            image_key = f"inputs/{generation_id}"
            self.storage.put(image_key, resolved.image_bytes)
        try:
            with self.db.session() as session:
                if status == QUEUED:
                    self._check_quota(caller_key_id, session)
                generation = records.create_generation(
                    session,
                    resolved,
                    generation_id=generation_id,
                    api_key_id=caller_key_id,
                    idempotency_key=idempotency_key,
                    image_key=image_key,
                    status=status,
                    stages={"screen_inputs": decided.stage_record()},
                    settings=self.settings,
                    watermark_id=secrets.randbelow(2**WATERMARK_ID_BITS),
                    input_decision_id=decided.record.id,
                    held_by_decision_id=decided.record.id if status == REVIEW else None,
                )
        except TooManyRequests:
            if image_key:
                self.storage.delete(image_key)
            raise
        except IntegrityError:
            # a concurrent request with the same Idempotency-Key won the race
            if image_key:
                self.storage.delete(image_key)
            if not idempotency_key:
                raise
            with self.db.session() as session:
                existing = records.find_idempotent(session, caller_key_id, idempotency_key, digest)
            if existing is None:
                raise Conflict("the request could not be recorded; retry it") from None
            return existing, False
        if status == BLOCKED:
            raise _blocked(generation, self.decisions.get(decided.record.id))
        if status == QUEUED and enqueue:
            self.enqueue(generation.id, generation.model)
        return generation, True

    def _check_quota(self, caller_key_id: str | None, session: Session | None = None) -> None:
        """One key may not fill the queue. Checked twice: early, to refuse before screening, and in
        the transaction that records the generation, under a lock on the key's row, so that
        requests racing at the limit (from any number of API processes) cannot all pass."""
        limit = self.settings.max_active_generations_per_key
        if not limit or caller_key_id is None:
            return
        if session is None:
            with self.db.session() as early:
                active = records.count_active(early, caller_key_id)
        else:
            records.lock_key(session, caller_key_id)
            active = records.count_active(session, caller_key_id)
        if active >= limit:
            raise TooManyRequests(
                f"this API key already has {active} generations queued or running (limit {limit}); "
                "retry when one finishes",
                limit=limit,
                active=active,
                retry_after_s=5,
            )


def _blocked(generation: Generation, decision: dict[str, Any] | None) -> RequestBlocked:
    categories = (decision or {}).get("categories", [])
    return RequestBlocked(
        f"the request was refused by the content policy ({', '.join(categories) or 'policy'})",
        decision="block",
        categories=categories,
        decision_id=generation.input_decision_id,
        generation_id=generation.id,
    )
