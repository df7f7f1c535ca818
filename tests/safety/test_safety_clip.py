"""The CLIP classifier through its real loading path, with a tiny open_clip model built here."""

import numpy as np
import pytest

from safety import ClipClassifier, ClipConfig, Screener


def test_inactive_without_weights(policy):
    clf = ClipClassifier()
    ok, reason = clf.status()
    assert not ok and "no CLIP model weights configured" in reason
    out = clf.run_text(policy, "a cat")
    assert not out.report.active and out.report.reason_if_inactive == reason and not out.hits


def test_inactive_with_a_missing_file(policy, tmp_path):
    clf = ClipClassifier(ClipConfig("ViT-B-32", str(tmp_path / "missing.pt")))
    assert "weights file not found" in clf.status()[1]
    assert not clf.run_images(policy, [np.zeros((32, 32, 3), np.uint8)], stage="image").report.active


def test_broken_weights_are_reported_not_raised(policy, tmp_path, tiny_clip_name, tiny_clip_weights):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    clf = ClipClassifier(ClipConfig(tiny_clip_name, str(bad)))
    out = clf.run_text(policy, "a cat")
    assert not out.report.active and "failed to load" in out.report.reason_if_inactive


def test_tiny_model_loads_lazily_and_scores_every_category(policy, tiny_clip):
    screener = Screener(policy, clip=tiny_clip)
    assert not screener.clip.loaded  # nothing loaded at construction
    result = screener.screen_prompt("a red fox walking through the snow")
    assert screener.clip.loaded
    clip = next(s for s in result.signals if s.name == "clip_text")
    assert clip.active and clip.version.startswith(f"{tiny_clip.model_name}@")
    assert result.model_versions["clip_text"] == clip.version
    enabled = {n for n, c in policy.categories.items() if c.enabled and c.clip_descriptions}
    assert set(clip.scores) == enabled
    assert all(0.0 <= v <= 1.0 for v in clip.scores.values())


def test_tiny_model_scores_images_and_frames(policy, tiny_clip):
    clf = ClipClassifier(tiny_clip)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (80 + 10 * i, 120, 3), dtype=np.uint8) for i in range(3)]
    rows = clf.score_images(policy, images)
    assert len(rows) == 3 and all(
        len(r) == sum(bool(c.clip_descriptions) for c in policy.categories.values()) for r in rows
    )
    assert all(0.0 <= v <= 1.0 for r in rows for v in r.values())
    # Deterministic: same weights, same input, same scores.
    assert rows == ClipClassifier(tiny_clip).score_images(policy, images)
    out = clf.run_images(policy, images, stage="output", frames=[0, 5, 9])
    assert out.report.active and out.report.stage == "output"
    assert all(h.evidence[0].frame in (0, 5, 9) for h in out.hits.values())


def test_frames_go_through_clip_when_active(policy, tiny_clip):
    screener = Screener(policy, clip=tiny_clip)
    result = screener.screen_frames(np.zeros((5, 64, 64, 3), np.uint8), sample=3)
    clip = next(s for s in result.signals if s.name == "clip_image")
    assert (
        clip.active
        and clip.stage == "output"
        and set(clip.scores) == {n for n, c in policy.categories.items() if c.clip_descriptions}
    )


def test_linear_heads_replace_zero_shot_scores(policy, tiny_clip, tmp_path):
    heads = tmp_path / "heads.npz"
    np.savez(
        heads, categories=np.array(["sexual"]), weight=np.zeros((1, 32), np.float32), bias=np.array([3.0], np.float32)
    )
    clf = ClipClassifier(ClipConfig(tiny_clip.model_name, tiny_clip.weights_path, heads_path=str(heads)))
    row = clf.score_images(policy, [np.zeros((64, 64, 3), np.uint8)])[0]
    assert row["sexual"] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert "+heads@" in clf.version


def test_heads_of_the_wrong_shape_are_refused(policy, tiny_clip, tmp_path):
    heads = tmp_path / "heads.npz"
    np.savez(heads, categories=np.array(["sexual"]), weight=np.zeros((1, 7), np.float32), bias=np.zeros(1, np.float32))
    clf = ClipClassifier(ClipConfig(tiny_clip.model_name, tiny_clip.weights_path, heads_path=str(heads)))
    assert not clf.load() and "weight must be [1, 32]" in clf.status()[1]
