"""Shared fixtures for the safety tests: the default policy and screener are built once."""

from __future__ import annotations

import json

import pytest

from policies import DEFAULT_POLICY_PATH
from safety import ClipConfig, Screener, load_policy

TINY_CLIP = "originframe-tiny-clip"


@pytest.fixture(scope="session")
def policy():
    return load_policy(DEFAULT_POLICY_PATH)


@pytest.fixture(scope="session")
def screener(policy):
    return Screener(policy)


@pytest.fixture(scope="session")
def tiny_clip_weights(tmp_path_factory):
    """A tiny open_clip architecture registered under a test name, with seeded random weights on disk."""
    import open_clip
    import torch

    torch.set_num_threads(1)
    config_dir = tmp_path_factory.mktemp("clip_config")
    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    (config_dir / f"{TINY_CLIP}.json").write_text(json.dumps(config))
    open_clip.add_model_config(config_dir)
    torch.manual_seed(1234)
    model = open_clip.create_model(TINY_CLIP)
    weights = config_dir / "tiny_clip.pt"
    torch.save(model.state_dict(), weights)
    return weights


@pytest.fixture(scope="session")
def tiny_clip_name():
    return TINY_CLIP


@pytest.fixture(scope="session")
def tiny_clip(tiny_clip_weights):
    return ClipConfig(model_name=TINY_CLIP, weights_path=str(tiny_clip_weights))
