"""Bad input gets a clear 4xx problem (RFC 9457) with a reason, never a 500."""

from __future__ import annotations

import base64

import pytest

from tests.service.conftest import key_for, png_bytes
from tests.service.test_backends import tiny_svd_dir  # noqa: F401  (session fixture)


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("/problems/")
    return body


@pytest.fixture
def strict_client(app_factory, models_dir, tiny_svd_dir):
    from service.backends import tiny

    return app_factory(
        max_upload_bytes=200_000,
        max_frames=40,
        max_steps=50,
        max_duration_s=5.0,
        max_image_pixels=1_000_000,
        svd_model=str(tiny_svd_dir),
        ltx_model=str(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}"),
    )


@pytest.fixture
def headers(strict_client):
    return key_for(strict_client, "generate")


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"prompt": "x", "num_frames": "many"}, None, "Expected `int | null`"),
        ({"prompt": "x", "colour": "red"}, None, "unknown field"),
        ({"prompt": "x", "num_frames": 500}, "num_frames", "between 1 and 40"),
        ({"prompt": "x", "num_frames": 40, "fps": 4}, "num_frames", "the limit is 5.0 s"),
        ({"prompt": "x", "num_inference_steps": 0}, "num_inference_steps", "between 1 and 50"),
        ({"prompt": "x", "width": 255}, "width", "multiple of 2 and at least 256"),
        ({"prompt": "x", "width": 4096, "height": 4096}, "width", "pixels allowed"),
        ({"prompt": "x", "model": "sora"}, "model", "unknown model 'sora'"),
        ({"prompt": "x", "motion_bucket_id": 10}, "motion_bucket_id", "does not use motion_bucket_id"),
        ({"num_frames": 4}, "prompt", "send a prompt, an input image, or both"),
        ({"prompt": "x" * 2001}, "prompt", "the limit is 2000"),
        ({"prompt": "x", "seed": -1}, "seed", "between 0 and"),
        ({"prompt": "x", "image": "not base64!!"}, "image", "not valid base64"),
        ({"model": "svd", "prompt": "a dog"}, "prompt", "takes no text"),
        ({"model": "svd"}, "image", "send an input image"),
        ({"model": "ltx", "prompt": "x", "num_frames": 20}, "num_frames", "8k+1 (e.g. 17)"),
        ({"model": "ltx", "prompt": "x", "width": 100, "num_frames": 17}, "width", "multiple of 32"),
    ],
)
def test_bad_json_fields(strict_client, headers, body, field, words):
    problem = problem_of(strict_client.post("/v1/generations", json=body, headers=headers), 422)
    assert words in problem["detail"]
    if field:
        assert problem["field"] == field


def test_malformed_and_unsupported_bodies(strict_client, headers):
    assert (
        "not valid JSON"
        in problem_of(
            strict_client.post(
                "/v1/generations", content=b"{nope", headers={**headers, "content-type": "application/json"}
            ),
            422,
        )["detail"]
    )
    assert (
        "empty"
        in problem_of(
            strict_client.post("/v1/generations", content=b"", headers={**headers, "content-type": "application/json"}),
            422,
        )["detail"]
    )
    problem_of(
        strict_client.post("/v1/generations", content=b"prompt=x", headers={**headers, "content-type": "text/plain"}),
        415,
    )
    assert (
        "Expected `object`"
        in problem_of(strict_client.post("/v1/generations", json=["a"], headers=headers), 422)["detail"]
    )


def test_corrupt_and_oversized_images(strict_client, headers):
    corrupt = problem_of(
        strict_client.post(
            "/v1/generations",
            data={"prompt": "x"},
            files={"image": ("a.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")},
            headers=headers,
        ),
        422,
    )
    assert "cannot decode image" in corrupt["detail"]
    truncated = png_bytes(400, 300)[:700]
    problem_of(
        strict_client.post("/v1/generations", json={"image": base64.b64encode(truncated).decode()}, headers=headers),
        422,
    )
    too_many_pixels = problem_of(
        strict_client.post(
            "/v1/generations",
            files={"image": ("big.png", png_bytes(1200, 1000, noise=0), "image/png")},
            data={"prompt": "x"},
            headers=headers,
        ),
        422,
    )
    assert "pixels allowed" in too_many_pixels["detail"]
    oversize = strict_client.post(
        "/v1/generations",
        data={"prompt": "x"},
        files={"image": ("huge.png", b"\0" * 300_000, "image/png")},
        headers=headers,
    )
    assert "upload limit" in problem_of(oversize, 413)["detail"]
    oversize_b64 = strict_client.post(
        "/v1/generations", json={"image": base64.b64encode(b"\0" * 250_000).decode()}, headers=headers
    )
    assert oversize_b64.status_code == 413
    wrong_part = problem_of(
        strict_client.post("/v1/generations", files={"photo": ("a.png", png_bytes(), "image/png")}, headers=headers),
        422,
    )
    assert wrong_part["field"] == "photo"


def test_bad_form_fields(strict_client, headers):
    problem = problem_of(
        strict_client.post("/v1/generations", data={"prompt": "x", "fps": "fast"}, headers=headers), 422
    )
    assert "fps" in problem["detail"]


def test_unavailable_model_is_503_with_reason(app_factory):
    client = app_factory()
    problem = problem_of(
        client.post(
            "/v1/generations",
            json={"model": "svd-xt", "image": base64.b64encode(png_bytes()).decode()},
            headers=key_for(client, "generate"),
        ),
        503,
    )
    assert "downloads are off" in problem["detail"]


def test_unknown_generation_and_bad_query(strict_client, headers):
    problem_of(strict_client.get("/v1/generations/not-a-uuid", headers=headers), 404)
    problem_of(strict_client.get("/v1/generations/00000000-0000-0000-0000-000000000000", headers=headers), 404)
    assert strict_client.get("/v1/generations", params={"limit": 0}, headers=headers).status_code == 400
    problem_of(strict_client.get("/v1/generations", params={"cursor": "zzz"}, headers=headers), 422)
    assert strict_client.get("/v1/nothing-here").status_code == 404


def test_a_type_error_names_the_field_and_where_it_was(strict_client, headers):
    body = problem_of(strict_client.get("/v1/generations", params={"limit": -1}, headers=headers), 400)
    assert body["detail"] == "limit (query): Expected `int` >= 1" and body["errors"][0]["key"] == "limit"
    body = problem_of(
        strict_client.get("/v1/audit/decisions", params={"cursor": "abc"}, headers=key_for(strict_client, "audit")), 400
    )
    assert body["detail"] == "cursor (query): Expected `int | null`, got `str`"


def test_text_longer_than_its_column_is_refused_before_the_database(database_url, app_factory):
    # SQLite would store it; PostgreSQL would fail the insert with a 500
    client = app_factory(embedded_worker=False, database_url=database_url)
    admin = key_for(client, "admin", "audit")
    body = problem_of(client.post("/v1/keys", json={"scopes": ["generate"], "name": "n" * 201}, headers=admin), 422)
    assert body["detail"] == "a key name is at most 200 characters; got 201" and body["field"] == "name"
    assert client.post("/v1/keys", json={"scopes": ["generate"], "name": "n" * 200}, headers=admin).status_code == 201
    review = {"action": "approve", "reason": "fine", "reviewer": "r" * 201}
    body = problem_of(client.post("/v1/reviews/any", json=review, headers=admin), 422)
    assert body["field"] == "reviewer" and "at most 200 characters" in body["detail"]
    review = {"action": "approve", "reason": "x" * 2001}
    assert problem_of(client.post("/v1/reviews/any", json=review, headers=admin), 422)["field"] == "reason"
