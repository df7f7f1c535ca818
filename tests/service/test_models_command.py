"""`originframe models`: list, import, verify, remove with local directories (no hub here), and
download refusing what it must refuse before touching the network."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from service.backends import GenerationInput, create_backend
from service.backends.model_files import ModelFilesError, check_free_space
from service.cli import main
from tests.service.conftest import make_settings


@pytest.fixture
def run(tmp_path, models_dir):
    store = tmp_path / "store"

    def invoke(*arguments: str, **env: str):
        environment = {
            "ORIGINFRAME_DATA_DIR": str(tmp_path / "data"),
            "ORIGINFRAME_MODELS_DIR": str(store),
            **{f"ORIGINFRAME_{key.upper()}": value for key, value in env.items()},
        }
        return CliRunner().invoke(main, ["models", *arguments], env=environment, catch_exceptions=False)

    invoke.store = store
    return invoke


def test_list_says_what_each_backend_needs_and_what_is_missing(run, tiny_wan_dir):
    result = run(
        "list", enabled_models="tiny,wan,hunyuan", wan_model=str(tiny_wan_dir), wan_i2v_model=str(tiny_wan_dir)
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    wan_text = next(line for line in lines if line.split()[:2] == ["wan", "text-to-video"])
    assert "ok" in wan_text and str(tiny_wan_dir) in wan_text and "ORIGINFRAME_WAN_MODEL" in wan_text
    hunyuan_text = next(line for line in lines if line.split()[:2] == ["hunyuan", "text-to-video"])
    assert "MISSING" in hunyuan_text and "downloads are off" in hunyuan_text


def test_import_verify_load_tamper_and_remove(run, tiny_wan_dir, tmp_path, models_dir):
    imported = run("import", "wan", str(tiny_wan_dir), "--mode", "text-to-video", "--name", "ti2v-tiny")
    assert imported.exit_code == 0, imported.output
    target = run.store / "wan-text-to-video-ti2v-tiny"
    assert f"export ORIGINFRAME_WAN_MODEL={target}" in imported.output
    record = json.loads((target / "originframe-model.json").read_text())
    assert record["origin"] == "import" and record["pipeline_class"] == "WanPipeline"
    assert "transformer/config.json" in record["files"] and len(record["files"]["model_index.json"]["sha256"]) == 64

    listed = run("list")
    assert "wan-text-to-video-ti2v-tiny" in listed.output and "recorded" in listed.output
    verified = run("verify", target.name, "--json")
    assert verified.exit_code == 0 and json.loads(verified.output)["ok"]

    # the imported directory is what the backend loads
    settings = make_settings(tmp_path / "data", models_dir, wan_model=str(target), wan_i2v_model=str(target))
    frames = create_backend("wan", settings).generate(
        GenerationInput(
            prompt="a fox", num_frames=5, fps=8, width=64, height=64, num_inference_steps=1, seed=0, guidance=5.0
        ),
        lambda *_: None,
    )
    assert frames.shape == (5, 64, 64, 3) and frames.dtype == np.uint8

    weights = next((target / "transformer").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    (target / "vae" / "config.json").unlink()
    broken = run("verify", str(target))
    assert broken.exit_code == 1
    assert f"transformer/{weights.name} has changed" in broken.output and "vae/config.json is missing" in broken.output

    assert (
        "already exists"
        in run("import", "wan", str(tiny_wan_dir), "--mode", "text-to-video", "--name", "ti2v-tiny").output
    )
    removed = run("remove", target.name, "--yes")
    assert removed.exit_code == 0 and not target.exists()
    assert "is not a model directory" in run("remove", "..", "--yes").output


def test_import_refuses_a_pipeline_of_another_model(run, models_dir):
    from service.backends import tiny

    result = run("import", "wan", str(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}"), "--mode", "text-to-video")
    assert result.exit_code != 0 and "holds a LTXPipeline; wan text-to-video needs WanPipeline" in result.output
    assert "choose --mode" in run("import", "wan", str(models_dir)).output
    assert not list(run.store.glob("*")) if run.store.exists() else True


def test_download_is_refused_while_downloads_are_off(run):
    result = run("download", "wan", "--mode", "text-to-video")
    assert (
        result.exit_code != 0
        and "downloads are off" in result.output
        and "ORIGINFRAME_ALLOW_DOWNLOADS=true" in result.output
    )
    assert "pass --hub-id" in run("download", "ltx", ltx_model="/somewhere/local").output


def test_verify_without_a_record_says_there_is_nothing_to_check_against(run, tiny_wan_dir):
    result = run("verify", str(tiny_wan_dir))
    assert result.exit_code == 1 and "nothing to check the files against" in result.output


def test_disk_space_check_refuses_what_does_not_fit(tmp_path):
    import shutil

    free = shutil.disk_usage(tmp_path).free
    check_free_space(tmp_path, 1024)
    with pytest.raises(ModelFilesError, match="GB to download but only"):
        check_free_space(tmp_path, free * 2)
