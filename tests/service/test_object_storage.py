"""Media in object storage, against a real S3 server (SeaweedFS on loopback): the Storage
interface, multipart uploads, atomic visibility, retries then a reason, and the API serving
clips from the bucket by stream (with ranges) or by pre-signed redirect."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import httpx
import obstore
import pytest
from obstore.store import S3Store

from service.object_storage import ObjectStorage
from service.storage import StorageUnavailable, open_storage
from tests.service.conftest import key_for, make_settings, wait_for
from tests.service.seaweed import BUCKET, s3_credentials, seaweedfs  # noqa: F401  (fixtures)

MIB = 1024 * 1024


def _storage(server, **options) -> ObjectStorage:
    values = dict(
        bucket=BUCKET,
        prefix=f"t-{uuid.uuid4().hex[:12]}",
        endpoint=server.endpoint,
        region="us-east-1",
        allow_http=True,
        part_bytes=5 * MIB,
        retries=2,
        retry_backoff_s=0.05,
        timeout_s=10.0,
    )
    values.update(options)
    return ObjectStorage(**values)


def _raw(server, bucket: str) -> S3Store:
    """A plain client on the same bucket, without our prefix: what is really in the store."""
    return S3Store(
        bucket,
        config=dict(
            endpoint=server.endpoint,
            region="us-east-1",
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            allow_http="true",
        ),
    )


def _closed_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def test_round_trip_under_the_prefix(s3_credentials):
    storage = _storage(s3_credentials, prefix="deploy-a/media")
    storage.put("videos/x.mp4", b"0123456789")
    assert storage.get("videos/x.mp4") == b"0123456789"
    assert storage.exists("videos/x.mp4") and storage.size("videos/x.mp4") == 10
    assert storage.read_range("videos/x.mp4", 2, 5) == b"2345"
    assert storage.path("videos/x.mp4") is None  # nothing on a local disk
    listed = [
        meta["path"]
        for batch in obstore.list(_raw(s3_credentials, storage.bucket), prefix="deploy-a/")
        for meta in batch
    ]
    assert listed == ["deploy-a/media/videos/x.mp4"]
    storage.delete("videos/x.mp4")
    storage.delete("videos/x.mp4")  # deleting what is gone is not an error
    assert not storage.exists("videos/x.mp4") and storage.size("videos/x.mp4") is None
    with pytest.raises(FileNotFoundError):
        storage.get("videos/x.mp4")
    storage.ping()


def test_keys_that_could_escape_are_refused(s3_credentials):
    storage = _storage(s3_credentials)
    for key in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(ValueError):
            storage.put(key, b"x")


def test_large_clips_go_up_in_parts_and_small_ones_in_one_put(s3_credentials):
    storage = _storage(s3_credentials)
    big = bytes(range(256)) * (12 * MIB // 256)
    storage.put("videos/big.mp4", big)
    storage.put("videos/small.mp4", b"small")
    raw = _raw(s3_credentials, storage.bucket)
    # an S3 multipart object's ETag is "<md5 of part md5s>-<number of parts>"
    assert obstore.head(raw, f"{storage.prefix}/videos/big.mp4")["e_tag"].strip('"').endswith("-3")
    assert "-" not in obstore.head(raw, f"{storage.prefix}/videos/small.mp4")["e_tag"]
    assert storage.get("videos/big.mp4") == big
    assert storage.read_range("videos/big.mp4", 6 * MIB - 3, 6 * MIB + 2) == big[6 * MIB - 3 : 6 * MIB + 3]


def test_a_reader_never_sees_a_half_written_clip(s3_credentials):
    storage = _storage(s3_credentials)
    data = b"\x5a" * (16 * MIB)
    seen: list[int | None] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(storage.size("videos/atomic.mp4"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        storage.put("videos/atomic.mp4", data)
        time.sleep(0.05)
    finally:
        done.set()
        watcher.join()
    assert seen and set(seen) <= {None, len(data)}, sorted(set(map(str, seen)))
    assert seen[-1] == len(data)


def test_an_unreachable_store_fails_after_its_retries_with_a_reason(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    storage = ObjectStorage(
        bucket="media",
        endpoint=endpoint,
        region="us-east-1",
        allow_http=True,
        retries=2,
        retry_backoff_s=0.05,
        timeout_s=2.0,
    )
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as failure:
        storage.put("videos/x.mp4", b"x")
    assert time.monotonic() - started < 20  # bounded: retries with backoff, then a reason
    reason = str(failure.value)
    assert "after 3 attempts" in reason and endpoint in reason and "videos/x.mp4" in reason
    with pytest.raises(StorageUnavailable):
        storage.ping()
    for secret in ("very-secret-value", "AKIAEXAMPLEKEY"):
        assert secret not in reason and secret not in storage.describe()


def test_a_stalled_store_is_retried_until_it_answers(s3_credentials):
    """SeaweedFS frozen (SIGSTOP) for longer than one request's timeout, then resumed: the upload
    times out, is retried with backoff and lands."""
    import os
    import signal

    storage = _storage(s3_credentials, retries=6, retry_backoff_s=0.2, timeout_s=1.0)
    storage.put("videos/warm.mp4", b"w")  # the bucket exists before the stall
    pid = _weed_pid(s3_credentials)
    os.kill(pid, signal.SIGSTOP)
    resume = threading.Timer(2.0, os.kill, (pid, signal.SIGCONT))
    resume.start()
    try:
        storage.put("videos/stalled.mp4", b"made it")
    finally:
        resume.join()
        os.kill(pid, signal.SIGCONT)
    assert storage.get("videos/stalled.mp4") == b"made it"


def test_wrong_credentials_fail_at_once_with_a_reason(seaweedfs, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    storage = _storage(seaweedfs, retries=3, retry_backoff_s=1.0)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as failure:
        storage.put("videos/x.mp4", b"x")
    assert time.monotonic() - started < 3  # not retried: no retry fixes a wrong secret
    assert "not-the-secret" not in str(failure.value)


def test_settings_choose_the_backend(tmp_path, models_dir, seaweedfs):
    local = open_storage(make_settings(tmp_path / "data", models_dir))
    assert local.describe().startswith("local:")
    remote = open_storage(make_settings(tmp_path / "data", models_dir, **seaweedfs.storage_overrides(prefix="p")))
    assert remote.describe() == f"s3:{seaweedfs.endpoint}/{BUCKET}/p"
    with pytest.raises(ValueError, match="ORIGINFRAME_STORAGE_BACKEND"):
        open_storage(make_settings(tmp_path / "data", models_dir, storage_backend="ftp"))
    with pytest.raises(ValueError, match="ORIGINFRAME_VIDEO_DELIVERY"):
        open_storage(make_settings(tmp_path / "data", models_dir, video_delivery="teleport"))
    with pytest.raises(ValueError, match="ORIGINFRAME_STORAGE_BUCKET"):
        open_storage(make_settings(tmp_path / "data", models_dir, storage_backend="s3"))


def _weed_pid(server) -> int:
    import psutil

    port = int(server.endpoint.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return connection.pid
    raise AssertionError("no process listens on the S3 port")


# the API on object storage --------------------------------------------------------------


def _media_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_clips_are_stored_in_the_bucket_and_streamed_with_ranges(app_factory, tmp_path, models_dir, s3_credentials):
    settings = make_settings(tmp_path / "data", models_dir, **s3_credentials.storage_overrides(prefix="media"))
    client = app_factory(settings)
    headers = key_for(client, "generate")
    health = client.get("/health").json()
    assert health["storage"]["ok"] and health["storage"]["backend"].startswith("s3:")
    created = client.post("/v1/generations", json={"prompt": "a lighthouse", "num_frames": 4}, headers=headers).json()
    done = wait_for(client, created["id"], headers)
    assert done["status"] == "succeeded", done
    stored = open_storage(settings)
    clip = stored.get(f"videos/{created['id']}.mp4")
    whole = client.get(f"/v1/generations/{created['id']}/video", headers=headers)
    assert whole.status_code == 200 and whole.content[4:8] == b"ftyp" and len(whole.content) == done["output"]["bytes"]
    assert clip == whole.content
    part = client.get(f"/v1/generations/{created['id']}/video", headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    tail = client.get(f"/v1/generations/{created['id']}/video", headers={**headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    assert (
        client.get(
            f"/v1/generations/{created['id']}/video", headers={**headers, "Range": "bytes=99999999-"}
        ).status_code
        == 416
    )
    assert _media_files(settings.resolved_storage_dir) == []  # nothing on the local disk


def test_redirect_delivery_hands_out_a_short_lived_presigned_url(app_factory, tmp_path, models_dir, s3_credentials):
    settings = make_settings(
        tmp_path / "data",
        models_dir,
        video_delivery="redirect",
        presigned_url_ttl_s=60,
        **s3_credentials.storage_overrides(),
    )
    client = app_factory(settings)
    headers = key_for(client, "generate")
    created = client.post("/v1/generations", json={"prompt": "a harbour", "num_frames": 4}, headers=headers).json()
    done = wait_for(client, created["id"], headers)
    assert done["status"] == "succeeded", done
    response = client.get(f"/v1/generations/{created['id']}/video", headers=headers, follow_redirects=False)
    assert response.status_code == 307
    url = response.headers["location"]
    assert url.startswith(s3_credentials.endpoint) and "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    assert s3_credentials.secret_key not in url
    full = httpx.get(url)
    assert full.status_code == 200 and len(full.content) == done["output"]["bytes"]
    ranged = httpx.get(url, headers={"Range": "bytes=0-99"})  # ranges go straight to the store
    assert ranged.status_code == 206 and ranged.content == full.content[:100]
    # the URL is signed for this key only
    other = url.replace(f"{created['id']}.mp4", "other.mp4")
    assert httpx.get(other).status_code == 403


def test_a_job_whose_store_is_down_fails_with_the_reason(app_factory, tmp_path, models_dir, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    settings = make_settings(
        tmp_path / "data",
        models_dir,
        storage_backend="s3",
        storage_bucket="media",
        storage_endpoint=f"http://127.0.0.1:{_closed_port()}",
        storage_allow_http=True,
        storage_retries=1,
        storage_retry_backoff_s=0.05,
        storage_timeout_s=2.0,
    )
    client = app_factory(settings)
    headers = key_for(client, "generate")
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["storage"]["ok"] is False
    created = client.post("/v1/generations", json={"prompt": "a forest", "num_frames": 4}, headers=headers).json()
    failed = wait_for(client, created["id"], headers)
    assert failed["status"] == "failed", failed
    assert "object storage" in failed["error"]["reason"] and "after 2 attempts" in failed["error"]["reason"]
