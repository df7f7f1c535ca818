"""Issue 11, item 5: the smaller findings, each as the behaviour a tenant or operator relies on."""

from __future__ import annotations

import io
import stat

import pytest
from PIL import Image

from tests.service.conftest import key_for, png_bytes


@pytest.fixture
def app(app_factory):
    return app_factory(embedded_worker=False)


def _queued(app, headers) -> str:
    answer = app.post("/v1/generations", json={"prompt": "a lighthouse", "num_frames": 4}, headers=headers)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_an_auditor_reads_every_tenant_but_cannot_cancel_their_generations(app):
    owner, auditor, admin = key_for(app, "generate"), key_for(app, "audit"), key_for(app, "admin")
    first, second = _queued(app, owner), _queued(app, owner)
    assert app.get(f"/v1/generations/{first}", headers=auditor).status_code == 200
    assert app.post(f"/v1/generations/{first}/cancel", headers=auditor).status_code == 404
    assert app.get(f"/v1/generations/{first}", headers=owner).json()["status"] == "queued"
    assert app.post(f"/v1/generations/{first}/cancel", headers=owner).json()["status"] == "cancelled"
    assert app.post(f"/v1/generations/{second}/cancel", headers=admin).json()["status"] == "cancelled"


def test_another_tenants_generation_id_is_an_unknown_cursor(app):
    mine, theirs = key_for(app, "generate", name="mine"), key_for(app, "generate", name="theirs")
    their_id = _queued(app, theirs)
    unknown = app.get("/v1/generations", params={"cursor": "3f1c9a52-0000-4000-8000-000000000000"}, headers=mine)
    foreign = app.get("/v1/generations", params={"cursor": their_id}, headers=mine)
    assert unknown.status_code == foreign.status_code == 422
    assert unknown.json()["detail"] == foreign.json()["detail"]
    assert app.get("/v1/generations", params={"cursor": their_id}, headers=theirs).status_code == 200


def test_health_without_an_admin_key_shows_no_paths_and_no_counts(app):
    data_dir = str(app.app.state.runtime.settings.data_dir.resolve())
    public = app.get("/health")
    assert public.status_code == 200 and public.json()["ready"] is True
    assert data_dir not in public.text and "fingerprints" not in public.text
    assert public.json()["storage"]["backend"] == "local:<path>"
    assert data_dir not in app.get("/health", headers=key_for(app, "generate", "verify", "audit")).text
    operator = app.get("/health", headers=key_for(app, "admin")).json()
    assert data_dir in operator["storage"]["backend"] and "registered" in operator["provenance"]["fingerprints"]


def test_verify_does_not_tell_every_caller_how_many_clips_were_made(app):
    still = png_bytes(96, 64)
    headers = {"content-type": "image/png"}
    verifier = app.post("/v1/verify", content=still, headers={**headers, **key_for(app, "verify")}).json()
    assert verifier["fingerprint"]["registered_clips"] is None
    auditor = app.post("/v1/verify", content=still, headers={**headers, **key_for(app, "verify", "audit")}).json()
    assert auditor["fingerprint"]["registered_clips"] == 0


def test_sqlite_files_are_private_to_the_service_user(app):
    data_dir = app.app.state.runtime.settings.data_dir
    for name in ("originframe.db", "queue.db"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(app.app.state.runtime.settings.resolved_audit_checkpoint_key.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["TIFF", "BMP", "TGA", "ICO", "PPM"])
def test_input_images_beyond_png_jpeg_and_webp_are_refused(app, kind):
    buffer = io.BytesIO()
    Image.new("RGB", (128, 128), (30, 90, 200)).save(buffer, format=kind)
    headers = key_for(app, "generate")
    answer = app.post(
        "/v1/generations",
        files={"image": (f"x.{kind.lower()}", buffer.getvalue(), "image/x")},
        data={"prompt": "x"},
        headers=headers,
    )
    assert answer.status_code == 422 and "PNG, JPEG, WEBP" in answer.json()["detail"]
    screened = app.post("/v1/screenings", files={"image": ("x", buffer.getvalue(), "image/x")}, headers=headers)
    assert screened.status_code == 422
    for kind_ok in ("PNG", "JPEG", "WEBP"):
        ok = io.BytesIO()
        Image.new("RGB", (128, 128), (30, 90, 200)).save(ok, format=kind_ok)
        assert (
            app.post("/v1/screenings", files={"image": ("x", ok.getvalue(), "image/x")}, headers=headers).status_code
            == 200
        )


def test_the_api_document_is_served_without_third_party_scripts_and_has_request_bodies(app):
    assert app.get("/schema/swagger").status_code == 404
    document = app.get("/schema/openapi.json")
    assert document.status_code == 200 and "cdn" not in document.text.lower()
    paths = document.json()["paths"]
    generation = paths["/v1/generations"]["post"]["requestBody"]["content"]
    assert set(generation) == {"application/json", "multipart/form-data"}
    assert "num_frames" in generation["application/json"]["schema"]["properties"]
    assert generation["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    assert (
        "prompt"
        in paths["/v1/screenings"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
    assert (
        "file" in paths["/v1/verify"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    )
