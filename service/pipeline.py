"""The worker-side flow of one generation, stage by stage:

    generate -> screen output -> watermark -> encode -> sign -> fingerprint -> store

(inputs are screened before the job is queued, in service.generations). Each stage says
in the job record whether it ran and what it did; a stage this deployment cannot run is
recorded as inactive with the reason, never skipped silently.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from provenance.media import encode_mp4_bytes
from service.generation import Backend, GenerationInput


class OutputRefused(Exception):
    """A stage refused to release the output (e.g. output screening blocked it)."""

    def __init__(self, status: str, code: str, reason: str, **values) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.values = status, code, reason, values


class Reporter(Protocol):
    def stage(self, name: str) -> None: ...
    def progress(self, step: int, total: int) -> None: ...
    def checkpoint(self) -> None: ...


@dataclass
class JobSpec:
    generation_id: str
    model: str
    request: GenerationInput
    watermark_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)  # decision ids, policy version, prompt if shareable


@dataclass
class PipelineOutcome:
    video_key: str
    video_sha256: str
    video_bytes: int
    output: dict[str, Any]
    stages: dict[str, Any]
    timings: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)  # columns a stage wants recorded (e.g. watermark key id)


@dataclass
class Stage:
    """An optional stage: `run(frames_or_bytes, spec, record)` or None with why it is inactive."""

    name: str
    run: Callable[..., Any] | None
    inactive_reason: str = ""


class GenerationPipeline:
    def __init__(
        self,
        backends: dict[str, Backend],
        store: Callable[[str, bytes], None],
        *,
        crf: int,
        preset: str,
        screen_output: Stage,
        watermark: Stage,
        sign: Stage,
        fingerprint: Stage,
    ) -> None:
        self.backends = backends
        self.store = store
        self.crf, self.preset = crf, preset
        self.optional = {"screen_output": screen_output, "watermark": watermark, "sign": sign, "fingerprint": fingerprint}

    def describe(self) -> dict[str, dict[str, Any]]:
        """Which stages this deployment runs (for /health)."""
        described = {"generate": {"active": True}, "encode": {"active": True, "detail": f"H.264 CRF {self.crf}"}}
        for name, stage in self.optional.items():
            described[name] = {"active": stage.run is not None, **({"detail": stage.inactive_reason} if stage.run is None else {})}
        described["store"] = {"active": True}
        return described

    def _optional(self, name: str, stages: dict, timings: dict, reporter: Reporter, *arguments) -> Any:
        stage = self.optional[name]
        if stage.run is None:
            stages[name] = {"active": False, "detail": stage.inactive_reason}
            return None
        reporter.stage(name)
        started = time.perf_counter()
        record: dict[str, Any] = {"active": True}
        stages[name] = record  # filled in by the stage; kept even if the stage refuses the output
        try:
            result = stage.run(*arguments, record)
        finally:
            timings[f"{name}_s"] = round(time.perf_counter() - started, 4)
        reporter.checkpoint()
        return result

    def run(self, spec: JobSpec, reporter: Reporter) -> PipelineOutcome:
        stages: dict[str, Any] = dict(spec.context.get("stages") or {})
        timings: dict[str, float] = {}
        extra: dict[str, Any] = {}
        try:
            return self._run(spec, reporter, stages, timings, extra)
        except OutputRefused as refused:
            # keep what ran before the refusal in the job record
            refused.values.update({k: v for k, v in extra.items() if k not in refused.values})
            refused.values.setdefault("stages", stages)
            refused.values.setdefault("timings", timings)
            raise

    def _run(self, spec: JobSpec, reporter: Reporter, stages: dict, timings: dict, extra: dict) -> PipelineOutcome:
        backend = self.backends[spec.model]

        reporter.stage("loading_model")
        started = time.perf_counter()
        backend.load()
        timings["load_model_s"] = round(time.perf_counter() - started, 4)
        reporter.checkpoint()

        reporter.stage("generating")
        started = time.perf_counter()
        frames = backend.generate(spec.request, reporter.progress)
        timings["generate_s"] = round(time.perf_counter() - started, 4)
        info = backend.info()
        stages["generate"] = {"active": True, "model": spec.model, "source": info.source, "frames": int(frames.shape[0])}
        if "speed" in info.extra:  # the settings that shaped these pixels (step cache, fp8 weights, dtype) and how it was compiled
            stages["generate"]["speed"] = info.extra["speed"]
        reporter.checkpoint()

        # screen_output may replace frames (a visible label) or raise to block the release
        screened = self._optional("screen_output", stages, timings, reporter, frames, spec, extra)
        if isinstance(screened, np.ndarray):
            frames = screened
        marked = self._optional("watermark", stages, timings, reporter, frames, spec, extra)
        if isinstance(marked, np.ndarray):
            frames = marked

        reporter.stage("encoding")
        started = time.perf_counter()
        video = encode_mp4_bytes(frames, fps=spec.request.fps, crf=self.crf, preset=self.preset)
        timings["encode_s"] = round(time.perf_counter() - started, 4)
        stages["encode"] = {"active": True, "codec": "h264", "pix_fmt": "yuv420p", "crf": self.crf}
        reporter.checkpoint()

        signed = self._optional("sign", stages, timings, reporter, video, spec, extra)
        if isinstance(signed, (bytes, bytearray)):
            video = bytes(signed)
        self._optional("fingerprint", stages, timings, reporter, frames, spec, extra)

        reporter.stage("storing")
        key = f"videos/{spec.generation_id}.mp4"
        self.store(key, video)
        stages["store"] = {"active": True, "key": key}
        height, width = frames.shape[1:3]
        return PipelineOutcome(
            video_key=key,
            video_sha256=hashlib.sha256(video).hexdigest(),
            video_bytes=len(video),
            output={"frames": int(frames.shape[0]), "width": int(width), "height": int(height), "fps": spec.request.fps},
            stages=stages,
            timings=timings,
            extra=extra,
        )
