"""The Review queue: a held request shown with its input and signals, approved with a reason."""

from __future__ import annotations

from tests.web.conftest import astronaut_jpeg, bearer


def hold_for_review(api, key: str) -> dict:
    """A real face as the input image: the policy holds it for a person (real_person_likeness)."""
    held = api.post(
        "/v1/generations",
        headers=bearer(key),
        files={"image": ("face.jpg", astronaut_jpeg(), "image/jpeg")},
        data={"num_frames": "4", "prompt": "the astronaut waves"},
    )
    assert held.status_code == 202 and held.json()["status"] == "review", held.text
    return held.json()


def test_a_reviewer_sees_the_held_input_and_approves_it_with_a_reason(open_page, web_app, api):
    app_key = web_app.key("generate", name="app")
    held = hold_for_review(api, app_key)

    # a key without the audit scope gets the API's reason, not a broken page
    page = open_page("/reviews", key=app_key)
    page.locator("#reviews-problem .problem").wait_for()
    assert "'audit' or 'admin' scope" in page.locator("#reviews-problem").inner_text()

    page = open_page("/reviews", key=web_app.key("audit", name="auditor"))
    item = page.locator(f"article.review:has(code:text-is('{held['id']}'))")
    item.wait_for()
    assert item.locator(".chip[data-category=real_person_likeness]").is_visible()
    assert "the astronaut waves" in item.inner_text()
    image = item.locator(".review-media img")
    image.wait_for()
    assert image.get_attribute("src").startswith("blob:")  # fetched with the key
    page.wait_for_function("img => img.complete && img.naturalWidth === 512", arg=image.element_handle())
    assert item.locator(".signals").is_visible()

    # a missing reason is the API's rule: the page shows its answer and keeps the form
    item.locator("button.approve").click()
    problem = item.locator(".review-form .problem")
    problem.wait_for()
    assert "reason" in problem.inner_text() and problem.get_attribute("data-status") == "422"

    item.locator("textarea[name=reason]").fill("model release on file for this photograph")
    item.locator("input[name=reviewer]").fill("ana")
    item.locator("button.approve").click()
    outcome = item.locator(".review-outcome")
    outcome.wait_for()
    assert "Approved." in outcome.inner_text()
    assert page.locator("#reviews-status").inner_text().endswith("approved.")

    generation = api.get(f"/v1/generations/{held['id']}", headers=bearer(app_key)).json()
    assert generation["status"] != "review"
    auditor = web_app.key("audit", name="check")
    reviews = api.get(
        "/v1/audit/decisions", params={"kind": "review", "generation_id": held["id"]}, headers=bearer(auditor)
    ).json()
    [record] = reviews["items"]
    assert record["decision"] == "allow" and record["details"]["reason"] == "model release on file for this photograph"
    assert record["details"]["reviewer"] == "ana"
    # the queue no longer lists it
    page.reload()
    page.locator("#reviews-status", has_text="waiting").or_(
        page.locator("#reviews-status", has_text="Nothing")
    ).wait_for()
    assert page.locator(f"article.review:has(code:text-is('{held['id']}'))").count() == 0
