"""The fingerprints of clips generated here, in SQL, with an in-memory index per process."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from sqlalchemy import select

from provenance.fingerprint import (
    FINGERPRINT_ALGORITHM,
    FingerprintIndex,
    compute_fingerprint,
)
from service.db import Database, FingerprintRecord


class FingerprintRegistry:
    """Fingerprints in SQL; an in-memory index per process, topped up from the table before each search,
    so a clip registered by any worker is found by every API process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.index = FingerprintIndex()
        self._loaded_up_to = 0
        self._lock = threading.Lock()

    def register(
        self, generation_id: str, frames: np.ndarray, fps: float, input_image: np.ndarray | None = None
    ) -> dict[str, Any]:
        """``input_image`` (RGB, image-to-video): kept in the fingerprint, so a suspect that matches the
        input rather than the generated motion is reported as such."""
        fingerprint = compute_fingerprint(frames, fps=fps, input_image=input_image)
        with self.db.session() as session:
            session.add(
                FingerprintRecord(
                    generation_id=generation_id, algorithm=FINGERPRINT_ALGORITHM, data=fingerprint.to_bytes()
                )
            )
        return {
            "algorithm": FINGERPRINT_ALGORITHM,
            "frames": fingerprint.frame_count,
            "input_image": fingerprint.input_hash is not None,
        }

    def refresh(self) -> FingerprintIndex:
        with self._lock:
            with self.db.session() as session:
                rows = session.execute(
                    select(FingerprintRecord.sequence, FingerprintRecord.generation_id, FingerprintRecord.data)
                    .where(FingerprintRecord.sequence > self._loaded_up_to)
                    .order_by(FingerprintRecord.sequence)
                ).all()
            if rows:
                self.index.add_many((generation_id, data) for _, generation_id, data in rows)
                self._loaded_up_to = rows[-1][0]
        return self.index
