"""Browser tests: the real app served over HTTP, driven by Debian's headless Chromium via Playwright.

One app and one browser per session (starting Chromium and loading the model cost seconds on
a small machine); every test gets a fresh browser context, so session storage (the API key)
never leaks between tests, and keys of its own where the data would otherwise mix.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable

import httpx
import pytest
from PIL import Image

from tests.service.conftest import models_dir  # noqa: F401  (the tiny model, built once per session)
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, RunningApp, running_app

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# generous: CI machines and this one are small and shared; waits end as soon as the page is ready
TIMEOUT_MS = 90_000
KEY_STORAGE = "originframe.apiKey"


@pytest.fixture(scope="session", autouse=True)
def chromium_available() -> None:
    """Skip (or, where CI demands them, fail) before anything expensive starts."""
    if CHROMIUM.exists():
        return
    if os.environ.get("ORIGINFRAME_REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(
            f"ORIGINFRAME_REQUIRE_BROWSER_TESTS=1 but {CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
        )
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver); "
        "set ORIGINFRAME_REQUIRE_BROWSER_TESTS=1 to make its absence an error"
    )


@pytest.fixture(scope="session")
def web_app(tmp_path_factory, models_dir) -> RunningApp:
    with running_app(tmp_path_factory.mktemp("web-data"), models_dir) as app:
        yield app


@pytest.fixture(scope="session")
def browser(chromium_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, web_app) -> Callable:
    """open_page(path, key=None, viewport=DESKTOP) -> a Page; script errors and CSP refusals fail the test."""
    contexts, errors = [], []

    def open_(path: str = "/", *, key: str | None = None, viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=web_app.base_url, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        if key:
            # what the key control stores once a person has entered the key in this tab
            context.add_init_script(f"sessionStorage.setItem({KEY_STORAGE!r}, {key!r})")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        # a resource the Content-Security-Policy refused would be a page that half works
        page.on(
            "console",
            lambda message: (
                errors.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def api(web_app) -> httpx.Client:
    with httpx.Client(base_url=web_app.base_url, timeout=60.0) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for_generation(client: httpx.Client, generation_id: str, key: str, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/generations/{generation_id}", headers=bearer(key)).json()
        if body["status"] in ("succeeded", "failed", "blocked", "cancelled"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"generation {generation_id} still {body['status']} after {timeout}s")
        time.sleep(0.2)


def has_no_horizontal_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def astronaut_jpeg() -> bytes:
    """A photograph of a real person: the policy holds it for review (real_person_likeness)."""
    from skimage import data as photos

    buffer = io.BytesIO()
    Image.fromarray(photos.astronaut()).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
