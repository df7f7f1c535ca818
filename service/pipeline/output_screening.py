"""Output screening: sampled frames through the image signals before anything is stored for
download. A block refuses the clip; a review holds it for a person; a label decision (here or
at input screening) burns a visible 'AI-generated' label into every frame."""

from __future__ import annotations

import numpy as np

from service.generations.status import Decision, GenerationStatus
from service.pipeline.flow import OutputRefused, RunningJob
from service.screening import ScreeningService


class OutputScreening:
    def __init__(self, screening: ScreeningService) -> None:
        self.screening = screening

    def __call__(self, frames: np.ndarray, job: RunningJob) -> np.ndarray:
        spec = job.spec
        decided = self.screening.screen_output(
            frames, api_key_id=spec.context.api_key_id, generation_id=spec.generation_id
        )
        job.columns.output_decision_id = decided.record.id
        job.record.update(decided.stage_record())
        if decided.decision == Decision.BLOCK:
            categories = ", ".join(decided.screening.flagged_categories)
            raise OutputRefused(
                GenerationStatus.BLOCKED,
                "blocked_by_policy",
                f"the generated clip was refused by the content policy ({categories}); it was not stored",
                output_decision_id=decided.record.id,
            )
        if decided.decision == Decision.REVIEW:
            job.columns.held_by_decision_id = decided.record.id
        if decided.screening.requires_label or spec.context.input_decision == Decision.ALLOW_WITH_LABEL:
            frames = self.screening.label(frames)
            job.columns.label_applied = True
            job.record["label"] = "visible 'AI-generated' label burned into every frame"
        return frames
