"""Issue 11, item 7: the API fuzzed from its own OpenAPI document, and the hostile corpus.

Schemathesis generates requests for every operation of /schema/openapi.json: valid ones
(positive) and ones that break the schema (negative: wrong types, missing fields, odd
encodings). No answer may be a 5xx, no request may take long, and afterwards the server still
serves and its worker still finishes a generation. Bounded for CI: a fixed number of examples
per operation and mode (ORIGINFRAME_FUZZ_EXAMPLES, default 12), no example database, no
shrinking beyond Hypothesis' default deadline-free run.
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from tests.service import hostile
from tests.service.conftest import key_for, wait_for

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

EXAMPLES = int(os.environ.get("ORIGINFRAME_FUZZ_EXAMPLES", "12"))
SLOW_REQUEST_S = 20.0  # far above any honest request here; a hang or a decompression bomb is far above it


@pytest.fixture
def fuzzed(app_factory):
    # small generation limits so that fuzzed jobs the worker picks up finish quickly
    return app_factory(
        max_frames=8,
        max_steps=2,
        max_output_pixels=256 * 256,
        max_duration_s=2.0,
        max_active_generations_per_key=4,
        rate_limit_api_per_minute=0,
    )


def _operations(client):
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", client.app)
    for result in schema.get_all_operations():
        yield result.ok()


def test_no_operation_answers_5xx_to_generated_requests(fuzzed):
    headers = key_for(fuzzed, "admin")
    failures: list[str] = []
    calls = 0
    for operation in _operations(fuzzed):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case) -> None:
                nonlocal calls
                started = time.monotonic()
                response = case.call(headers={**headers, **(case.headers or {})})
                calls += 1
                elapsed = time.monotonic() - started
                if response.status_code >= 500 or elapsed > SLOW_REQUEST_S:
                    failures.append(
                        f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code} "  # noqa: B023  (called at once)
                        f"in {elapsed:.1f} s: {response.text[:200]}"
                    )

            with contextlib.suppress(Unsatisfiable):  # e.g. no way to break the schema of a path-only operation
                call()
    assert calls > 100
    assert not failures, "\n".join(failures[:20])
    _still_alive(fuzzed, headers)


CORPUS = hostile.corpus(gif_frames=60_000, big_frames=6)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_uploads_get_a_verdict_or_a_reason_never_a_5xx(client, name):
    headers = key_for(client, "verify")
    data = CORPUS[name]()
    started = time.monotonic()
    raw = client.post("/v1/verify", content=data, headers={**headers, "content-type": "application/octet-stream"})
    multipart = client.post("/v1/verify", files={"file": ("upload", data, "application/octet-stream")}, headers=headers)
    assert time.monotonic() - started < 2 * SLOW_REQUEST_S
    for answer in (raw, multipart):
        assert answer.status_code in (200, 413, 415, 422), (answer.status_code, answer.text[:300])
        if answer.status_code != 200:
            assert answer.json()["detail"]
    screened = client.post(
        "/v1/screenings",
        files={"image": ("upload", data, "application/octet-stream")},
        headers=key_for(client, "generate"),
    )
    assert screened.status_code < 500, screened.text[:300]


def _still_alive(client, headers) -> None:
    """The server answers and its worker still runs a generation to the end."""
    assert client.get("/health").json()["ready"] is True
    owner = key_for(client, "generate", name="after-fuzzing")
    created = client.post(
        "/v1/generations",
        json={"prompt": "a calm lake", "num_frames": 4, "width": 256, "height": 256, "num_inference_steps": 1},
        headers=owner,
    )
    assert created.status_code == 202, created.text
    assert wait_for(client, created.json()["id"], owner, timeout=300)["status"] == "succeeded"
