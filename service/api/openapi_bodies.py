"""Request bodies in the OpenAPI document for handlers that read their bodies themselves.

POST /v1/generations, /v1/screenings and /v1/verify take JSON *or* multipart (or raw bytes)
and parse after authentication, so Litestar cannot infer their bodies from a `data` argument.
Their documented bodies come from the same msgspec structs the handlers decode into, so the
document and the parser cannot drift apart; clients and fuzzers get a schema to build requests from.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation

_BINARY = {"type": "string", "format": "binary"}


def struct_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of a flat struct, inline (no references)."""
    (_,), components = msgspec.json.schema_components([struct], ref_template="#/components/schemas/{name}")
    return components[struct.__name__]


def with_file(schema: dict[str, Any], field: str) -> dict[str, Any]:
    """The multipart variant of a JSON body: the same fields, with `field` as a file part."""
    properties = {**schema.get("properties", {}), field: _BINARY}
    return {**schema, "properties": properties}


def documented_body(content: dict[str, dict[str, Any]], *, description: str = "") -> type[Operation]:
    """An Operation class whose document carries this request body (media type -> schema)."""
    body = {
        "required": True,
        "description": description,
        "content": {kind: {"schema": schema} for kind, schema in content.items()},
    }

    class OperationWithBody(Operation):
        def to_schema(self) -> dict[str, Any]:
            document = super().to_schema()
            document.setdefault("requestBody", body)
            return document

    return OperationWithBody


def media_response(media_type: str, description: str, data: Any = bytes) -> dict[int, ResponseSpec]:
    """`responses=` for a route whose 200 is not JSON: a file (bytes), or events whose data is `data`."""
    return {
        200: ResponseSpec(data_container=data, media_type=media_type, description=description, generate_examples=False)
    }


BINARY = _BINARY

__all__ = ["BINARY", "documented_body", "media_response", "struct_schema", "with_file"]
