"""The API round trip a client relies on: submit, watch, download a playable MP4."""

from __future__ import annotations

import base64
import io
import json

import av

from tests.service.conftest import key_for, png_bytes, wait_for


def decode(mp4: bytes):
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, stream.codec_context.name, float(stream.average_rate)


def test_prompt_to_playable_mp4(client, generate_key):
    response = client.post(
        "/v1/generations",
        json={
            "prompt": "a red fox walking through snow",
            "num_frames": 12,
            "fps": 6,
            "width": 320,
            "height": 256,
            "seed": 7,
        },
        headers=generate_key,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and response.headers["location"] == f"/v1/generations/{body['id']}"
    done = wait_for(client, body["id"], generate_key)
    assert done["status"] == "succeeded", done
    assert done["progress"]["percent"] == 100.0
    assert done["parameters"]["seed"] == 7 and done["mode"] == "text-to-video"
    assert done["output"] == {
        "frames": 12,
        "width": 320,
        "height": 256,
        "fps": 6,
        "bytes": done["output"]["bytes"],
        "sha256": done["output"]["sha256"],
        "content_type": "video/mp4",
    }
    video = client.get(done["links"]["video"], headers=generate_key)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    frames, codec, fps = decode(video.content)
    assert codec == "h264" and len(frames) == 12 and frames[0].shape == (256, 320, 3) and fps == 6
    # stages not built yet are reported as such, not faked
    assert done["stages"]["generate"]["active"] and done["stages"]["encode"]["active"]
    assert all("active" in stage for stage in done["stages"].values())


def test_image_to_video_json_and_multipart(client, generate_key):
    image = png_bytes()
    as_json = client.post(
        "/v1/generations", json={"image": base64.b64encode(image).decode(), "num_frames": 5}, headers=generate_key
    )
    as_form = client.post(
        "/v1/generations",
        data={"prompt": "waves", "num_frames": "5", "fps": "5"},
        files={"image": ("in.png", image, "image/png")},
        headers=generate_key,
    )
    assert as_json.status_code == 202 and as_form.status_code == 202, (as_json.text, as_form.text)
    for response in (as_json, as_form):
        done = wait_for(client, response.json()["id"], generate_key)
        assert done["status"] == "succeeded" and done["mode"] == "image-to-video"
        frames, _, _ = decode(client.get(done["links"]["video"], headers=generate_key).content)
        assert len(frames) == 5 and frames[0].shape == (256, 256, 3)
    assert as_form.json()["prompt"] == "waves"


def test_data_url_image_is_accepted(client, generate_key):
    url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    response = client.post("/v1/generations", json={"image": url, "num_frames": 3}, headers=generate_key)
    assert response.status_code == 202, response.text


def test_idempotency_key_replays_and_refuses_a_different_body(client, generate_key):
    headers = {**generate_key, "Idempotency-Key": "order-42"}
    first = client.post("/v1/generations", json={"prompt": "a lighthouse", "num_frames": 3}, headers=headers)
    again = client.post("/v1/generations", json={"prompt": "a lighthouse", "num_frames": 3}, headers=headers)
    other = client.post("/v1/generations", json={"prompt": "a castle", "num_frames": 3}, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409 and other.headers["content-type"].startswith("application/problem+json")


def test_events_stream_reports_progress_until_the_end(client, generate_key):
    generation = client.post(
        "/v1/generations", json={"prompt": "clouds", "num_frames": 5, "num_inference_steps": 6}, headers=generate_key
    ).json()
    with client.stream("GET", generation["links"]["events"], headers=generate_key) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = []
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
                if kind == "end":
                    break
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["progress"]["percent"] == 100.0
    steps = [data["progress"]["step"] for _, data in events]
    assert steps == sorted(steps)


def test_callers_see_only_their_own_generations(client, generate_key):
    other = key_for(client, "generate", name="other")
    auditor = key_for(client, "audit")
    mine = client.post("/v1/generations", json={"prompt": "a meadow", "num_frames": 3}, headers=generate_key).json()
    assert client.get(f"/v1/generations/{mine['id']}", headers=other).status_code == 404
    assert client.get(mine["links"]["video"], headers=other).status_code == 404
    assert client.post(mine["links"]["cancel"], headers=other).status_code == 404
    assert client.get(f"/v1/generations/{mine['id']}", headers=auditor).status_code == 200
    assert [g["id"] for g in client.get("/v1/generations", headers=generate_key).json()["items"]] == [mine["id"]]
    assert client.get("/v1/generations", headers=other).json()["items"] == []


def test_listing_is_paginated_newest_first(client, generate_key):
    ids = [
        client.post("/v1/generations", json={"prompt": f"scene {i}", "num_frames": 2}, headers=generate_key).json()[
            "id"
        ]
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/generations", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=generate_key
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_scopes_and_keys_are_enforced(client):
    verify_only = key_for(client, "verify")
    denied = client.post("/v1/generations", json={"prompt": "x"}, headers=verify_only)
    assert denied.status_code == 403 and denied.json()["required_scope"] == "generate"
    anonymous = client.post("/v1/generations", json={"prompt": "x"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/v1/generations", headers={"X-API-Key": "of_nope"})
    assert wrong.status_code == 401


def test_admin_manages_keys_and_a_revoked_key_stops_working(client):
    admin = key_for(client, "admin")
    created = client.post("/v1/keys", json={"scopes": ["generate"], "name": "app"}, headers=admin)
    assert created.status_code == 201
    secret = created.json()["key"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/keys/me", headers=headers).json()["scopes"] == ["generate"]
    listing = client.get("/v1/keys", headers=admin).json()["items"]
    assert all("key" not in item for item in listing) and any(item["name"] == "app" for item in listing)
    assert client.get("/v1/keys", headers=headers).status_code == 403
    assert client.delete(f"/v1/keys/{created.json()['id']}", headers=admin).status_code == 204
    assert client.get("/v1/keys/me", headers=headers).status_code == 401
    bad = client.post("/v1/keys", json={"scopes": ["root"]}, headers=admin)
    assert bad.status_code == 422 and "unknown scope" in bad.json()["detail"]


def test_cancel_a_queued_generation(app_factory):
    # no consumer: the job stays queued until cancelled
    client = app_factory(embedded_worker=False)
    headers = key_for(client, "generate")
    generation = client.post("/v1/generations", json={"prompt": "a river", "num_frames": 3}, headers=headers).json()
    cancelled = client.post(generation["links"]["cancel"], headers=headers)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = client.post(generation["links"]["cancel"], headers=headers)
    assert again.status_code == 409
    assert client.get(generation["links"]["video"], headers=headers).status_code == 409


def test_one_key_cannot_fill_the_queue(app_factory):
    # no consumer: submitted jobs stay queued, so the limit is reached deterministically
    client = app_factory(embedded_worker=False, max_active_generations_per_key=2)
    first, other = key_for(client, "generate", name="first"), key_for(client, "generate", name="other")
    body = {"prompt": "a river", "num_frames": 3}
    accepted = [
        client.post("/v1/generations", json=body, headers={**first, "Idempotency-Key": f"k{i}"}) for i in range(2)
    ]
    assert [response.status_code for response in accepted] == [202, 202]
    refused = client.post("/v1/generations", json=body, headers=first)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    problem = refused.json()
    assert problem["type"].endswith("too-many-requests") and problem["limit"] == 2 and "limit 2" in problem["detail"]
    # a replay is not a new job; another key has its own allowance
    assert client.post("/v1/generations", json=body, headers={**first, "Idempotency-Key": "k0"}).status_code == 200
    assert client.post("/v1/generations", json=body, headers=other).status_code == 202
    # finishing (here: cancelling) one frees a place
    client.post(accepted[0].json()["links"]["cancel"], headers=first)
    assert client.post("/v1/generations", json=body, headers=first).status_code == 202


def test_cancel_a_running_generation_stops_between_steps(client, generate_key):
    generation = client.post(
        "/v1/generations", json={"prompt": "slow", "num_frames": 33, "num_inference_steps": 100}, headers=generate_key
    ).json()
    running = wait_for(client, generation["id"], generate_key, statuses=("running",))
    assert running["status"] == "running"
    client.post(generation["links"]["cancel"], headers=generate_key)
    done = wait_for(client, generation["id"], generate_key)
    assert done["status"] == "cancelled" and done["progress"]["step"] < 100


def test_video_supports_byte_ranges(client, generate_key):
    generation = client.post(
        "/v1/generations", json={"prompt": "sunrise", "num_frames": 3}, headers=generate_key
    ).json()
    wait_for(client, generation["id"], generate_key)
    whole = client.get(generation["links"]["video"], headers=generate_key).content
    part = client.get(generation["links"]["video"], headers={**generate_key, "Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == whole[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    beyond = client.get(generation["links"]["video"], headers={**generate_key, "Range": f"bytes={len(whole) + 5}-"})
    assert beyond.status_code == 416


def test_health_metrics_and_openapi(client, generate_key):
    health = client.get("/health").json()
    assert health["ready"] and health["database"]["ok"] and health["queue"]["backend"] == "huey-sqlite"
    assert health["models"]["tiny"]["available"]
    assert health["models"]["svd"]["available"] is False and "downloads are off" in health["models"]["svd"]["detail"]
    assert health["pipeline"]["generate"]["active"]
    generation = client.post("/v1/generations", json={"prompt": "rain", "num_frames": 2}, headers=generate_key).json()
    wait_for(client, generation["id"], generate_key)
    metrics = client.get("/metrics").text
    assert 'originframe_generations{status="succeeded"} 1.0' in metrics
    assert 'originframe_jobs_finished_total{status="succeeded"}' in metrics
    schema = client.get("/schema/openapi.json").json()
    assert "/v1/generations" in schema["paths"]
