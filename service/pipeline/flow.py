"""The worker-side flow of one generation, stage by stage:

    generate -> screen output -> watermark -> encode -> sign -> fingerprint -> store

(inputs are screened before the job is queued, in service/generations/submit.py). Each stage
says in the job record whether it ran and what it did; a stage this deployment cannot run is
recorded as inactive with the reason, never skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from provenance.media import encode_mp4_bytes
from service.backends import Backend
from service.digests import sha256_hex
from service.generations.status import GenerationStatus, Progress, StageName
from service.pipeline.spec import JobSpec

Media = TypeVar("Media", np.ndarray, bytes)


class OutputRefused(Exception):
    """A stage refused to release the output (e.g. output screening blocked it)."""

    def __init__(
        self, status: GenerationStatus, code: str, reason: str, *, output_decision_id: str | None = None
    ) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason
        self.output_decision_id = output_decision_id
        self.columns = JobColumns()
        self.stages: dict[str, Any] = {}
        self.timings: dict[str, float] = {}


class Reporter(Protocol):
    def stage(self, name: str) -> None: ...
    def progress(self, step: int, total: int) -> None: ...
    def checkpoint(self) -> None: ...


@dataclass
class JobColumns:
    """Columns of the generation's row that a stage fills in (besides its stage record)."""

    watermark_key_id: int | None = None
    output_decision_id: str | None = None
    held_by_decision_id: str | None = None  # output screening said review: stored, not released
    label_applied: bool = False

    def values(self) -> dict[str, Any]:
        """The columns a stage set, for the row's update."""
        values: dict[str, Any] = {name: value for name, value in vars(self).items() if value is not None}
        if not self.label_applied:
            values.pop("label_applied")
        return values


@dataclass
class RunningJob:
    """What a stage sees: the job, the columns it may set, and its own record in the job's `stages`."""

    spec: JobSpec
    columns: JobColumns
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stage(Generic[Media]):
    """An optional stage: `run(media, job)` returns the media to carry on with (the same or
    replaced), or is None with why this deployment does not run it."""

    name: StageName
    run: Callable[[Media, RunningJob], Media] | None
    inactive_reason: str = ""


@dataclass
class PipelineOutcome:
    video_key: str
    video_sha256: str
    video_bytes: int
    output: dict[str, Any]
    stages: dict[str, Any]
    timings: dict[str, float]
    columns: JobColumns


class GenerationPipeline:
    def __init__(
        self,
        backends: dict[str, Backend],
        store: Callable[[str, bytes], None],
        *,
        crf: int,
        preset: str,
        screen_output: Stage[np.ndarray],
        watermark: Stage[np.ndarray],
        sign: Stage[bytes],
        fingerprint: Stage[np.ndarray],
    ) -> None:
        self.backends = backends
        self.store = store
        self.crf, self.preset = crf, preset
        self.screen_output, self.watermark, self.sign, self.fingerprint = screen_output, watermark, sign, fingerprint

    def describe(self) -> dict[str, dict[str, Any]]:
        """Which stages this deployment runs (for /health), in the flow's order."""
        active: dict[str, Any] = {"active": True}
        described: dict[str, dict[str, Any]] = {StageName.GENERATE: active}
        before: tuple[Stage[Any], ...] = (self.screen_output, self.watermark)
        for stage in before:
            described[stage.name] = _described(stage)
        described[StageName.ENCODE] = {"active": True, "detail": f"H.264 CRF {self.crf}"}
        after: tuple[Stage[Any], ...] = (self.sign, self.fingerprint)
        for stage in after:
            described[stage.name] = _described(stage)
        described[StageName.STORE] = active
        return described

    def run(self, spec: JobSpec, reporter: Reporter) -> PipelineOutcome:
        stages: dict[str, Any] = dict(spec.stages)
        timings: dict[str, float] = {}
        columns = JobColumns()
        try:
            return self._run(spec, reporter, stages, timings, columns)
        except OutputRefused as refused:
            # keep what ran before the refusal in the job record
            refused.columns, refused.stages, refused.timings = columns, stages, timings
            if refused.output_decision_id is not None:
                columns.output_decision_id = refused.output_decision_id
            raise

    def _run(
        self, spec: JobSpec, reporter: Reporter, stages: dict[str, Any], timings: dict[str, float], columns: JobColumns
    ) -> PipelineOutcome:
        backend = self.backends[spec.model]

        reporter.stage(Progress.LOADING_MODEL)
        started = time.perf_counter()
        backend.load()
        timings["load_model_s"] = round(time.perf_counter() - started, 4)
        reporter.checkpoint()

        reporter.stage(Progress.GENERATING)
        started = time.perf_counter()
        frames = backend.generate(spec.request, reporter.progress)
        timings["generate_s"] = round(time.perf_counter() - started, 4)
        info = backend.info()
        stages[StageName.GENERATE] = {
            "active": True,
            "model": spec.model,
            "source": info.source,
            "frames": int(frames.shape[0]),
        }
        if (
            "speed" in info.extra
        ):  # the settings that shaped these pixels (step cache, fp8 weights, dtype) and how it was compiled
            stages[StageName.GENERATE]["speed"] = info.extra["speed"]
        reporter.checkpoint()

        run = _StageRunner(spec, columns, stages, timings, reporter)
        frames = run(self.screen_output, frames)  # may burn in a label, or raise to block the release
        frames = run(self.watermark, frames)

        reporter.stage(Progress.ENCODING)
        started = time.perf_counter()
        video = encode_mp4_bytes(frames, fps=spec.fps, crf=self.crf, preset=self.preset)
        timings["encode_s"] = round(time.perf_counter() - started, 4)
        stages[StageName.ENCODE] = {"active": True, "codec": "h264", "pix_fmt": "yuv420p", "crf": self.crf}
        reporter.checkpoint()

        video = run(self.sign, video)
        run(self.fingerprint, frames)

        reporter.stage(Progress.STORING)
        key = f"videos/{spec.generation_id}.mp4"
        self.store(key, video)
        stages[StageName.STORE] = {"active": True, "key": key}
        height, width = frames.shape[1:3]
        return PipelineOutcome(
            video_key=key,
            video_sha256=sha256_hex(video),
            video_bytes=len(video),
            output={
                "frames": int(frames.shape[0]),
                "width": int(width),
                "height": int(height),
                "fps": spec.fps,
            },
            stages=stages,
            timings=timings,
            columns=columns,
        )


@dataclass
class _StageRunner:
    spec: JobSpec
    columns: JobColumns
    stages: dict[str, Any]
    timings: dict[str, float]
    reporter: Reporter

    def __call__(self, stage: Stage[Media], media: Media) -> Media:
        if stage.run is None:
            self.stages[stage.name] = {"active": False, "detail": stage.inactive_reason}
            return media
        self.reporter.stage(stage.name)
        started = time.perf_counter()
        job = RunningJob(self.spec, self.columns, {"active": True})
        self.stages[stage.name] = job.record  # filled in by the stage; kept even if the stage refuses the output
        try:
            result = stage.run(media, job)
        finally:
            self.timings[f"{stage.name}_s"] = round(time.perf_counter() - started, 4)
        self.reporter.checkpoint()
        return result


def _described(stage: Stage[Any]) -> dict[str, Any]:
    if stage.run is None:
        return {"active": False, "detail": stage.inactive_reason}
    return {"active": True}
