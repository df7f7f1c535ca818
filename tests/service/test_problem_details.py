"""Errors map to HTTP in one place (service/api/problem_details.py): what the client sent wrong is
a 4xx, what the server is configured wrong is a 5xx with a stable type and words for the operator."""

from __future__ import annotations

import pytest

from service import problems
from tests.service.conftest import key_for, png_bytes


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "file"])
def test_an_unknown_field_on_a_screening_is_a_4xx_naming_it(client, how):
    headers = key_for(client, "generate")
    if how == "multipart":
        answer = client.post(
            "/v1/screenings",
            data={"prompt": "a lake", "colour": "blue"},
            files={"image": ("a.png", png_bytes(), "image/png")},
            headers=headers,
        )
    elif how == "urlencoded":
        answer = client.post("/v1/screenings", data={"prompt": "a lake", "colour": "blue"}, headers=headers)
    else:
        answer = client.post(
            "/v1/screenings",
            data={"prompt": "a lake"},
            files={"colour": ("a.png", png_bytes(), "image/png")},
            headers=headers,
        )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "colour" in answer.json()["detail"] and answer.json()["type"] == "/problems/invalid-request"


@pytest.mark.parametrize(
    "broken",
    [
        {"c2pa_cert_chain": "/missing/chain.pem", "c2pa_private_key": "/missing/key.pem"},
        {"c2pa_trust_list": "/missing/trust-list.pem"},
    ],
)
def test_broken_signing_credentials_on_verify_are_the_servers_fault(app_factory, broken):
    client = app_factory(**broken)
    answer = client.post(
        "/v1/verify", files={"file": ("still.png", png_bytes(), "image/png")}, headers=key_for(client, "verify")
    )
    assert answer.status_code == 500, answer.text
    problem = answer.json()
    assert problem["type"] == "/problems/server-misconfigured" and problem["status"] == 500
    assert "ORIGINFRAME_C2PA" in problem["detail"] and "operator" in problem["detail"]
    assert "/missing/" not in answer.text  # the path is in the server log, not in the answer


def test_a_bad_upload_stays_the_clients_422(client):
    answer = client.post(
        "/v1/verify",
        files={"file": ("x.mp4", b"\x00\x00\x00\x18ftypmp42 not a video", "video/mp4")},
        headers=key_for(client, "verify"),
    )
    assert answer.status_code == 422 and answer.json()["type"] in (
        "/problems/unreadable-media",
        "/problems/provenance-error",
    )


def test_every_domain_error_has_a_stable_type_and_a_status_that_says_whose_fault_it_is():
    errors = [
        cls
        for cls in vars(problems).values()
        if isinstance(cls, type) and issubclass(cls, problems.ServiceError) and cls is not problems.ServiceError
    ]
    assert len(errors) >= 10
    for error in errors:
        assert 400 <= error.status < 600 and error.type and error.title, error
        assert error.type == error.type.lower() and " " not in error.type
    # the client's mistakes are 4xx; only capacity and missing models are 503
    assert {error.__name__ for error in errors if error.status >= 500} == {"ServerBusy", "ModelUnavailable"}
