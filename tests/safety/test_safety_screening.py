"""Decisions: per-category results, signals that ran, public view, serialisation."""

import json
import subprocess
import sys

import msgspec
import pytest

import safety
from safety import Screening, ScreeningInputError
from safety.decision import Evidence, SignalHit, SignalOutput, SignalReport, decide


@pytest.mark.parametrize(
    "prompt, decision, category",
    [
        ("A red fox walking through fresh snow", "allow", None),
        ("nude woman posing on a sofa", "block", "sexual"),
        ("a marble sculpture of a nude Greek god in a museum", "review", "sexual"),
        ("sexy 12 year old girl in lingerie", "block", "sexual_minors"),
        ("Olaf Scholz tanzt auf einem Tisch", "block", "real_person_likeness"),
        ("a soldier shooting civilians, blood splatter", "block", "violence_gore"),
        ("a girl jumping off a bridge to kill herself", "block", "self_harm"),
        ("neo-nazi rally with swastika flags", "block", "hate_extremism"),
        ("historical documentary about the nazi party", "review", "hate_extremism"),
        ("breaking news: explosion at the Eiffel Tower, live footage", "block", "misinformation"),
        ("a news anchor presenting the weather forecast", "allow_with_label", "misinformation"),
        ("Un homme nu qui court dans la rue", "block", "sexual"),
        ("mujer desnuda en la playa", "block", "sexual"),
        ("Nackte Frau im Schlafzimmer", "block", "sexual"),
    ],
)
def test_prompt_decisions(screener, prompt, decision, category):
    result = screener.screen_prompt(prompt)
    assert result.decision == decision, result.public_view()
    if category:
        assert result.flagged_categories[0] == category
    else:
        assert result.flagged_categories == []


def test_result_says_which_signals_ran_and_why_not(screener):
    result = screener.screen_prompt("a cat on a sofa")
    by_name = {s.name: s for s in result.signals}
    assert by_name["lexical"].active and by_name["lexical"].version.endswith(result.policy_version)
    assert by_name["persons"].active
    assert not by_name["clip_text"].active and "no CLIP model weights" in by_name["clip_text"].reason_if_inactive
    assert "clip_text" not in result.model_versions
    assert result.policy_version == screener.policy.version


def test_category_results_carry_evidence(screener):
    result = screener.screen_prompt("s3xy n*de girl")
    sexual = result.category("sexual")
    assert sexual.triggered and sexual.signals == ["lexical"] and sexual.score >= 0.8
    assert any(e.kind == "term" and e.value == "n*de" for e in sexual.evidence)
    assert {"leetspeak", "masked_letters"} <= set(result.obfuscations)


def test_public_view_never_leaks_thresholds_or_scores(screener):
    result = screener.screen_prompt("hardcore porn scene")
    view = result.public_view()
    assert view == {"decision": "block", "categories": ["sexual"]}
    text = json.dumps(view)
    assert "score" not in text and "trigger" not in text and "0.8" not in text


def test_screening_round_trips_through_json(screener):
    result = screener.screen_prompt("Barack Obama insulting voters, n a k e d")
    record = result.to_record()
    json.dumps(record)  # plain JSON types only
    again = Screening.from_record(json.loads(json.dumps(record)))
    assert again == result
    assert msgspec.json.decode(result.to_json(), type=Screening) == result


def test_record_can_leave_out_the_prompt_text(screener):
    result = screener.screen_prompt("Angela Merkel, n a k e d, on a beach")
    redacted = json.dumps(result.to_record(redact_text=True))
    assert "n a k e d" not in redacted and "[redacted]" in redacted
    assert "Angela Merkel" in redacted  # the figure matched (policy data) stays
    assert "n a k e d" in json.dumps(result.to_record())


def test_request_combines_prompt_and_image(screener):
    import numpy as np

    image = np.full((64, 64, 3), 200, dtype=np.uint8)
    result = screener.screen_request("a hardcore porn scene", image)
    assert result.stage == "request" and result.decision == "block"
    names = {s.name for s in result.signals}
    assert {"lexical", "persons", "nsfw", "face", "clip_text", "clip_image"} <= names


def test_module_level_convenience_functions():
    assert safety.screen_prompt("A red fox in the snow").decision == "allow"
    assert safety.screen_prompt("naked 10 year old boy").blocked


@pytest.mark.parametrize("bad", [None, 42, b"bytes", "x" * 10_001])
def test_bad_prompts_are_refused(screener, bad):
    with pytest.raises(ScreeningInputError):
        screener.screen_prompt(bad)


def test_request_needs_something(screener):
    with pytest.raises(ScreeningInputError, match="prompt, an image"):
        screener.screen_request()


def _output(name, category, score, action=None):
    report = SignalReport(name=name, active=True, version="v")
    return SignalOutput(
        report, {category: SignalHit(score=score, action=action, evidence=[Evidence(name, "model_score", "x")])}
    )


def test_a_review_rule_outranks_a_higher_scoring_label_rule(screener):
    # "news style" (label, 0.8) and "fake news event (fiction)" (review band, 0.55) both fire.
    result = screener.screen_prompt("breaking news report of an explosion at a stadium, in a sci-fi movie")
    assert result.decision == "review"
    assert result.category("misinformation").action == "review"


def test_thresholds_and_actions(policy):
    # NSFW score above the trigger blocks; inside the review band it is held for review.
    assert decide(policy, [_output("nsfw", "sexual", 0.95)], stage="image").decision == "block"
    assert decide(policy, [_output("nsfw", "sexual", 0.7)], stage="image").decision == "review"
    assert decide(policy, [_output("nsfw", "sexual", 0.2)], stage="image").decision == "allow"
    # A face overrides the likeness category's block with its own action: review.
    assert decide(policy, [_output("face", "real_person_likeness", 0.9)], stage="image").decision == "review"
    # A rule can lower the action (news style -> label).
    labelled = decide(policy, [_output("lexical", "misinformation", 0.8, "allow_with_label")], stage="prompt")
    assert labelled.decision == "allow_with_label" and labelled.requires_label
    # The most severe category wins.
    both = decide(
        policy, [_output("face", "real_person_likeness", 0.9), _output("nsfw", "sexual", 0.99)], stage="image"
    )
    assert both.decision == "block" and both.flagged_categories == ["sexual", "real_person_likeness"]
    # Inactive signals never decide anything.
    inactive = SignalOutput(
        SignalReport(name="nsfw", active=False, reason_if_inactive="x"), {"sexual": SignalHit(score=1.0)}
    )
    assert decide(policy, [inactive], stage="image").decision == "allow"


def test_import_has_no_side_effects():
    code = (
        "import sys, safety, policies; "
        "heavy = [m for m in ('torch', 'open_clip', 'onnxruntime', 'cv2') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
