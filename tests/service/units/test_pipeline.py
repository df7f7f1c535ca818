"""service/pipeline/ without HTTP: the tiny model through the flow with real watermarking and
stages written here, checking the order, the records, a refusal and an inactive stage."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.media import decode_video
from provenance.watermark import Keyring, detect_watermark
from service.backends import create_backend
from service.digests import sha256_hex
from service.generations.request import GenerationRequest
from service.generations.resolution import resolve_request
from service.generations.status import GenerationStatus, Progress, StageName
from service.pipeline.flow import GenerationPipeline, OutputRefused, RunningJob, Stage
from service.pipeline.spec import JobContext, JobSpec
from service.pipeline.watermarking import Watermarking


class Recorder:
    """The runner's reporter as the pipeline sees it: stage names and progress, in order."""

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.steps: list[tuple[int, int]] = []

    def stage(self, name: str) -> None:
        self.stages.append(str(name))

    def progress(self, step: int, total: int) -> None:
        self.steps.append((step, total))

    def checkpoint(self) -> None:
        pass


@pytest.fixture
def backends(settings):
    return {"tiny": create_backend("tiny", settings)}


@pytest.fixture
def spec(backends, settings) -> JobSpec:
    """A job as resolution leaves it: the tiny model's defaults filled in."""
    wanted = GenerationRequest(
        prompt="a lake", num_frames=4, fps=8, width=256, height=256, num_inference_steps=1, seed=3
    )
    request = resolve_request(wanted, None, backends, settings).input
    return JobSpec(
        generation_id="g-1",
        model="tiny",
        request=request,
        watermark_id=0x1234,
        context=JobContext(api_key_id="k"),
        stages={"screen_inputs": {"active": True}},
    )


def _pipeline(backends, stored, keyring, **stages):
    defaults = dict(
        screen_output=Stage(StageName.SCREEN_OUTPUT, lambda frames, job: frames),
        watermark=Stage(StageName.WATERMARK, Watermarking(lambda: keyring)),
        sign=Stage(StageName.SIGN, lambda video, job: video + b"signed"),
        fingerprint=Stage(StageName.FINGERPRINT, None, "no fingerprint registry in this test"),
    )
    defaults.update(stages)
    return GenerationPipeline(backends, stored.__setitem__, crf=18, preset="ultrafast", **defaults)


def test_the_flow_runs_each_stage_in_order_and_records_it(backends, spec, tmp_path):
    keyring = Keyring.load_or_create(tmp_path / "keys")
    stored: dict[str, bytes] = {}
    reporter = Recorder()
    outcome = _pipeline(backends, stored, keyring).run(spec, reporter)

    assert reporter.stages == [
        Progress.LOADING_MODEL,
        Progress.GENERATING,
        StageName.SCREEN_OUTPUT,
        StageName.WATERMARK,
        Progress.ENCODING,
        StageName.SIGN,
        Progress.STORING,
    ]
    assert reporter.steps and reporter.steps[-1][0] == reporter.steps[-1][1]
    assert list(outcome.stages) == [
        "screen_inputs",
        "generate",
        "screen_output",
        "watermark",
        "encode",
        "sign",
        "fingerprint",
        "store",
    ]
    assert outcome.stages["fingerprint"] == {"active": False, "detail": "no fingerprint registry in this test"}
    assert outcome.stages["watermark"]["identifier"] == "0000000000001234"
    assert outcome.columns.watermark_key_id == keyring.current.key_id
    assert stored == {"videos/g-1.mp4": stored["videos/g-1.mp4"]} and stored["videos/g-1.mp4"].endswith(b"signed")
    assert outcome.video_sha256 == sha256_hex(stored["videos/g-1.mp4"]) and outcome.output["frames"] == 4
    assert {"load_model_s", "generate_s", "watermark_s", "encode_s", "sign_s"} <= set(outcome.timings)
    # the mark is in the stored pixels
    frames = decode_video(stored["videos/g-1.mp4"][: -len(b"signed")]).frames
    assert detect_watermark(frames, keyring).identifier == 0x1234


def test_a_stage_that_replaces_the_frames_hands_them_on(backends, spec, tmp_path):
    seen: list[np.ndarray] = []

    def darken(frames: np.ndarray, job: RunningJob) -> np.ndarray:
        job.columns.label_applied = True
        return (frames // 2).astype(np.uint8)

    def look(frames: np.ndarray, job: RunningJob) -> np.ndarray:
        seen.append(frames)
        return frames

    stored: dict[str, bytes] = {}
    outcome = _pipeline(
        backends,
        stored,
        Keyring.load_or_create(tmp_path / "keys"),
        screen_output=Stage(StageName.SCREEN_OUTPUT, darken),
        watermark=Stage(StageName.WATERMARK, look),
    ).run(spec, Recorder())
    assert seen and seen[0].max() <= 128 and outcome.columns.values() == {"label_applied": True}


def test_a_refusal_keeps_what_ran_before_it(backends, spec, tmp_path):
    def refuse(frames: np.ndarray, job: RunningJob) -> np.ndarray:
        job.record["decision"] = "block"
        raise OutputRefused(GenerationStatus.BLOCKED, "blocked_by_policy", "refused", output_decision_id="d-9")

    stored: dict[str, bytes] = {}
    with pytest.raises(OutputRefused) as refused:
        _pipeline(
            backends,
            stored,
            Keyring.load_or_create(tmp_path / "keys"),
            screen_output=Stage(StageName.SCREEN_OUTPUT, refuse),
        ).run(spec, Recorder())
    assert stored == {}
    assert refused.value.stages["screen_output"] == {"active": True, "decision": "block"}
    assert "generate" in refused.value.stages and "generate_s" in refused.value.timings
    assert refused.value.columns.output_decision_id == "d-9"


def test_describe_lists_the_stages_in_the_flows_order(backends, tmp_path):
    described = _pipeline(backends, {}, Keyring.load_or_create(tmp_path / "keys")).describe()
    assert list(described) == ["generate", "screen_output", "watermark", "encode", "sign", "fingerprint", "store"]
    assert described["fingerprint"]["active"] is False and described["sign"]["active"] is True
