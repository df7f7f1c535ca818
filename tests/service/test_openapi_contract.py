"""The API contract: the served OpenAPI document is the committed docs/openapi.json, and every
operation in it has a typed success response (and a request body where it takes one).

A deliberate change of the contract regenerates the copy:

    ORIGINFRAME_UPDATE_OPENAPI=1 python -m pytest tests/service/test_openapi_contract.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
UPDATE = os.environ.get("ORIGINFRAME_UPDATE_OPENAPI") == "1"
# operations whose body Litestar reads itself (multipart or raw bytes), documented from the structs
BODIES = {
    ("post", "/v1/generations"): {"application/json", "multipart/form-data"},
    ("post", "/v1/screenings"): {"application/json", "multipart/form-data"},
    ("post", "/v1/verify"): {"multipart/form-data", "application/octet-stream"},
    ("post", "/v1/reviews/{review_id}"): {"application/json"},
    ("post", "/v1/keys"): {"application/json"},
}


@pytest.fixture
def document(client) -> dict:
    return client.get("/schema/openapi.json").json()


def _rendered(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_served_document_is_the_committed_contract(document):
    if UPDATE:
        COMMITTED.write_text(_rendered(document))
    assert COMMITTED.exists(), "no docs/openapi.json: run with ORIGINFRAME_UPDATE_OPENAPI=1 to write it"
    committed = json.loads(COMMITTED.read_text())
    changed = sorted(set(document["paths"]) ^ set(committed["paths"]))
    assert not changed, f"operations added or removed: {changed}"
    assert document == committed, (
        "the API contract changed; if that is deliberate, regenerate docs/openapi.json "
        "with ORIGINFRAME_UPDATE_OPENAPI=1"
    )


def test_the_document_does_not_depend_on_the_deployment(document, app_factory):
    """Limits and paths are settings, not contract: another deployment serves the same document."""
    other = app_factory(max_frames=3, max_upload_bytes=2 * 1024 * 1024)
    assert other.get("/schema/openapi.json").json() == document


def test_every_operation_has_a_typed_success_response(document):
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            assert success, f"{method} {path} documents no success response"
            for code, answer in success.items():
                if code == "204":
                    continue
                content = answer.get("content") or {}
                if not content or not all(entry.get("schema") for entry in content.values()):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []


def test_every_body_is_documented_with_its_media_types(document):
    for (method, path), kinds in BODIES.items():
        body = document["paths"][path][method]["requestBody"]["content"]
        assert kinds <= set(body), (method, path, set(body))
        for kind in kinds:
            assert body[kind]["schema"], (method, path, kind)


def test_json_responses_refer_to_the_api_structs(document):
    """The JSON answers are the structs of service.api_types, by name."""
    from service import api_types

    names = set(document["components"]["schemas"])
    for struct in (
        "GenerationView",
        "GenerationPage",
        "ScreeningResult",
        "DecisionPage",
        "DecisionRecord",
        "ReviewPage",
        "ReviewResolution",
        "ChainCheck",
        "VerificationResult",
        "HealthReport",
        "CreatedKey",
    ):
        assert struct in names and hasattr(api_types, struct), struct
    generation = document["paths"]["/v1/generations/{generation_id}"]["get"]["responses"]["200"]
    assert generation["content"]["application/json"]["schema"]["$ref"].endswith("/GenerationView")
