"""Issue 10: the optional learned text moderation signal (plumbing, with a tiny random model)."""

from __future__ import annotations

import pytest

from safety import Screener, TextModelConfig
from safety.text_model import TextModel, parse_verdict
from tests.tiny_guard import build_tiny_guard


@pytest.fixture(scope="module")
def tiny_guard(tmp_path_factory):
    """A tiny Llama-architecture causal LM with random weights and a word-level tokenizer, on disk."""
    return build_tiny_guard(tmp_path_factory.mktemp("guard"))


def test_verdicts_are_parsed():
    assert parse_verdict("safe").parsed and not parse_verdict("safe").unsafe
    v = parse_verdict("unsafe\nS1,S10")
    assert v.unsafe and v.codes == ("S1", "S10")
    assert not parse_verdict("fox fox").parsed


def test_inactive_without_a_path_and_reported(screener):
    result = screener.screen_prompt("a fox in the snow")
    report = next(s for s in result.signals if s.name == "text_model")
    assert not report.active and "no text moderation model configured" in report.reason_if_inactive
    health = {s["name"]: s for s in screener.health()["signals"]}
    assert health["text_model"]["active"] is False


def test_tiny_model_runs_in_the_decision(policy, tiny_guard):
    screener = Screener(policy, text_model=TextModelConfig(path=str(tiny_guard), max_new_tokens=3))
    assert {s["name"]: s for s in screener.health()["signals"]}["text_model"]["active"]
    result = screener.screen_prompt("a fox")
    report = next(s for s in result.signals if s.name == "text_model")
    assert report.active and report.version == f"text-model@{tiny_guard.name}"
    assert result.model_versions["text_model"] == report.version


def test_hazard_codes_map_to_policy_categories(policy, tiny_guard):
    model = TextModel(TextModelConfig(path=str(tiny_guard)))
    assert model.load()
    model.generate = lambda prompt: "unsafe\nS10"  # the tiny model answers noise; the mapping is what is tested
    out = model.run("anything", policy.text_model_codes)
    assert set(out.hits) == {"hate_extremism"} and out.report.scores == {"hate_extremism": 1.0}


def test_a_broken_model_directory_is_reported(policy, tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    screener = Screener(policy, text_model=TextModelConfig(path=str(tmp_path)))
    report = next(s for s in screener.screen_prompt("a fox").signals if s.name == "text_model")
    assert not report.active and "failed to load" in report.reason_if_inactive
