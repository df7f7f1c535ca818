"""Rendering the page templates (Jinja2), done once per page and process."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from service import __version__
from service.digests import sha256_hex

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"

# page name -> (title, path); the order is the navigation's
PAGES = {
    "verify": ("Verify", "/"),
    "generate": ("Generate", "/generate"),
    "reviews": ("Review queue", "/reviews"),
    "audit": ("Audit", "/audit"),
}


@functools.cache
def asset_url(relative: str) -> str:
    """The URL of a static file with a digest of its content, so a new release is never served stale."""
    digest = sha256_hex((STATIC_DIR / relative).read_bytes())[:12]
    return f"/web/static/{relative}?v={digest}"


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(asset=asset_url, pages=PAGES, version=__version__)
    return environment


@functools.cache
def render_page(name: str) -> str:
    if name not in PAGES:
        raise KeyError(f"no page {name!r}")
    return _environment().get_template(f"{name}.html").render(page=name, title=PAGES[name][0])
