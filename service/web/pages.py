"""The page routes and the static assets they load, as one Litestar Router."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from service.web.render import STATIC_DIR, render_page

# Everything the pages need comes from this origin; blob: carries the authenticated video and
# input images, which cannot be fetched by a plain src because it cannot send the API key.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _page(name: str) -> Response:
    return Response(content=render_page(name), media_type="text/html; charset=utf-8", headers=_SECURITY_HEADERS)


@get("/", include_in_schema=False, name="web-verify")
async def verify_page() -> Response:
    return _page("verify")


@get("/generate", include_in_schema=False, name="web-generate")
async def generate_page() -> Response:
    return _page("generate")


@get("/reviews", include_in_schema=False, name="web-reviews")
async def reviews_page() -> Response:
    return _page("reviews")


@get("/audit", include_in_schema=False, name="web-audit")
async def audit_page() -> Response:
    return _page("audit")


def _static_router() -> Router:
    # asset URLs carry a content hash (see render.asset_url), so browsers may keep them a day
    return create_static_files_router(
        path="/web/static",
        directories=[Path(STATIC_DIR)],
        name="web-static",
        cache_control=CacheControlHeader(max_age=86400),
        include_in_schema=False,
    )


web_router = Router(
    path="/",
    route_handlers=[verify_page, generate_page, reviews_page, audit_page, _static_router()],
    include_in_schema=False,
    tags=["web"],
)
