"""Byte-range responses for stored media, so browsers can seek in a video."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from litestar import Response
from litestar.response import File, Redirect, Stream

from service.api.problem_details import problem
from service.problems import NotFound
from service.storage import Storage

# a streamed clip is read from the object store one ranged GET at a time: memory stays bounded
_STREAM_CHUNK = 1024 * 1024

# 18 digits: every offset of a stored file fits, and int() never meets a 5,000-digit number
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def file_response(path: Path, range_header: str | None, media_type: str, filename: str) -> Response:
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": f'inline; filename="{filename}"'}
    match = _RANGE.match(range_header.strip()) if range_header else None
    if range_header and not match:
        return _unsatisfiable(size)
    if not match:
        return File(
            path=path, media_type=media_type, headers=headers, content_disposition_type="inline", filename=filename
        )
    first, last = match.groups()
    if first == "":
        length = int(last or 0)
        start, end = max(size - length, 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        return _unsatisfiable(size)
    with path.open("rb") as file:
        file.seek(start)
        chunk = file.read(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(content=chunk, status_code=206, media_type=media_type, headers=headers)


def _unsatisfiable(size: int) -> Response:
    response = problem(416, "range-not-satisfiable", "Range not satisfiable", f"the file has {size} bytes")
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def stored_media_response(
    storage: Storage,
    key: str,
    range_header: str | None,
    media_type: str,
    filename: str,
    *,
    redirect_ttl_s: int | None = None,
) -> Response:
    """Serve a stored object: from the local file, as a redirect to a pre-signed URL
    (redirect_ttl_s set and the store can sign), or streamed through this process."""
    path = storage.path(key)
    if path is not None:
        return file_response(path, range_header, media_type, filename)
    size = storage.size(key)
    if size is None:
        raise NotFound("the stored media is missing")
    if redirect_ttl_s:
        url = storage.download_url(key, redirect_ttl_s)
        if url:
            # 307 keeps the method; the client sends its Range header to the store itself
            return Redirect(url, status_code=307, headers={"Cache-Control": "private, no-store"})
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": f'inline; filename="{filename}"'}
    match = _RANGE.match(range_header.strip()) if range_header else None
    if range_header and not match:
        return _unsatisfiable(size)
    start, end, status = 0, size - 1, 200
    if match:
        first, last = match.groups()
        if first == "":
            start, end = max(size - int(last or 0), 0), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start > end or start >= size:
            return _unsatisfiable(size)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        status = 206
    headers["Content-Length"] = str(end - start + 1)
    return Stream(_chunks(storage, key, start, end), status_code=status, media_type=media_type, headers=headers)


def _chunks(storage: Storage, key: str, start: int, end: int) -> Iterator[bytes]:
    position = start
    while position <= end:
        last = min(position + _STREAM_CHUNK - 1, end)
        yield storage.read_range(key, position, last)
        position = last + 1
