"""Safety through the API: refusals, dry-run screenings, the review queue, output screening,
the visible label, and the tamper-evident decision log."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as photos

from tests.service.conftest import key_for, wait_for


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def keys(client):
    return {"app": key_for(client, "generate", name="app"), "auditor": key_for(client, "audit", name="auditor")}


def test_a_refused_prompt_gets_403_with_categories_and_is_audited(client, keys):
    refused = client.post("/v1/generations", json={"prompt": "nude woman posing on a sofa"}, headers=keys["app"])
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert (
        body["type"] == "/problems/blocked-by-policy"
        and body["categories"] == ["sexual"]
        and body["decision"] == "block"
    )
    assert not any(word in refused.text for word in ("trigger", "threshold", "score"))  # never leak thresholds
    generation = client.get(f"/v1/generations/{body['generation_id']}", headers=keys["app"]).json()
    assert generation["status"] == "blocked" and generation["stages"]["screen_inputs"]["decision"] == "block"
    record = client.get(f"/v1/audit/decisions/{body['decision_id']}", headers=keys["auditor"]).json()
    assert record["kind"] == "input" and record["decision"] == "block" and record["api_key_id"]
    assert record["prompt"] == "nude woman posing on a sofa"
    assert {s["name"]: s["active"] for s in record["screening"]["signals"]}["lexical"] is True
    assert record["screening"]["policy_version"] == record["policy_version"]
    # the app key cannot read the log
    assert client.get(f"/v1/audit/decisions/{body['decision_id']}", headers=keys["app"]).status_code == 403


def test_obfuscated_and_foreign_prompts_are_refused_too(client, keys):
    for prompt in ("n u d e woman on a bed", "Un homme nu qui court dans la rue", "Emmanuel Macron giving a speech"):
        assert client.post("/v1/generations", json={"prompt": prompt}, headers=keys["app"]).status_code == 403, prompt


def test_dry_run_screenings_are_audited_without_generating(client, keys):
    allowed = client.post("/v1/screenings", json={"prompt": "a red fox in the snow"}, headers=keys["app"]).json()
    blocked = client.post("/v1/screenings", json={"prompt": "hardcore porn scene"}, headers=keys["app"]).json()
    assert allowed["decision"] == "allow" and allowed["categories"] == []
    assert blocked["decision"] == "block" and blocked["categories"] == ["sexual"]
    assert blocked["signals"]["lexical"] is True and blocked["signals"]["clip_text"] is False
    image = base64.b64encode(jpeg(photos.astronaut())).decode()
    face = client.post("/v1/screenings", json={"image": image}, headers=keys["app"]).json()
    assert face["decision"] == "review" and face["categories"] == ["real_person_likeness"]
    log = client.get("/v1/audit/decisions", params={"kind": "screening"}, headers=keys["auditor"]).json()["items"]
    assert [item["decision"] for item in log] == ["allow", "block", "review"]
    assert client.get("/v1/generations", headers=keys["app"]).json()["items"] == []


def test_a_real_face_is_held_for_review_then_approved_and_generated(client, keys):
    held = client.post(
        "/v1/generations",
        files={"image": ("face.jpg", jpeg(photos.astronaut()), "image/jpeg")},
        data={"num_frames": "4"},
        headers=keys["app"],
    )
    assert held.status_code == 202 and held.json()["status"] == "review"
    queue = client.get("/v1/reviews", headers=keys["auditor"]).json()["items"]
    assert [item["generation_id"] for item in queue] == [held.json()["id"]]
    review = queue[0]
    assert review["stage"] == "input" and review["decision"]["categories"] == ["real_person_likeness"]
    image = client.get(review["links"]["input_image"], headers=keys["auditor"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert client.get("/v1/reviews", headers=keys["app"]).status_code == 403
    missing_reason = client.post(
        f"/v1/reviews/{review['id']}", json={"action": "approve", "reason": " "}, headers=keys["auditor"]
    )
    assert missing_reason.status_code == 422
    approved = client.post(
        f"/v1/reviews/{review['id']}",
        json={"action": "approve", "reason": "consenting model release on file", "reviewer": "ana"},
        headers=keys["auditor"],
    )
    assert approved.status_code == 200 and approved.json()["generation"]["status"] == "queued"
    assert wait_for(client, held.json()["id"], keys["app"])["status"] == "succeeded"
    again = client.post(
        f"/v1/reviews/{review['id']}", json={"action": "reject", "reason": "late"}, headers=keys["auditor"]
    )
    assert again.status_code == 409
    reviews = client.get("/v1/audit/decisions", params={"kind": "review"}, headers=keys["auditor"]).json()["items"]
    assert reviews[0]["details"]["reviews_decision_id"] == review["id"] and reviews[0]["details"]["reviewer"] == "ana"


def test_a_rejected_review_blocks_the_generation(client, keys):
    held = client.post(
        "/v1/generations", json={"prompt": "a marble sculpture of a nude Greek god in a museum"}, headers=keys["app"]
    )
    assert held.json()["status"] == "review"
    review_id = client.get("/v1/reviews", headers=keys["auditor"]).json()["items"][0]["id"]
    client.post(
        f"/v1/reviews/{review_id}", json={"action": "reject", "reason": "not for this app"}, headers=keys["auditor"]
    )
    done = client.get(f"/v1/generations/{held.json()['id']}", headers=keys["app"]).json()
    assert done["status"] == "blocked" and "not for this app" in done["error"]["reason"]


def test_news_style_prompts_get_the_visible_label(client, keys):
    plain = client.post(
        "/v1/generations", json={"prompt": "a calm sea at dusk", "num_frames": 3, "seed": 5}, headers=keys["app"]
    ).json()
    news = client.post(
        "/v1/generations",
        json={"prompt": "a news broadcast about the weather in Paris", "num_frames": 3, "seed": 5},
        headers=keys["app"],
    ).json()
    assert news["stages"]["screen_inputs"]["decision"] == "allow_with_label"
    done = wait_for(client, news["id"], keys["app"])
    assert done["status"] == "succeeded" and "label" in done["stages"]["screen_output"]
    assert "label" not in wait_for(client, plain["id"], keys["app"])["stages"]["screen_output"]


def strict_output_policy(tmp_path, *, nsfw: str) -> str:
    """The default policy, with the output NSFW threshold changed (every generated clip trips it)."""
    from policies import DEFAULT_POLICY_PATH

    folder = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_PATH.parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / "default.yaml"
    text = path.read_text()
    assert "      nsfw: {trigger: 0.85, review: 0.6}" in text
    path.write_text(text.replace("      nsfw: {trigger: 0.85, review: 0.6}", f"      nsfw: {nsfw}"))
    return str(path)


def test_a_blocked_output_is_never_stored(app_factory, tmp_path):
    client = app_factory(policy_path=strict_output_policy(tmp_path, nsfw="{trigger: 0.0, review: 0.0}"))
    headers = key_for(client, "generate")
    generation = client.post(
        "/v1/generations", json={"prompt": "a field of tulips", "num_frames": 3}, headers=headers
    ).json()
    done = wait_for(client, generation["id"], headers)
    assert done["status"] == "blocked" and done["error"]["code"] == "blocked_by_policy"
    assert done["stages"]["screen_output"]["decision"] == "block" and "encode" not in done["stages"]
    assert client.get(done["links"]["video"], headers=headers).status_code == 409
    assert not list((tmp_path / "data" / "media").glob("videos/*"))


def test_an_output_held_for_review_is_released_only_on_approval(app_factory, tmp_path):
    client = app_factory(policy_path=strict_output_policy(tmp_path, nsfw="{trigger: 1.0, review: 0.0}"))
    app, auditor = key_for(client, "generate"), key_for(client, "audit")
    generation = client.post(
        "/v1/generations", json={"prompt": "a field of tulips", "num_frames": 3}, headers=app
    ).json()
    held = wait_for(client, generation["id"], app, statuses=("review",))
    assert held["stages"]["screen_output"]["decision"] == "review"
    assert client.get(held["links"]["video"], headers=app).status_code == 409
    review = client.get("/v1/reviews", headers=auditor).json()["items"][0]
    assert review["stage"] == "output" and client.get(review["links"]["video"], headers=auditor).status_code == 200
    client.post(f"/v1/reviews/{review['id']}", json={"action": "approve", "reason": "abstract noise"}, headers=auditor)
    assert client.get(held["links"]["video"], headers=app).status_code == 200


def test_audit_log_filters_exports_and_detects_tampering(client, keys):
    from service.db import Decision

    for prompt in ("a quiet library", "nude woman posing on a sofa", "a boat on a lake", "a beheading video"):
        client.post("/v1/screenings", json={"prompt": prompt}, headers=keys["app"])
    auditor = keys["auditor"]
    blocked = client.get("/v1/audit/decisions", params={"decision": "block"}, headers=auditor).json()["items"]
    assert len(blocked) == 2
    sexual = client.get("/v1/audit/decisions", params={"category": "sexual"}, headers=auditor).json()["items"]
    assert [item["prompt"] for item in sexual] == ["nude woman posing on a sofa"]
    page = client.get("/v1/audit/decisions", params={"limit": 3}, headers=auditor).json()
    rest = client.get("/v1/audit/decisions", params={"limit": 3, "cursor": page["next_cursor"]}, headers=auditor).json()
    assert len(page["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    jsonl = client.get("/v1/audit/decisions", params={"format": "jsonl"}, headers=auditor)
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(lines) == 4 and all(line["record_hash"] for line in lines)
    csv_export = client.get("/v1/audit/decisions", params={"format": "csv", "decision": "block"}, headers=auditor)
    assert csv_export.headers["content-type"].startswith("text/csv") and len(csv_export.text.strip().splitlines()) == 3
    assert client.get("/v1/audit/decisions", params={"since": "yesterday"}, headers=auditor).status_code == 422
    assert client.get("/v1/audit/verify", headers=auditor).json()["ok"] is True

    db = client.app.state.runtime.db
    with db.session() as session:  # an insider flips a decision in the database
        row = session.get(Decision, 1)
        body = json.loads(row.body)
        body["decision"] = "allow"
        row.body = json.dumps(body)
    report = client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is False and report["problem"] == "edited" and report["first_bad_sequence"] == 1

    with db.session() as session:
        session.get(Decision, 1).body = json.dumps(dict(body, decision="block"))  # not the original bytes, same content
    assert client.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
    with db.session() as session:
        session.get(Decision, 3).decision = "allow"  # only the filterable column of the beheading refusal
    report = client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is False and report["first_bad_sequence"] == 3 and "decision" in report["detail"]
    with db.session() as session:
        session.get(Decision, 3).decision = "block"
        session.delete(session.get(Decision, 1))
    report = client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is False and report["problem"] == "deleted" and report["first_bad_sequence"] == 2


def test_policy_reload_refuses_a_bad_file_and_keeps_the_old_policy(app_factory, tmp_path):
    path = strict_output_policy(tmp_path, nsfw="{trigger: 0.85, review: 0.6}")
    client = app_factory(policy_path=path)
    admin = key_for(client, "admin")
    before = client.get("/v1/admin/policy", headers=admin).json()["policy"]["version"]
    original = Path(path).read_text()
    Path(path).write_text(original.replace("action: block", "action: obliterate", 1))
    refused = client.post("/v1/admin/policy/reload", headers=admin)
    assert refused.status_code == 422 and "obliterate" in refused.json()["detail"]
    assert (
        client.post("/v1/screenings", json={"prompt": "hardcore porn scene"}, headers=admin).json()["decision"]
        == "block"
    )
    assert client.get("/health").json()["safety"]["policy"]["version"] == before
    Path(path).write_text(original.replace("a harmless everyday photo", "an ordinary harmless photo"))
    reloaded = client.post("/v1/admin/policy/reload", headers=admin).json()
    assert reloaded["version"] != before


def test_health_says_which_safety_signals_ran(client):
    safety = client.get("/health").json()["safety"]
    signals = {signal["name"]: signal for signal in safety["signals"]}
    assert signals["lexical"]["active"] and signals["nsfw"]["active"] and signals["face"]["active"]
    assert signals["clip_text"]["active"] is False and signals["clip_text"]["reason_if_inactive"]


def test_retention_purges_clear_prompts_but_keeps_the_chain_intact(client, keys, monkeypatch):
    from datetime import timedelta

    from service import decision_log as audit

    client.post("/v1/screenings", json={"prompt": "a secret product launch"}, headers=keys["app"])
    runtime = client.app.state.runtime
    # time passes (back-dating the row instead would be tampering, which `audit verify` reports)
    later = audit.utcnow() + timedelta(days=runtime.settings.retention_days + 1)
    monkeypatch.setattr(audit, "utcnow", lambda: later)
    prompts, _ = runtime.purge_expired()
    assert prompts == 1
    record = client.get("/v1/audit/decisions", headers=keys["auditor"]).json()["items"][0]
    assert record["prompt"] is None and len(record["prompt_sha256"]) == 64
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_prompts_stored_only_as_hashes_when_configured(app_factory):
    client = app_factory(store_prompts=False)
    app, auditor = key_for(client, "generate"), key_for(client, "audit")
    client.post("/v1/screenings", json={"prompt": "nude woman posing on a sofa"}, headers=app)
    record = client.get("/v1/audit/decisions", headers=auditor).json()["items"][0]
    assert record["prompt"] is None and record["prompt_sha256"]
    # evidence names the policy term that matched, never the user's own words
    assert "sofa" not in json.dumps(record) and "posing" not in json.dumps(record)


def test_a_configured_text_moderation_model_runs_and_is_reported(app_factory, tmp_path):
    """ORIGINFRAME_TEXT_MODEL_PATH turns the learned text signal on: /health and the decision say so."""
    from tests.tiny_guard import build_tiny_guard

    client = app_factory(text_model_path=str(build_tiny_guard(tmp_path / "guard")))
    signals = {signal["name"]: signal for signal in client.get("/health").json()["safety"]["signals"]}
    assert signals["text_model"]["active"] is True
    app = key_for(client, "generate", name="app")
    screened = client.post("/v1/screenings", json={"prompt": "a fox in the snow"}, headers=app).json()
    assert screened["signals"]["text_model"] is True
    auditor = key_for(client, "audit", name="auditor")
    record = client.get("/v1/audit/decisions", params={"kind": "screening"}, headers=auditor).json()["items"][0]
    assert "text_model" in json.dumps(record)


def test_without_a_text_moderation_model_the_signal_is_reported_inactive(client):
    signals = {signal["name"]: signal for signal in client.get("/health").json()["safety"]["signals"]}
    assert signals["text_model"]["active"] is False and signals["text_model"]["reason_if_inactive"]
