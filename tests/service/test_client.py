"""service.client against a real server: uvicorn on a loopback port in a thread, the embedded
defaults (SQLite, Huey on SQLite, the in-process worker) and the tiny model. Every call of the
client, sync and async, with the API's own structs coming back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from service import auth
from service.api_types import (
    DecisionPage,
    DecisionRecord,
    GenerationOutput,
    GenerationPage,
    GenerationView,
    ScreeningResult,
    VerificationResult,
)
from service.client import ApiError, AsyncClient, Client, RetryPolicy, retry_after_s
from service.generations.status import Decision, GenerationStatus
from tests.service.conftest import make_settings, png_bytes

SMALL: dict[str, Any] = {"num_frames": 4, "width": 256, "height": 256, "num_inference_steps": 1}


class _Server:
    """The real app under uvicorn, in a thread; stopped the way a SIGTERM would stop it."""

    def __init__(self, settings) -> None:
        import uvicorn

        from service.app import create_app
        from service.runtime import Runtime

        self.runtime = Runtime(settings)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(runtime=self.runtime), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)

    def key(self, *scopes: str) -> str:
        return auth.create_key(self.runtime.db, list(scopes), "client-test").secret


@pytest.fixture
def server(tmp_path, models_dir):
    with _Server(make_settings(tmp_path / "data", models_dir)) as running:
        yield running


def test_the_sync_client_makes_every_call(server):
    app, auditor = server.key("generate", "verify"), server.key("audit")
    with Client(server.url, app) as client, Client(server.url, auditor) as audit:
        created = client.create_generation("a paper boat drifting on a pond", seed=7, **SMALL)
        assert isinstance(created, GenerationView) and created.status == GenerationStatus.QUEUED
        assert created.links.self_.endswith(f"/v1/generations/{created.id}") and created.parameters["seed"] == 7

        events = list(client.events(created.id))
        assert events[-1].event == "end" and events[-1].last and all(not e.last for e in events[:-1])
        numbers = [e.id for e in events]
        assert None not in numbers and numbers == sorted(n for n in numbers if n is not None)

        done = client.wait(created.id, timeout_s=120)
        again = client.get_generation(created.id)
        assert isinstance(done.output, GenerationOutput) and isinstance(again.output, GenerationOutput)
        assert done.status == GenerationStatus.SUCCEEDED and done.output.frames == 4
        assert again.output.sha256 == done.output.sha256

        video = client.download_video(created.id)
        assert video[4:8] == b"ftyp" and len(video) == done.output.bytes

        report = client.verify(video)
        assert isinstance(report, VerificationResult)
        assert report.verdict == "generated_here" and report.generation_id == created.id
        assert (
            report.generation is not None
            and report.generation["id"] == created.id
            and report.generation["visible"] is True
        )

        screened = client.screen("a calm lake at dawn")
        assert isinstance(screened, ScreeningResult) and screened.decision == Decision.ALLOW and screened.decision_id

        still = client.create_generation("the same lake, moving", image=png_bytes(256, 256), **SMALL)
        assert still.mode == "image-to-video" and still.input_image_sha256
        cancelled = client.cancel(still.id)
        assert cancelled.status == GenerationStatus.CANCELLED or (cancelled.status == GenerationStatus.RUNNING)
        assert client.wait(still.id, timeout_s=120).status in (GenerationStatus.CANCELLED, GenerationStatus.SUCCEEDED)

        listed = client.list_generations(limit=10)
        assert isinstance(listed, GenerationPage) and {created.id, still.id} <= {g.id for g in listed.items}

        page = audit.decisions(generation_id=created.id)
        assert isinstance(page, DecisionPage) and page.items and page.items[0].kind == "input"
        record = audit.decision(page.items[0].id)
        assert isinstance(record, DecisionRecord) and record.record_hash == page.items[0].record_hash
        assert audit.check_decision_log().ok is True

        with pytest.raises(ApiError) as refused:
            client.decisions()  # the generate key has no audit scope
        assert refused.value.status == 403 and refused.value.type.endswith("/forbidden")
        with pytest.raises(ApiError) as unknown:
            client.get_generation("00000000-0000-0000-0000-000000000000")
        assert unknown.value.status == 404


def test_the_async_client_makes_every_call(server):
    app, auditor = server.key("generate", "verify"), server.key("audit")

    async def scenario() -> None:
        async with AsyncClient(server.url, app) as client, AsyncClient(server.url, auditor) as audit:
            created = await client.create_generation("a kite over a beach", **SMALL)
            assert created.status == GenerationStatus.QUEUED
            events = [event async for event in client.events(created.id)]
            assert events[-1].event == "end"
            done = await client.wait(created.id, timeout_s=120)
            assert done.status == GenerationStatus.SUCCEEDED
            video = await client.download_video(created.id)
            report = await client.verify(video)
            assert report.verdict == "generated_here" and report.generation_id == created.id
            assert (await client.get_generation(created.id)).id == created.id
            assert created.id in {g.id for g in (await client.list_generations()).items}
            screened = await client.screen(image=png_bytes(128, 96))
            assert screened.decision in (Decision.ALLOW, Decision.ALLOW_WITH_LABEL)
            other = await client.create_generation(image=png_bytes(256, 256), **SMALL)
            assert (await client.cancel(other.id)).id == other.id
            page = await audit.decisions(kind="input")
            assert {created.id, other.id} <= {item.generation_id for item in page.items}
            assert (await audit.decision(page.items[0].id)).id == page.items[0].id
            assert (await audit.check_decision_log()).ok

    asyncio.run(scenario())


def test_a_429_is_retried_after_its_retry_after_a_bounded_number_of_times(tmp_path, models_dir):
    settings = make_settings(tmp_path / "data", models_dir, rate_limit_verify_per_minute=1)
    with _Server(settings) as running:
        clip = png_bytes(128, 96)
        retry = RetryPolicy(attempts=3, max_wait_s=0.3)
        with Client(running.url, running.key("verify"), retry=retry) as client:
            client.verify(clip)  # the minute's one verification
            started = time.monotonic()
            with pytest.raises(ApiError) as limited:
                client.verify(clip)
            waited = time.monotonic() - started
        assert limited.value.status == 429
        # the server asked for up to a minute; the client waited twice, each wait cut to 0.3 s
        assert 0.6 <= waited < 10


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "7"}), 1.0) == 7.0
    assert retry_after_s(httpx.Response(503), 1.5) == 1.5
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < retry_after_s(httpx.Response(503, headers={"Retry-After": soon}), 1.0) <= 31
    assert RetryPolicy(max_wait_s=2.0).wait_s(httpx.Response(429, headers={"Retry-After": "60"})) == 2.0
