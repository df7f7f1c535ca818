"""The API's contract: every request and response body as a msgspec Struct.

The handlers return these (so /schema/openapi.json documents each body), the domain builds
them (a generation's view, a verification's result), and the Python client decodes into them
(`service.client`). Field names are the JSON's; a field that is sometimes absent from the JSON
is `UNSET` here, one that is present but empty is `None`. Open-ended parts (a stage's record,
a health check's details) stay `dict[str, Any]`: they are reports, not a contract to build on.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from provenance.manifest import ManifestReport
from provenance.manifest_explanation import ManifestExplanation
from provenance.verify import VerificationReport
from service.generations.status import Decision, GenerationStatus


class Body(msgspec.Struct, omit_defaults=True):
    """Responses: fields equal to their default (UNSET) are left out of the JSON."""


# generations -------------------------------------------------------------------------------


class GenerationProgress(Body):
    stage: str
    step: int
    total: int
    percent: float


class GenerationError(Body):
    code: str | None
    reason: str | None


class GenerationLinks(Body):
    self_: str = msgspec.field(name="self")
    events: str
    video: str
    cancel: str


class GenerationOutput(Body):
    frames: int
    width: int
    height: int
    fps: int
    bytes: int | None
    sha256: str | None
    content_type: str


class WatermarkAssignment(Body):
    identifier: str  # 16 hex digits
    key_id: int | None


class DecisionIds(Body):
    input: str | None
    output: str | None


class GenerationView(Body):
    """A generation as its owner sees it (POST, GET, cancel, list, and each progress event)."""

    id: str
    status: GenerationStatus
    model: str
    mode: str
    progress: GenerationProgress
    parameters: dict[str, Any]
    prompt: str | None
    prompt_sha256: str | None
    negative_prompt: str | None
    input_image_sha256: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    timings: dict[str, float]
    stages: dict[str, Any]
    error: GenerationError | None
    links: GenerationLinks
    waiting: str | UnsetType = UNSET  # queued, and no live worker serves its model: why
    output: GenerationOutput | UnsetType = UNSET  # succeeded
    watermark: WatermarkAssignment | UnsetType = UNSET
    decisions: DecisionIds | UnsetType = UNSET


class GenerationPage(Body):
    items: list[GenerationView]
    next_cursor: str | None


# screenings and reviews --------------------------------------------------------------------


class ScreeningRequest(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str | None = None
    negative_prompt: str | None = None
    image: str | None = None  # base64 or data: URL


class ScreeningResult(Body):
    decision: Decision
    categories: list[str]
    decision_id: str
    policy_version: str
    signals: dict[str, bool]  # which signals ran


class DecisionRecord(msgspec.Struct):
    """One sealed record of the decision log, as it was hashed, with the clear prompt beside it
    (every field is written, null or not, as the sealed body holds it)."""

    id: str
    created_at: str
    kind: str  # screening | input | output | review
    decision: Decision
    categories: list[str]
    api_key_id: str | None = None
    generation_id: str | None = None
    policy_version: str | None = None
    prompt_sha256: str | None = None
    screening: dict[str, Any] | None = None
    details: dict[str, Any] = {}
    sequence: int | UnsetType = UNSET
    previous_hash: str | UnsetType = UNSET
    record_hash: str | UnsetType = UNSET
    prompt: str | None = None  # cleared after the retention period; never part of the hash


class DecisionPage(Body):
    items: list[DecisionRecord]
    next_cursor: int | None


class ReviewLinks(Body):
    input_image: str | None
    video: str | None


class ReviewItem(Body):
    id: str | None
    generation_id: str
    stage: str  # input | output
    held_at: str | None
    decision: DecisionRecord | None
    generation: GenerationView
    links: ReviewLinks


class ReviewPage(Body):
    items: list[ReviewItem]


class ReviewAction(msgspec.Struct, forbid_unknown_fields=True):
    action: str  # approve | reject
    reason: str
    reviewer: str = ""


class ReviewResolution(Body):
    review_decision_id: str
    generation: GenerationView


# the decision log's integrity --------------------------------------------------------------


class CheckpointCheck(Body):
    checked: int
    latest_sequence: int | None
    unanchored_records: int
    malformed_lines: int
    file: str


class ChainCheck(Body):
    ok: bool
    checked: int
    first_bad_position: int | None
    first_bad_sequence: int | None
    problem: str | None
    detail: str
    head_hash: str | None
    checkpoints: CheckpointCheck | None


class CheckpointList(Body):
    enabled: bool
    public_key_pem: str | None
    checkpoints: list[dict[str, Any]]
    malformed_lines: int


# policy -----------------------------------------------------------------------------------


class PolicyView(Body):
    policy: dict[str, Any]
    signals: list[dict[str, Any]]
    summary: dict[str, Any]


class PolicyReload(Body):
    version: str
    status: dict[str, Any]


# keys -------------------------------------------------------------------------------------


class KeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    scopes: list[str]
    name: str = ""


class CreatedKey(Body):
    id: str
    key: str  # the secret: shown only in this response
    scopes: list[str]
    name: str


class KeyView(Body):
    id: str
    name: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class KeyPage(Body):
    items: list[KeyView]


class CallerView(Body):
    id: str
    name: str
    scopes: list[str]


# verification -----------------------------------------------------------------------------


class VerificationResult(VerificationReport, kw_only=True):
    """The verification report, with what this service adds: the log entry's id, the matched
    generation (in full for its owner or an auditor, else only that it exists), and the Content
    Credentials stored with it when the evidence binds to it (recovered for a stripped copy)."""

    # fingerprint.registered_clips is null unless the caller is an auditor (how many clips this
    # service made is not every caller's business)
    verification_id: str
    generation: dict[str, Any] | None
    stored_manifest: ManifestReport | None
    stored_manifest_explanation: ManifestExplanation | None


# operations -------------------------------------------------------------------------------


class HealthReport(Body):
    service: str
    version: str
    status: str  # ok | degraded
    ready: bool
    database: dict[str, Any]
    queue: dict[str, Any]
    models: dict[str, dict[str, Any]]
    pipeline: dict[str, dict[str, Any]]
    storage: dict[str, Any]
    workers: dict[str, Any]
    provenance: dict[str, Any]
    safety: dict[str, Any]


class Problem(Body):
    """RFC 9457 problem details: every 4xx and 5xx answer (besides its own extension members)."""

    type: str
    title: str
    status: int
    detail: str
