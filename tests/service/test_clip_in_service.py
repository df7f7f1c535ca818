"""With CLIP weights configured, the classifier runs in every screening and says so."""

from __future__ import annotations

import json

import pytest

from tests.service.conftest import key_for

TINY_CLIP = "originframe-service-tiny-clip"


@pytest.fixture(scope="session")
def tiny_clip_files(tmp_path_factory):
    """A tiny open_clip architecture (config file + seeded weights), loaded through the service's settings."""
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("clip")
    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    config_path = folder / f"{TINY_CLIP}.json"
    config_path.write_text(json.dumps(config))
    open_clip.add_model_config(config_path)
    torch.manual_seed(7)
    weights = folder / "weights.pt"
    torch.save(open_clip.create_model(TINY_CLIP).state_dict(), weights)
    return config_path, weights


def test_clip_classifier_configured_by_settings_runs_and_is_reported(app_factory, tiny_clip_files):
    config_path, weights = tiny_clip_files
    client = app_factory(clip_model=TINY_CLIP, clip_weights=str(weights), clip_model_config=str(config_path))
    signals = {s["name"]: s for s in client.get("/health").json()["safety"]["signals"]}
    assert signals["clip_text"]["active"] and signals["clip_image"]["active"]
    headers, auditor = key_for(client, "generate"), key_for(client, "audit")
    result = client.post("/v1/screenings", json={"prompt": "a sailing boat at sea"}, headers=headers).json()
    assert result["signals"]["clip_text"] is True
    record = client.get(f"/v1/audit/decisions/{result['decision_id']}", headers=auditor).json()
    clip = next(s for s in record["screening"]["signals"] if s["name"] == "clip_text")
    assert clip["active"] and TINY_CLIP in clip["version"] and set(clip["scores"]) >= {"sexual", "violence_gore"}
    assert all(0.0 <= score <= 1.0 for score in clip["scores"].values())


def test_misconfigured_clip_weights_are_reported_inactive_with_the_reason(app_factory, tmp_path):
    client = app_factory(clip_model="ViT-B-32", clip_weights=str(tmp_path / "missing.pt"))
    operator = {
        s["name"]: s for s in client.get("/health", headers=key_for(client, "admin")).json()["safety"]["signals"]
    }
    assert operator["clip_text"]["active"] is False and "missing.pt" in operator["clip_text"]["reason_if_inactive"]
    # anyone else learns that the weights are missing, but not where the server keeps its files
    public = {s["name"]: s for s in client.get("/health").json()["safety"]["signals"]}
    assert (
        public["clip_text"]["active"] is False and "weights file not found" in public["clip_text"]["reason_if_inactive"]
    )
    assert str(tmp_path) not in public["clip_text"]["reason_if_inactive"]
