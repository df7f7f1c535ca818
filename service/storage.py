"""Where media lives: a small interface, with a local directory as the embedded default."""

from __future__ import annotations

import enum
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from service.settings import Settings


_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def make_private(path: Path) -> None:
    """Create `path` (if missing) readable and writable by its owner only, or narrow it to that.

    SQLite files hold prompts, key hashes and the decision log; SQLite gives its -wal and -shm
    files the database file's mode, so narrowing the database file before first use covers them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def validate_key(key: str) -> str:
    """Keys are ours (inputs/<id>, videos/<id>.mp4), never a client's path; refuse anything else."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class StorageBackend(enum.Enum):
    LOCAL = "local"
    S3 = "s3"


class VideoDelivery(enum.Enum):
    """How the API hands out a clip kept in object storage."""

    STREAM = "stream"  # through the API process, Range requests answered by ranged reads
    REDIRECT = "redirect"  # 307 to a short-lived pre-signed URL; the store serves the bytes


class StorageUnavailable(Exception):
    """The store could not be reached or refused the request after its retries (the reason says which)."""


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def path(self, key: str) -> Path | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def describe(self) -> str: ...
    def size(self, key: str) -> int | None: ...
    def read_range(self, key: str, start: int, end: int) -> bytes: ...
    def download_url(self, key: str, ttl_s: int) -> str | None: ...
    def ping(self) -> None: ...


class LocalStorage:
    """Files under one directory; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _resolve(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put(self, key: str, data: bytes) -> None:
        target = self._resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._resolve(key).read_bytes()

    def path(self, key: str) -> Path | None:
        target = self._resolve(key)
        return target if target.exists() else None

    def exists(self, key: str) -> bool:
        return self._resolve(key).exists()

    def delete(self, key: str) -> None:
        self._resolve(key).unlink(missing_ok=True)

    def describe(self) -> str:
        return f"local:{self.root.resolve()}"

    def size(self, key: str) -> int | None:
        target = self._resolve(key)
        return target.stat().st_size if target.exists() else None

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive)."""
        with self._resolve(key).open("rb") as file:
            file.seek(start)
            return file.read(end - start + 1)

    def download_url(self, key: str, ttl_s: int) -> str | None:
        return None  # served from the file itself

    def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"the media directory {self.root} is not writable")


def open_storage(settings: Settings) -> Storage:
    """The store the settings name: the local directory (embedded default) or an S3 bucket."""
    try:
        backend = StorageBackend(settings.storage_backend)
    except ValueError:
        choices = ", ".join(member.value for member in StorageBackend)
        raise ValueError(f"ORIGINFRAME_STORAGE_BACKEND={settings.storage_backend!r}: use one of {choices}") from None
    try:
        VideoDelivery(settings.video_delivery)
    except ValueError:
        choices = ", ".join(member.value for member in VideoDelivery)
        raise ValueError(f"ORIGINFRAME_VIDEO_DELIVERY={settings.video_delivery!r}: use one of {choices}") from None
    if backend is StorageBackend.LOCAL:
        return LocalStorage(settings.resolved_storage_dir)
    from service.object_storage import ObjectStorage

    return ObjectStorage.from_settings(settings)
