"""A Python client for Originframe's HTTP API, sync (`Client`) and async (`AsyncClient`), on httpx.

    from service.client import Client

    with Client("http://127.0.0.1:8000", api_key="of_...") as originframe:
        generation = originframe.create_generation("a paper boat drifting on a pond", num_frames=8)
        done = originframe.wait(generation.id)           # follows the progress events (SSE)
        originframe.download_video(done.id, "boat.mp4")
        report = originframe.verify("boat.mp4")         # report.verdict == "generated_here"

Results are the API's own structs (service.api_types), decoded from the JSON. A 429 or 503 is
retried after the server's Retry-After (a bounded number of times, each wait bounded); any
other 4xx or 5xx raises `ApiError` with the RFC 9457 problem the server sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec

from service.api_types import (
    ChainCheck,
    DecisionPage,
    DecisionRecord,
    GenerationPage,
    GenerationView,
    ScreeningResult,
    VerificationResult,
)
from service.generations.status import FINAL_STATES, GenerationStatus

T = TypeVar("T")

RETRIED_STATUSES = frozenset({429, 503})
FileInput = bytes | str | Path


class ApiError(Exception):
    """The server answered with an error; `problem` is its RFC 9457 body (type, title, detail, ...)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type: str = str(problem.get("type", ""))
        self.detail: str = str(problem.get("detail", ""))
        super().__init__(f"{status} {problem.get('title', '')}: {self.detail}".strip())


@dataclass(frozen=True)
class ProgressEvent:
    """One event of GET /v1/generations/{id}/events: progress, end, review or timeout."""

    event: str
    id: int | None
    generation: GenerationView

    @property
    def last(self) -> bool:
        """The stream ends after this event."""
        return self.event != "progress"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, for an answer of 429 or 503
    max_wait_s: float = 30.0  # a longer Retry-After is cut to this
    default_wait_s: float = 1.0  # when the answer names no Retry-After

    def wait_s(self, response: httpx.Response) -> float:
        return min(self.max_wait_s, max(0.0, retry_after_s(response, self.default_wait_s)))


def retry_after_s(response: httpx.Response, default: float) -> float:
    """Retry-After in seconds: a number of seconds, or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return moment.timestamp() - time.time()


def _decode(response: httpx.Response, type_: type[T]) -> T:
    _raise_for_problem(response)
    return msgspec.json.decode(response.content, type=type_)


def _raise_for_problem(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text[:500]}
    raise ApiError(response.status_code, problem if isinstance(problem, dict) else {"detail": str(problem)})


def _read_file(value: FileInput) -> bytes:
    return value if isinstance(value, bytes) else Path(value).read_bytes()


def _generation_request(
    prompt: str | None,
    image: FileInput | None,
    model: str | None,
    negative_prompt: str | None,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """httpx keyword arguments for POST /v1/generations: JSON without an image, multipart with one."""
    fields = {"model": model, "prompt": prompt, "negative_prompt": negative_prompt, **parameters}
    fields = {name: value for name, value in fields.items() if value is not None}
    if image is None:
        return {"json": fields}
    return {
        "data": {name: str(value) for name, value in fields.items()},
        "files": {"image": ("image", _read_file(image), "application/octet-stream")},
    }


def _screening_request(prompt: str | None, image: FileInput | None, negative_prompt: str | None) -> dict[str, Any]:
    fields = {
        name: value for name, value in (("prompt", prompt), ("negative_prompt", negative_prompt)) if value is not None
    }
    if image is None:
        return {"json": fields}
    return {"data": fields, "files": {"image": ("image", _read_file(image), "application/octet-stream")}}


def _decision_filters(filters: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value is not None}


class _EventParser:
    """Server-Sent Events, line by line (https://html.spec.whatwg.org/multipage/server-sent-events.html)."""

    def __init__(self) -> None:
        self.event: str = "message"
        self.data: list[str] = []
        self.id: int | None = None

    def feed(self, line: str) -> ProgressEvent | None:
        if not line:
            if not self.data:
                self.event = "message"
                return None
            parsed = ProgressEvent(self.event, self.id, msgspec.json.decode("\n".join(self.data), type=GenerationView))
            self.event, self.data = "message", []
            return parsed
        if line.startswith(":"):
            return None  # a comment: the keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id":
            self.id = int(value) if value.isdigit() else None
        return None


def _finished(view: GenerationView) -> bool:
    return view.status in FINAL_STATES or view.status == GenerationStatus.REVIEW


class Client:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retry.attempts):
            response = self._http.request(method, path, **kwargs)
            if response.status_code not in RETRIED_STATUSES or attempt == self.retry.attempts - 1:
                return response
            time.sleep(self.retry.wait_s(response))
        raise AssertionError("unreachable")

    # generations

    def create_generation(
        self,
        prompt: str | None = None,
        *,
        image: FileInput | None = None,
        model: str | None = None,
        negative_prompt: str | None = None,
        idempotency_key: str | None = None,
        **parameters: Any,
    ) -> GenerationView:
        """Screened, recorded and queued; parameters are the request's (num_frames, fps, seed, ...)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        request = _generation_request(prompt, image, model, negative_prompt, parameters)
        return _decode(self._send("POST", "/v1/generations", headers=headers, **request), GenerationView)

    def get_generation(self, generation_id: str) -> GenerationView:
        return _decode(self._send("GET", f"/v1/generations/{generation_id}"), GenerationView)

    def list_generations(
        self, *, limit: int = 20, cursor: str | None = None, status: str | None = None
    ) -> GenerationPage:
        params = _decision_filters({"limit": limit, "cursor": cursor, "status": status})
        return _decode(self._send("GET", "/v1/generations", params=params), GenerationPage)

    def events(self, generation_id: str) -> Iterator[ProgressEvent]:
        """The progress stream, until its last event (end, review or timeout)."""
        with self._http.stream("GET", f"/v1/generations/{generation_id}/events") as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_problem(response)
            parser = _EventParser()
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.last:
                        return

    def wait(self, generation_id: str, *, timeout_s: float | None = None) -> GenerationView:
        """Follow the events until the generation ends or is held for review (reconnecting after a
        stream's timeout); returns its final view."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            for event in self.events(generation_id):
                if _finished(event.generation):
                    return event.generation
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"generation {generation_id} did not finish within {timeout_s} s")

    def download_video(self, generation_id: str, path: str | Path | None = None) -> bytes:
        """The MP4 with its Content Credentials (written to `path` too, when given)."""
        response = self._send("GET", f"/v1/generations/{generation_id}/video", follow_redirects=True)
        _raise_for_problem(response)
        if path is not None:
            Path(path).write_bytes(response.content)
        return response.content

    def cancel(self, generation_id: str) -> GenerationView:
        return _decode(self._send("POST", f"/v1/generations/{generation_id}/cancel"), GenerationView)

    # provenance and safety

    def verify(self, clip: FileInput) -> VerificationResult:
        files = {"file": ("upload", _read_file(clip), "application/octet-stream")}
        return _decode(self._send("POST", "/v1/verify", files=files), VerificationResult)

    def screen(
        self, prompt: str | None = None, *, image: FileInput | None = None, negative_prompt: str | None = None
    ) -> ScreeningResult:
        request = _screening_request(prompt, image, negative_prompt)
        return _decode(self._send("POST", "/v1/screenings", **request), ScreeningResult)

    # the decision log (scope audit)

    def decisions(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        decision: str | None = None,
        kind: str | None = None,
        generation_id: str | None = None,
        cursor: int | None = None,
        limit: int = 100,
    ) -> DecisionPage:
        params = _decision_filters(
            {
                "since": since,
                "until": until,
                "decision": decision,
                "kind": kind,
                "generation_id": generation_id,
                "cursor": cursor,
                "limit": limit,
            }
        )
        return _decode(self._send("GET", "/v1/audit/decisions", params=params), DecisionPage)

    def decision(self, decision_id: str) -> DecisionRecord:
        return _decode(self._send("GET", f"/v1/audit/decisions/{decision_id}"), DecisionRecord)

    def check_decision_log(self, *, expected_head: str | None = None) -> ChainCheck:
        params = _decision_filters({"expected_head": expected_head})
        return _decode(self._send("GET", "/v1/audit/verify", params=params), ChainCheck)


class AsyncClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retry.attempts):
            response = await self._http.request(method, path, **kwargs)
            if response.status_code not in RETRIED_STATUSES or attempt == self.retry.attempts - 1:
                return response
            await asyncio.sleep(self.retry.wait_s(response))
        raise AssertionError("unreachable")

    async def create_generation(
        self,
        prompt: str | None = None,
        *,
        image: FileInput | None = None,
        model: str | None = None,
        negative_prompt: str | None = None,
        idempotency_key: str | None = None,
        **parameters: Any,
    ) -> GenerationView:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        request = _generation_request(prompt, image, model, negative_prompt, parameters)
        return _decode(await self._send("POST", "/v1/generations", headers=headers, **request), GenerationView)

    async def get_generation(self, generation_id: str) -> GenerationView:
        return _decode(await self._send("GET", f"/v1/generations/{generation_id}"), GenerationView)

    async def list_generations(
        self, *, limit: int = 20, cursor: str | None = None, status: str | None = None
    ) -> GenerationPage:
        params = _decision_filters({"limit": limit, "cursor": cursor, "status": status})
        return _decode(await self._send("GET", "/v1/generations", params=params), GenerationPage)

    async def events(self, generation_id: str) -> AsyncIterator[ProgressEvent]:
        async with self._http.stream("GET", f"/v1/generations/{generation_id}/events") as response:
            if response.status_code >= 400:
                await response.aread()
                _raise_for_problem(response)
            parser = _EventParser()
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.last:
                        return

    async def wait(self, generation_id: str, *, timeout_s: float | None = None) -> GenerationView:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            async for event in self.events(generation_id):
                if _finished(event.generation):
                    return event.generation
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"generation {generation_id} did not finish within {timeout_s} s")

    async def download_video(self, generation_id: str, path: str | Path | None = None) -> bytes:
        response = await self._send("GET", f"/v1/generations/{generation_id}/video", follow_redirects=True)
        _raise_for_problem(response)
        if path is not None:
            Path(path).write_bytes(response.content)
        return response.content

    async def cancel(self, generation_id: str) -> GenerationView:
        return _decode(await self._send("POST", f"/v1/generations/{generation_id}/cancel"), GenerationView)

    async def verify(self, clip: FileInput) -> VerificationResult:
        files = {"file": ("upload", _read_file(clip), "application/octet-stream")}
        return _decode(await self._send("POST", "/v1/verify", files=files), VerificationResult)

    async def screen(
        self, prompt: str | None = None, *, image: FileInput | None = None, negative_prompt: str | None = None
    ) -> ScreeningResult:
        request = _screening_request(prompt, image, negative_prompt)
        return _decode(await self._send("POST", "/v1/screenings", **request), ScreeningResult)

    async def decisions(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        decision: str | None = None,
        kind: str | None = None,
        generation_id: str | None = None,
        cursor: int | None = None,
        limit: int = 100,
    ) -> DecisionPage:
        params = _decision_filters(
            {
                "since": since,
                "until": until,
                "decision": decision,
                "kind": kind,
                "generation_id": generation_id,
                "cursor": cursor,
                "limit": limit,
            }
        )
        return _decode(await self._send("GET", "/v1/audit/decisions", params=params), DecisionPage)

    async def decision(self, decision_id: str) -> DecisionRecord:
        return _decode(await self._send("GET", f"/v1/audit/decisions/{decision_id}"), DecisionRecord)

    async def check_decision_log(self, *, expected_head: str | None = None) -> ChainCheck:
        params = _decision_filters({"expected_head": expected_head})
        return _decode(await self._send("GET", "/v1/audit/verify", params=params), ChainCheck)


__all__ = ["ApiError", "AsyncClient", "Client", "ProgressEvent", "RetryPolicy"]
