"""Watermarking: every frame carries the generation's identifier under the current key."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from provenance.watermark import ALGORITHM as WATERMARK_ALGORITHM
from provenance.watermark import Keyring, embed_watermark
from service.pipeline.flow import RunningJob


class Watermarking:
    def __init__(self, keyring: Callable[[], Keyring]) -> None:
        self.keyring = keyring  # created on first use, so a server that never generates makes no keys

    def __call__(self, frames: np.ndarray, job: RunningJob) -> np.ndarray:
        if job.spec.watermark_id is None:
            raise ValueError(f"generation {job.spec.generation_id} has no watermark identifier")
        key = self.keyring().current
        marked = embed_watermark(frames, job.spec.watermark_id, key)
        job.columns.watermark_key_id = key.key_id
        job.record.update(
            algorithm=WATERMARK_ALGORITHM,
            key_id=key.key_id,
            identifier=f"{job.spec.watermark_id:016x}",
            frames=int(frames.shape[0]),
        )
        return marked
