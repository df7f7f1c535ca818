"""Byte-range responses for stored media, so browsers can seek in a video."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Response
from litestar.response import File

from service.errors import problem

# 18 digits: every offset of a stored file fits, and int() never meets a 5,000-digit number
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def file_response(path: Path, range_header: str | None, media_type: str, filename: str) -> Response:
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": f'inline; filename="{filename}"'}
    match = _RANGE.match(range_header.strip()) if range_header else None
    if range_header and not match:
        return _unsatisfiable(size)
    if not match:
        return File(path=path, media_type=media_type, headers=headers, content_disposition_type="inline", filename=filename)
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
