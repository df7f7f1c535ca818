"""The finite sets of a generation's life: its status, and the stage it is in.

StrEnums, so the JSON, the database column and every comparison with a plain string are
unchanged; a typo is an AttributeError instead of a job that never matches.
"""

from __future__ import annotations

import enum


class GenerationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    REVIEW = "review"  # held for a human decision (before it runs, or before its clip is released)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset(
    {GenerationStatus.SUCCEEDED, GenerationStatus.FAILED, GenerationStatus.BLOCKED, GenerationStatus.CANCELLED}
)


class StageName(enum.StrEnum):
    """The flow's stages, as they are named in a generation's `stages` record, in order."""

    SCREEN_INPUTS = "screen_inputs"
    GENERATE = "generate"
    SCREEN_OUTPUT = "screen_output"
    WATERMARK = "watermark"
    ENCODE = "encode"
    SIGN = "sign"
    FINGERPRINT = "fingerprint"
    STORE = "store"


class Progress(enum.StrEnum):
    """What a running job is doing now (the `progress.stage` field); besides these, a stage's
    name while it runs, or the status itself before and after."""

    STARTING = "starting"
    LOADING_MODEL = "loading_model"
    GENERATING = "generating"
    ENCODING = "encoding"
    STORING = "storing"
    DONE = "done"
    HELD_FOR_REVIEW = "held_for_review"


class Decision(enum.StrEnum):
    """A screening decision (safety's `Screening.decision`), least severe first."""

    ALLOW = "allow"
    ALLOW_WITH_LABEL = "allow_with_label"
    REVIEW = "review"
    BLOCK = "block"
