"""Litestar's request, with JSON and form decoding that fail as 422, never as 500.

Litestar decodes a JSON body into untyped Python objects before it converts them, and its
multipart parser decodes text fields with whatever charset the client names; hostile bodies
turn both into tracebacks (RecursionError, UnicodeDecodeError, LookupError). Every route gets
this request class, so the bounds hold everywhere at once.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict

from service.json_bodies import decode_json
from service.problems import InvalidRequest


def content_type(request: Request) -> str:
    """The body's media type, lower case, without parameters (charset, boundary); '' when absent."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class BoundedRequest(Request):
    async def json(self) -> Any:
        return decode_json(await self.body() or b"null")

    async def form(self) -> FormMultiDict:
        try:
            return await super().form()
        except LookupError as error:  # codecs.lookup: the part names a charset Python does not know
            raise InvalidRequest(f"a form field names an unknown charset: {error}") from None
        except UnicodeDecodeError as error:
            raise InvalidRequest(
                f"a form field is not valid text in its charset ({error.encoding}, byte {error.start})"
            ) from None


__all__ = ["FORM_TYPES", "BoundedRequest", "content_type"]
