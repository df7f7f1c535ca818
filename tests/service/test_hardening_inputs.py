"""Issue 11, item 1: each input that once answered 500 gets a 4xx with the reason.

Every case was reproduced against the unfixed server first (each answered 500); the fixes are
per class: one request class bounds JSON and form decoding for every route, the key is checked
before any body is read, the verifier checks every decoded frame, integers are bounded where
they enter.
"""

from __future__ import annotations

import logging

import pytest

from tests.service import hostile
from tests.service.conftest import key_for, wait_for


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.fixture
def app(app_factory):
    return app_factory(embedded_worker=False)


@pytest.fixture
def admin(app):
    return key_for(app, "admin")


def _no_tracebacks(caplog) -> None:
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], [
        record.getMessage() for record in caplog.records
    ]


DEEP = b"[" * 1000 + b"]" * 1000


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/reviews/3f1c9a52-0000-4000-8000-000000000000"])
@pytest.mark.parametrize("body", [b'{"scopes": ["\xff\xfe"]}', DEEP, b'{"scopes": ' + DEEP + b"}"])
def test_bodies_are_not_read_before_the_key_is_checked(app, caplog, path, body):
    caplog.set_level(logging.ERROR)
    answer = app.post(path, content=body, headers={"content-type": "application/json"})
    problem_of(answer, 401)
    _no_tracebacks(caplog)


@pytest.mark.parametrize(
    "path", ["/v1/keys", "/v1/generations", "/v1/screenings", "/v1/reviews/3f1c9a52-0000-4000-8000-000000000000"]
)
def test_json_not_utf8_or_too_deep_is_422_with_the_reason(app, admin, caplog, path):
    caplog.set_level(logging.ERROR)
    headers = {**admin, "content-type": "application/json"}
    not_utf8 = problem_of(app.post(path, content=b'{"prompt": "caf\xe9", "scopes": ["\xff"]}', headers=headers), 422)
    assert "not valid UTF-8" in not_utf8["detail"]
    deep = problem_of(app.post(path, content=b'{"prompt": ' + DEEP + b"}", headers=headers), 422)
    assert "1001 levels deep" in deep["detail"] and "at most 32" in deep["detail"]
    _no_tracebacks(caplog)


def test_brackets_inside_strings_do_not_count_as_depth(app, admin):
    from service.json_bodies import json_depth

    assert json_depth(b'{"a": "[[[[[[[[[[\\"[[[[", "b": [[1]]}') == 3
    prompt = "[" * 500 + " a red fox"
    answer = app.post("/v1/screenings", json={"prompt": prompt}, headers=admin)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/v1/generations", "/v1/screenings"])
@pytest.mark.parametrize(
    "charset, raw, words",
    [
        ("utf-8", b"\xff\xfe a fox", "not valid text in its charset"),
        ("x-no-such-charset", b"a fox", "unknown charset"),
        ("utf-16", b"\x00", "not valid text in its charset"),
    ],
)
def test_multipart_text_fields_with_bad_bytes_or_unknown_charsets(app, admin, caplog, path, charset, raw, words):
    caplog.set_level(logging.ERROR)
    boundary = "hardening"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\n"
        ).encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = app.post(
        path, content=body, headers={**admin, "content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert words in problem_of(answer, 422)["detail"]
    _no_tracebacks(caplog)


def test_out_of_range_integers(app, admin, caplog):
    caplog.set_level(logging.ERROR)
    cursor = problem_of(app.get("/v1/audit/decisions", params={"cursor": "9" * 30}, headers=admin), 400)
    assert "cursor" in cursor["detail"]
    problem_of(app.get("/v1/audit/decisions", params={"cursor": "-1"}, headers=admin), 400)
    problem_of(app.get("/v1/generations", params={"limit": "9" * 5000}, headers=admin), 400)
    _no_tracebacks(caplog)


def test_a_range_header_with_thousands_of_digits_is_416(app_factory, caplog):
    client = app_factory()
    headers = key_for(client, "generate")
    created = client.post(
        "/v1/generations",
        json={"prompt": "a lighthouse", "num_frames": 4, "width": 256, "height": 256, "num_inference_steps": 1},
        headers=headers,
    ).json()
    assert wait_for(client, created["id"], headers)["status"] == "succeeded"
    caplog.set_level(logging.ERROR)
    url = f"/v1/generations/{created['id']}/video"
    for header in ("bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000):
        answer = client.get(url, headers={**headers, "Range": header})
        assert answer.status_code == 416, (header[:20], answer.text)
    assert client.get(url, headers={**headers, "Range": "bytes=0-9"}).status_code == 206
    _no_tracebacks(caplog)


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("mp4_unknown_fourcc", 422, "codec"),
        ("mjpeg_size_change_to_8192x4096", 422, "picture size changed mid-stream"),
        ("mp4_truncated_header", 422, "cannot decode"),
    ],
)
def test_hostile_uploads_are_refused_with_the_reason(app, caplog, name, status, words):
    caplog.set_level(logging.ERROR)
    headers = key_for(app, "verify")
    answer = app.post("/v1/verify", content=hostile.corpus()[name](), headers={**headers, "content-type": "video/mp4"})
    assert words in problem_of(answer, status)["detail"]
    _no_tracebacks(caplog)


def test_a_clip_whose_frames_grow_within_the_limit_is_verified_per_frame(app):
    headers = key_for(app, "verify")
    answer = app.post(
        "/v1/verify",
        content=hostile.size_changing_mjpeg(later=(1024, 1024), frames=6),
        headers={**headers, "content-type": "video/x-matroska"},
    )
    assert answer.status_code == 200, answer.text
    media = answer.json()["media"]
    assert media["frames_decoded"] == 6 and media["frames_analysed"] == 6
