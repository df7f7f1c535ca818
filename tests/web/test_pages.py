"""What every page shares: served by the app, navigation, the API key control, keyboard use, narrow screens."""

from __future__ import annotations

import pytest

from tests.web.conftest import KEY_STORAGE, PHONE, has_no_horizontal_overflow

PAGES = [("/", "Verify"), ("/generate", "Generate"), ("/reviews", "Review queue"), ("/audit", "Audit")]


@pytest.mark.parametrize("path,title", PAGES)
def test_each_page_is_served_with_its_assets_and_navigation(open_page, api, path, title):
    response = api.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert (
        "http://" not in response.text.replace("http://www.w3.org", "") and "https://" not in response.text
    )  # nothing external

    page = open_page(path)
    statuses = {}
    page.on(
        "response", lambda reply: statuses.update({reply.url: reply.status}) if "/web/static/" in reply.url else None
    )
    page.reload()
    page.wait_for_load_state("networkidle")
    assert any(url.split("?")[0].endswith("/app.css") for url in statuses) and set(statuses.values()) <= {200, 304}
    assert page.evaluate("typeof window.Originframe.api") == "function"  # the scripts ran
    assert page.title() == f"{title} · Originframe"
    assert page.locator("h1").inner_text() == title
    current = page.locator("nav a[aria-current=page]")
    assert current.count() == 1 and current.inner_text() == title
    # without a key the page says what it needs instead of failing
    assert page.locator("#key-form").is_visible()


def test_the_api_key_is_entered_once_per_tab_and_can_be_forgotten(open_page, web_app):
    key = web_app.key("generate", "verify", name="newsroom")
    page = open_page("/generate")

    page.fill("#key-input", "of_not_a_real_key")
    page.press("#key-input", "Enter")
    page.locator("#key-problem .problem").wait_for()
    assert "unknown or revoked" in page.locator("#key-problem").inner_text()
    assert page.evaluate(f"sessionStorage.getItem({KEY_STORAGE!r})") is None

    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    page.locator("#key-scopes", has_text="scopes: generate, verify").wait_for()
    assert "newsroom" in page.locator("#key-status").inner_text()
    assert page.locator("#key-input").input_value() == ""  # the secret does not linger in the form

    page.click("nav a:text('Audit')")
    page.wait_for_url("**/audit")
    page.locator("#key-scopes", has_text="scopes: generate, verify").wait_for()  # still set in this tab
    # this key has no audit scope: the page shows the API's reason
    page.locator("#audit-problem .problem").wait_for()
    assert "no 'audit' scope" in page.locator("#audit-problem").inner_text()

    page.click("#key-forget")
    assert page.locator("#key-form").is_visible()
    assert page.evaluate(f"sessionStorage.getItem({KEY_STORAGE!r})") is None
    assert page.evaluate("document.activeElement.id") == "key-input"


def test_keyboard_users_can_skip_to_the_content_and_reach_the_file_picker(open_page):
    page = open_page("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#main'")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "verify-file":
            break
    else:
        raise AssertionError("the file picker of the Verify page is not reachable with Tab")
    # the focused control has a visible focus indicator on its drop zone
    outline = page.evaluate("getComputedStyle(document.getElementById('dropzone')).outlineStyle")
    assert outline == "solid"


@pytest.mark.parametrize("path,title", PAGES)
def test_pages_fit_a_phone_screen(open_page, web_app, path, title):
    page = open_page(path, key=web_app.key("admin", name="phone"), viewport=PHONE)
    page.wait_for_load_state("networkidle")
    assert has_no_horizontal_overflow(page)
    # the navigation stays usable: every link visible without scrolling sideways
    for link in page.locator("nav a").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
