"""Media in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, R2 ...) through obstore.

Why obstore: one maintained client (Rust `object_store`, used by Arrow and Delta) for S3, GCS and
Azure, with multipart uploads, retries with backoff, ranged reads and pre-signed URLs built in,
and no boto stack to import in every worker.

Credentials are never settings: obstore reads them from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, web identity, instance metadata), and nothing here
prints them — `describe()` names endpoint, bucket and prefix only.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

import obstore
from obstore.exceptions import (
    InvalidPathError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnknownConfigurationKeyError,
)
from obstore.store import S3Store

from service.storage import StorageUnavailable, validate_key

if TYPE_CHECKING:
    from service.settings import Settings


# errors the client already retried (or that no retry can fix) are reported with their first line:
# enough to act on (status, endpoint, key), without the client's debug dump
_FIRST_LINE = re.compile(r"^[^\n]*")
_REASON_CHARS = 400
_MAX_BACKOFF_S = 5.0
# no retry can fix these: wrong credentials, a bucket policy, a bad key or configuration
_PERMANENT = (PermissionDeniedError, UnauthenticatedError, InvalidPathError, UnknownConfigurationKeyError, ValueError)

logger = logging.getLogger("originframe.storage")


def _reason(error: BaseException) -> str:
    match = _FIRST_LINE.match(str(error))
    text = match.group(0) if match else type(error).__name__
    return text[:_REASON_CHARS]


class ObjectStorage:
    """The Storage interface over one bucket and prefix.

    Atomic for readers: an S3 PUT, and the completion of a multipart upload, make the whole
    object visible at once; nobody can read a half-written clip. Objects larger than
    `part_bytes` go up in parts (several in flight), so one lost connection costs a part, not
    the clip.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint: str = "",
        region: str = "",
        allow_http: bool = False,
        part_bytes: int = 8 * 1024 * 1024,
        retries: int = 4,
        retry_backoff_s: float = 0.2,
        timeout_s: float = 60.0,
    ) -> None:
        if not bucket:
            raise ValueError("ORIGINFRAME_STORAGE_BUCKET is required when ORIGINFRAME_STORAGE_BACKEND=s3")
        if part_bytes < 5 * 1024 * 1024:
            raise ValueError("ORIGINFRAME_STORAGE_PART_BYTES must be at least 5 MiB (the S3 minimum part size)")
        self.bucket, self.prefix, self.endpoint = bucket, prefix.strip("/"), endpoint
        self.part_bytes = part_bytes
        self.retries, self.retry_backoff_s = retries, retry_backoff_s
        config: S3Config = {}
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        client: ClientConfig = {"timeout": f"{timeout_s}s", "connect_timeout": f"{min(timeout_s, 10.0)}s"}
        if allow_http:
            client["allow_http"] = True
        retry: RetryConfig = {
            "max_retries": retries,
            "backoff": {
                "init_backoff": timedelta(seconds=retry_backoff_s),
                "max_backoff": timedelta(seconds=_MAX_BACKOFF_S),
                "base": 2.0,
            },
            # bounded so a dead store fails the job in about a minute, not after the client's default 3 min
            "retry_timeout": timedelta(seconds=max(timeout_s, retry_backoff_s * (2**retries) * 2)),
        }
        self._store = S3Store(
            bucket, prefix=self.prefix or None, config=config, client_options=client, retry_config=retry
        )
        # Writes are retried here, whole: the client retries reads on a timeout but not a PUT (not
        # a "safe" method), and a stalled store must not fail a clip that a retry would save.
        # Re-sending the same bytes to the same key is idempotent.
        self._writer = S3Store(
            bucket,
            prefix=self.prefix or None,
            config=config,
            client_options=client,
            retry_config={**retry, "max_retries": 0},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStorage:
        return cls(
            bucket=settings.storage_bucket,
            prefix=settings.storage_prefix,
            endpoint=settings.storage_endpoint,
            region=settings.storage_region,
            allow_http=settings.storage_allow_http,
            part_bytes=settings.storage_part_bytes,
            retries=settings.storage_retries,
            retry_backoff_s=settings.storage_retry_backoff_s,
            timeout_s=settings.storage_timeout_s,
        )

    def _fail(self, action: str, key: str, error: BaseException) -> StorageUnavailable:
        return StorageUnavailable(f"object storage {self.describe()}: {action} {key!r} failed: {_reason(error)}")

    def put(self, key: str, data: bytes) -> None:
        validate_key(key)
        for attempt in range(self.retries + 1):
            try:
                obstore.put(
                    self._writer,
                    key,
                    data,
                    use_multipart=len(data) > self.part_bytes,
                    chunk_size=self.part_bytes,
                    max_concurrency=4,
                )
                return
            except _PERMANENT as error:
                raise self._fail("storing", key, error) from None
            except Exception as error:
                if attempt == self.retries:
                    raise self._fail(f"storing (after {self.retries + 1} attempts)", key, error) from None
                delay = min(self.retry_backoff_s * 2**attempt, _MAX_BACKOFF_S)
                logger.warning(
                    "storing %r failed (attempt %d of %d): %s; retrying in %.1f s",
                    key,
                    attempt + 1,
                    self.retries + 1,
                    _reason(error),
                    delay,
                )
                time.sleep(delay)

    def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            return bytes(obstore.get(self._store, key).bytes())
        except FileNotFoundError:
            raise
        except Exception as error:
            raise self._fail("reading", key, error) from None

    def path(self, key: str) -> Path | None:
        return None  # nothing on a local disk; readers use get/read_range or a pre-signed URL

    def size(self, key: str) -> int | None:
        validate_key(key)
        try:
            return int(obstore.head(self._store, key)["size"])
        except FileNotFoundError:
            return None
        except Exception as error:
            raise self._fail("looking up", key, error) from None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive), one ranged GET."""
        validate_key(key)
        try:
            return bytes(obstore.get_range(self._store, key, start=start, end=end + 1))
        except FileNotFoundError:
            raise
        except Exception as error:
            raise self._fail("reading", key, error) from None

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            obstore.delete(self._store, key)
        except FileNotFoundError:
            pass
        except Exception as error:
            raise self._fail("deleting", key, error) from None

    def download_url(self, key: str, ttl_s: int) -> str | None:
        """A pre-signed GET URL (the client's Range header goes straight to the store)."""
        validate_key(key)
        try:
            return obstore.sign(self._store, "GET", key, timedelta(seconds=ttl_s))
        except Exception as error:
            raise self._fail("signing a URL for", key, error) from None

    def ping(self) -> None:
        """Reachable and authorised: a HEAD of a key that does not exist must say 'not found'."""
        try:
            obstore.head(self._store, ".originframe-health-probe")
        except FileNotFoundError:
            return
        except Exception as error:
            raise self._fail("probing", ".originframe-health-probe", error) from None

    def describe(self) -> str:
        where = self.endpoint or "aws"
        return f"s3:{where}/{self.bucket}/{self.prefix}".rstrip("/")
