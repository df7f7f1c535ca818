"""Issue 11, item 3: request rates are limited per API key (or per address without one) and
per route class, counted in-process on one box and in Redis across a fleet; failed
authentication is throttled per address; progress streams are bounded and always end."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from skimage import data as photos

from tests.service.conftest import key_for, make_settings, png_bytes
from tests.service.fleet import fresh_redis_queue


@pytest.fixture(params=["memory", "redis"])
def limited(request, app_factory, tmp_path, models_dir):
    """Start apps with the given limits, counting in this process or in a shared Redis."""

    def start(data_dir="data", **limits):
        settings = make_settings(tmp_path / data_dir, models_dir, embedded_worker=False, **limits)
        if request.param == "redis":
            settings = settings.replace(rate_limit_url=redis_url, queue_name=queue_name)
        return app_factory(settings)

    if request.param == "memory":
        redis_url = queue_name = None
        yield start
        return
    with fresh_redis_queue() as (redis_url, queue_name):
        yield start


def _is_429(response, route_class: str) -> dict:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["type"] == "/problems/too-many-requests" and body["route_class"] == route_class
    return body


def test_requests_per_key_and_route_class(limited):
    client = limited(rate_limit_api_per_minute=5, rate_limit_generate_per_minute=2)
    first, second = key_for(client, "generate", name="a"), key_for(client, "generate", name="b")
    for _ in range(5):
        answer = client.get("/v1/keys/me", headers=first)
        assert answer.status_code == 200 and "ratelimit-remaining" in answer.headers
    assert "per minute" in _is_429(client.get("/v1/keys/me", headers=first), "api")["detail"]
    assert client.get("/v1/keys/me", headers=second).status_code == 200  # another key has its own allowance
    # another route class has its own allowance too
    for _ in range(2):
        assert (
            client.post("/v1/generations", json={"prompt": "a fox", "num_frames": 4}, headers=first).status_code == 202
        )
    _is_429(client.post("/v1/generations", json={"prompt": "a fox", "num_frames": 4}, headers=first), "generate")
    assert client.get("/health").status_code == 200  # operations endpoints are not limited


def test_open_verify_is_limited_per_client_address(limited):
    client = limited(verify_open=True, rate_limit_verify_per_minute=2)
    still = png_bytes(96, 64)
    for _ in range(2):
        assert client.post("/v1/verify", content=still, headers={"content-type": "image/png"}).status_code == 200
    _is_429(client.post("/v1/verify", content=still, headers={"content-type": "image/png"}), "verify")


def test_failed_authentication_is_throttled_per_address(limited):
    client = limited(rate_limit_auth_failures_per_minute=3)
    valid = key_for(client, "admin")
    for attempt in range(3):
        guess = {"Authorization": f"Bearer of_guess_{attempt}"}
        assert client.get("/v1/keys", headers=guess).status_code == 401
    _is_429(client.get("/v1/keys", headers={"Authorization": "Bearer of_guess_4"}), "auth")
    # the address is refused before any key is looked up: guessing cannot go on under a valid key's cover
    _is_429(client.get("/v1/keys", headers=valid), "auth")


def test_a_fleet_shares_one_count_in_redis(app_factory, tmp_path, models_dir):
    with fresh_redis_queue() as (redis_url, queue_name):
        settings = make_settings(
            tmp_path / "data",
            models_dir,
            embedded_worker=False,
            rate_limit_api_per_minute=4,
            rate_limit_url=redis_url,
            queue_name=queue_name,
        )
        one, two = app_factory(settings), app_factory(settings)  # two API processes, one database, one Redis
        headers = key_for(one, "generate")
        assert [one.get("/v1/keys/me", headers=headers).status_code for _ in range(2)] == [200, 200]
        assert [two.get("/v1/keys/me", headers=headers).status_code for _ in range(2)] == [200, 200]
        _is_429(two.get("/v1/keys/me", headers=headers), "api")
        _is_429(one.get("/v1/keys/me", headers=headers), "api")


def _events(response) -> list[tuple[str, dict]]:
    events, kind = [], None
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((kind, json.loads(line.split(":", 1)[1])))
    return events


def test_progress_streams_are_bounded_per_key_and_end(app_factory):
    client = app_factory(embedded_worker=False, max_event_streams_per_key=1, events_max_duration_s=1.0)
    headers = key_for(client, "generate")
    queued = client.post("/v1/generations", json={"prompt": "a fox", "num_frames": 4}, headers=headers).json()
    url = f"/v1/generations/{queued['id']}/events"
    key_id = client.get("/v1/keys/me", headers=headers).json()["id"]
    # the test client reads a whole response before it returns: hold the key's one slot as an open stream would
    with client.app.state.event_streams.hold(key_id):
        _is_429(client.get(url, headers=headers), "events")
    with client.stream("GET", url, headers=headers) as stream:  # the slot is free again
        assert stream.status_code == 200
        events = _events(stream)  # nothing runs the job: the stream ends by its time limit
    assert [kind for kind, _ in events] == ["progress", "timeout"] and events[-1][1]["status"] == "queued"
    assert client.get(url, headers=headers).status_code == 200  # and the stream gave its slot back


def test_a_stream_of_a_generation_held_for_review_sends_a_last_event_and_ends(app_factory):
    client = app_factory(embedded_worker=False)
    headers = key_for(client, "generate")
    buffer = io.BytesIO()
    Image.fromarray(photos.astronaut()).save(buffer, format="JPEG")
    held = client.post(
        "/v1/generations",
        files={"image": ("face.jpg", buffer.getvalue(), "image/jpeg")},
        data={"num_frames": "4"},
        headers=headers,
    ).json()
    assert held["status"] == "review"
    with client.stream("GET", f"/v1/generations/{held['id']}/events", headers=headers) as stream:
        events = _events(stream)
    assert [kind for kind, _ in events] == ["review"] and events[0][1]["status"] == "review"


def test_verifications_beyond_the_concurrency_wait_then_get_503_with_retry_after(app_factory):
    client = app_factory(embedded_worker=False, verify_concurrency=1, verify_queue_timeout_s=0.2)
    headers = {**key_for(client, "verify"), "content-type": "image/png"}
    slots = client.app.state.runtime.provenance._verify_slots
    assert slots.acquire(timeout=1)  # a heavy verification holds the only slot
    try:
        busy = client.post("/v1/verify", content=png_bytes(96, 64), headers=headers)
    finally:
        slots.release()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1" and busy.json()["type"] == "/problems/busy"
    assert client.post("/v1/verify", content=png_bytes(96, 64), headers=headers).status_code == 200
