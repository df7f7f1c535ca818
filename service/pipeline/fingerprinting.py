"""Fingerprinting: the clip's perceptual fingerprint, registered under the generation id so a
re-encoded or cropped copy is found again by verification."""

from __future__ import annotations

import numpy as np

from service.fingerprint_registry import FingerprintRegistry
from service.pipeline.flow import RunningJob


class Fingerprinting:
    def __init__(self, registry: FingerprintRegistry) -> None:
        self.registry = registry

    def __call__(self, frames: np.ndarray, job: RunningJob) -> np.ndarray:
        spec = job.spec
        image = spec.request.image if spec.context.input_image else None
        job.record.update(self.registry.register(spec.generation_id, frames, spec.fps, input_image=image))
        return frames
