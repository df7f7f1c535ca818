"""Fixtures for the service: a tiny model built once per session, an app on a fresh data
directory per test, keys, and helpers that wait for jobs."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.settings import load_settings


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    from service.backends import tiny

    directory = tmp_path_factory.mktemp("models")
    tiny.build(directory / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
    return directory


@pytest.fixture(scope="session")
def tiny_wan_dir(tmp_path_factory) -> Path:
    """A Wan TI2V-5B-layout pipeline (one model, text and image) with tiny seeded weights."""
    from tests.service.tiny_wan import build_tiny_wan_ti2v

    return build_tiny_wan_ti2v(tmp_path_factory.mktemp("tiny-wan"))


@pytest.fixture(scope="session")
def tiny_hunyuan_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """HunyuanVideo 1.5 text-to-video and image-to-video pipelines with tiny seeded weights."""
    from tests.service.tiny_hunyuan import build_tiny_hunyuan

    return build_tiny_hunyuan(tmp_path_factory.mktemp("tiny-hunyuan"))


def new_backend_settings(tiny_wan_dir: Path, tiny_hunyuan_dirs: tuple[Path, Path]) -> dict[str, str]:
    """Settings that point wan and hunyuan at the tiny local directories."""
    return dict(
        wan_model=str(tiny_wan_dir),
        wan_i2v_model=str(tiny_wan_dir),
        hunyuan_model=str(tiny_hunyuan_dirs[0]),
        hunyuan_i2v_model=str(tiny_hunyuan_dirs[1]),
    )


def make_settings(data_dir: Path, models_dir: Path, **overrides):
    values = dict(
        data_dir=data_dir,
        models_dir=str(models_dir),
        lease_seconds=3.0,
        reaper_interval_s=0.5,
        events_poll_s=0.05,
        encode_preset="ultrafast",
        # tests poll at 20 Hz with one key; the limits have their own tests (test_hardening_limits.py)
        rate_limit_api_per_minute=0,
        rate_limit_generate_per_minute=0,
        rate_limit_verify_per_minute=0,
        rate_limit_auth_failures_per_minute=0,
    )
    values.update(overrides)
    return load_settings(environ={}, **values)


@pytest.fixture
def settings(tmp_path, models_dir):
    return make_settings(tmp_path / "data", models_dir)


@pytest.fixture
def app_factory(models_dir, tmp_path):
    """Start apps on demand (several may share one data directory, one after the other)."""
    from litestar.testing import TestClient

    from service.app import create_app

    clients = []

    def start(settings=None, **overrides):
        settings = settings or make_settings(tmp_path / "data", models_dir, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory):
    return app_factory()


def key_for(client, *scopes: str, name: str = "test") -> dict[str, str]:
    from service import auth

    created = auth.create_key(client.app.state.runtime.db, list(scopes), name)
    return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Both databases; set up before the apps (list it first) so no app outlives its database."""
    from tests.service.fleet import fresh_postgres_database

    if request.param == "sqlite":
        yield ""
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def generate_key(client) -> dict[str, str]:
    return key_for(client, "generate")


def wait_for(
    client,
    generation_id: str,
    headers,
    statuses=("succeeded", "failed", "blocked", "cancelled"),
    timeout: float = 120.0,
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/generations/{generation_id}", headers=headers).json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"generation {generation_id} still {body['status']} after {timeout}s: {body}")
        time.sleep(0.05)


def png_bytes(width: int = 96, height: int = 64, seed: int = 0, noise: float = 20.0) -> bytes:
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, width, dtype=np.float32)[None, :, None] * np.ones((height, 1, 3), np.float32)
    image = np.clip(gradient + rng.normal(0, noise, (height, width, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
