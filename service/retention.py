"""Retention: prompts in the decision log and stored input images are kept for retention_days."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service.db import Database, Generation, utcnow
from service.decision_log import DecisionLog
from service.generations.status import FINAL_STATES
from service.storage import Storage


def purge_expired(db: Database, decisions: DecisionLog, storage: Storage, retention_days: int) -> tuple[int, int]:
    """Clear prompts and delete the input images of finished generations older than the period;
    returns (prompts cleared, images deleted)."""
    prompts = decisions.purge_prompts(retention_days)
    cutoff = utcnow() - timedelta(days=retention_days)
    with db.session() as session:
        rows = session.execute(
            select(Generation.id, Generation.input_image_key).where(
                Generation.created_at < cutoff,
                Generation.input_image_key.is_not(None),
                Generation.status.in_(sorted(FINAL_STATES)),
            )
        ).all()
        for generation_id, key in rows:
            if key is not None:
                storage.delete(key)
            session.execute(update(Generation).where(Generation.id == generation_id).values(input_image_key=None))
    return prompts, len(rows)
