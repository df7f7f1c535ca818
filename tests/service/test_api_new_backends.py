"""wan and hunyuan through the same doors as the other models: the HTTP API (JSON and multipart,
progress, the job record, the C2PA manifest, /health) and `originframe generate`, with tiny
same-architecture weights loaded from local directories."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import av
import pytest

from provenance.manifest import read_manifest
from tests.service.conftest import key_for, new_backend_settings, png_bytes, wait_for
from tests.service.test_cli_and_serve import environment, frames_of

SHAPES = {"wan": {"width": 96, "height": 64, "num_frames": 9}, "hunyuan": {"width": 80, "height": 64, "num_frames": 5}}


@pytest.fixture
def new_client(app_factory, tiny_wan_dir, tiny_hunyuan_dirs):
    # a step cache on wan, so the record and the manifest have an output-shaping setting to name
    return app_factory(step_cache="wan=first-block:0.2", **new_backend_settings(tiny_wan_dir, tiny_hunyuan_dirs))


def frames_in(mp4: bytes) -> list:
    with av.open(io.BytesIO(mp4)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.mark.parametrize("model", ["wan", "hunyuan"])
def test_prompt_and_image_to_signed_mp4(new_client, model):
    headers = key_for(new_client, "generate")
    shape = SHAPES[model]
    text = new_client.post(
        "/v1/generations",
        json={"model": model, "prompt": "a red fox in snow", "num_inference_steps": 2, "fps": 8, "seed": 5, **shape},
        headers=headers,
    )
    image = new_client.post(
        "/v1/generations",
        data={
            "model": model,
            "prompt": "waves",
            "num_inference_steps": "2",
            "fps": "8",
            "flow_shift": "3",
            **{k: str(v) for k, v in shape.items()},
        },
        files={"image": ("in.png", png_bytes(120, 80), "image/png")},
        headers=headers,
    )
    assert text.status_code == 202 and image.status_code == 202, (text.text, image.text)
    for response, mode in ((text, "text-to-video"), (image, "image-to-video")):
        done = wait_for(new_client, response.json()["id"], headers)
        assert done["status"] == "succeeded", done
        assert done["mode"] == mode and done["model"] == model and done["progress"]["percent"] == 100.0
        generate = done["stages"]["generate"]
        assert generate["model"] == model and generate["frames"] == shape["num_frames"]
        video = new_client.get(done["links"]["video"], headers=headers).content
        frames = frames_in(video)
        assert len(frames) == shape["num_frames"] and frames[0].shape == (shape["height"], shape["width"], 3)
        manifest = read_manifest(video, "video/mp4", new_client.app.state.runtime.provenance.trust_anchors())
        assert manifest.validation_state == "Trusted" and manifest.generation.generation_id == done["id"]
        # the record and the manifest name what shaped the pixels
        expected = {"dtype": "float32", **({"step_cache": "first-block:0.2"} if model == "wan" else {})}
        assert generate["speed"]["output"] == expected
        assert manifest.generation.output_settings == expected
    assert wait_for(new_client, image.json()["id"], headers)["parameters"]["flow_shift"] == 3.0


def test_health_lists_the_new_models_and_why_one_cannot_run(app_factory, tiny_wan_dir, tmp_path):
    client = app_factory(
        wan_model=str(tiny_wan_dir),
        wan_i2v_model=str(tiny_wan_dir),
        hunyuan_model=str(tmp_path / "nowhere"),
        hunyuan_i2v_model="",
    )
    models = client.get("/health").json()["models"]
    assert models["wan"]["available"] and models["wan"]["modes"] == ["text-to-video", "image-to-video"]
    assert not models["hunyuan"]["available"] and "does not exist" in models["hunyuan"]["detail"]
    assert models["hunyuan"]["modes"] == ["text-to-video"]
    assert models["wan"]["speed"]["output"] == {"dtype": "float32"} and "compile" not in models["wan"]["speed"]
    headers = key_for(client, "generate")
    refused = client.post("/v1/generations", json={"model": "hunyuan", "prompt": "x"}, headers=headers)
    assert refused.status_code == 503 and "cannot run here" in refused.json()["detail"]


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"model": "wan", "prompt": "x", "num_frames": 20}, "num_frames", "4k+1 (e.g. 21)"),
        ({"model": "wan", "prompt": "x", "width": 100, "num_frames": 17}, "width", "multiple of 32"),
        ({"model": "hunyuan", "prompt": "x", "width": 24, "num_frames": 17}, "width", "multiple of 16 and at least 64"),
        ({"model": "hunyuan", "prompt": "x", "num_frames": 14}, "num_frames", "4k+1 (e.g. 13)"),
        ({"model": "wan", "prompt": "x", "num_frames": 17, "flow_shift": 50}, "flow_shift", "between 1.0 and 20.0"),
        (
            {"model": "wan", "num_frames": 17, "motion_bucket_id": 3, "prompt": "x"},
            "motion_bucket_id",
            "does not use motion_bucket_id",
        ),
        ({"prompt": "x", "flow_shift": 3}, "flow_shift", "model 'tiny' does not use flow_shift"),
    ],
)
def test_bad_parameters_for_the_new_models_are_taught(new_client, body, field, words):
    headers = key_for(new_client, "generate")
    response = new_client.post("/v1/generations", json=body, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert words in problem["detail"] and problem["field"] == field


def test_trained_frame_limit_is_a_4xx(app_factory, tiny_wan_dir):
    client = app_factory(max_frames=129, max_duration_s=20.0, wan_variant="2.1-1.3b", wan_model=str(tiny_wan_dir))
    response = client.post(
        "/v1/generations",
        json={"model": "wan", "prompt": "x", "num_frames": 85, "fps": 16, "width": 64, "height": 64},
        headers=key_for(client, "generate"),
    )
    assert response.status_code == 422 and "trained for at most 81 frames" in response.json()["detail"]


@pytest.mark.parametrize("model", ["wan", "hunyuan"])
def test_generate_command_runs_the_new_models(tmp_path, models_dir, tiny_wan_dir, tiny_hunyuan_dirs, model):
    output = tmp_path / "clip.mp4"
    shape = SHAPES[model]
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes(100, 70))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "generate",
            "--model",
            model,
            "--prompt",
            "a lighthouse",
            "--image",
            str(image),
            "--frames",
            str(shape["num_frames"]),
            "--fps",
            "8",
            "--width",
            str(shape["width"]),
            "--height",
            str(shape["height"]),
            "--steps",
            "2",
            "--flow-shift",
            "4",
            "-o",
            str(output),
        ],
        env=environment(tmp_path / "data", models_dir, **new_backend_settings(tiny_wan_dir, tiny_hunyuan_dirs)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert frames_of(output) == (shape["num_frames"], (shape["width"], shape["height"]))
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "generate",
            "--model",
            model,
            "--prompt",
            "x",
            "--frames",
            "10",
            "-o",
            str(output),
        ],
        env=environment(tmp_path / "data", models_dir, **new_backend_settings(tiny_wan_dir, tiny_hunyuan_dirs)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "4k+1" in bad.stderr


def test_image_round_trips_as_base64_json(new_client):
    headers = key_for(new_client, "generate")
    response = new_client.post(
        "/v1/generations",
        json={
            "model": "wan",
            "image": base64.b64encode(png_bytes()).decode(),
            "num_inference_steps": 2,
            **SHAPES["wan"],
        },
        headers=headers,
    )
    assert response.status_code == 202, response.text
    done = wait_for(new_client, response.json()["id"], headers)
    assert done["status"] == "succeeded" and done["mode"] == "image-to-video"
