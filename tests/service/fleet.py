"""Real PostgreSQL and Redis for the scale-out tests (running on the dev machine and in CI)."""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager

import pytest

POSTGRES_ADMIN_URL = os.environ.get("ORIGINFRAME_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ORIGINFRAME_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(host: str, port: int, what: str) -> None:
    if _reachable(host, port):
        return
    message = f"{what} is not reachable at {host}:{port}"
    if os.environ.get("ORIGINFRAME_REQUIRE_FLEET_TESTS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def fresh_postgres_database():
    """A new, empty database for one test; dropped afterwards."""
    import psycopg

    require("127.0.0.1", 5432, "PostgreSQL")
    name = f"originframe_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_redis_queue():
    """A queue name of its own on the shared Redis; its keys are removed afterwards."""
    import redis

    require("127.0.0.1", 6379, "Redis")
    name = f"originframe-test-{uuid.uuid4().hex[:10]}"
    try:
        yield REDIS_URL, name
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)
