"""What the sign stage writes about the model: the hub id, or the model's name for local weights."""

from __future__ import annotations

import pytest

from service.pipeline.signing import public_model_id


@pytest.mark.parametrize(
    "source, model, expected",
    [
        ("Lightricks/LTX-Video", "ltx", "Lightricks/LTX-Video"),
        ("stabilityai/stable-video-diffusion-img2vid-xt", "svd-xt", "stabilityai/stable-video-diffusion-img2vid-xt"),
        ("/var/lib/originframe/models/tiny-ltx", "tiny", "tiny"),
        ("./weights/svd", "svd", "svd"),
        ("~/models/ltx", "ltx", "ltx"),
        ("C:\\models\\svd", "svd", "svd"),
        ("models/ltx/v2", "ltx", "ltx"),
    ],
)
def test_a_local_weights_directory_is_named_by_the_model_not_its_path(source, model, expected):
    assert public_model_id(source, model) == expected


def test_a_relative_directory_that_exists_is_a_path_even_with_one_slash(tmp_path, monkeypatch):
    (tmp_path / "org" / "model").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert public_model_id("org/model", "tiny") == "tiny"
