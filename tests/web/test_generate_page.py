"""The Generate page: progress streamed to 100 %, the clip playing in the page, refusals explained."""

from __future__ import annotations

from tests.web.conftest import bearer


def test_a_clip_is_generated_with_live_progress_and_plays_in_the_page(open_page, web_app, api):
    key = web_app.key("generate", name="app")
    page = open_page("/generate", key=key)
    # record every progress value the bar shows, to see it move rather than jump from nothing
    page.evaluate("""() => {
        window.seenProgress = [];
        const bar = document.getElementById('generation-progress');
        new MutationObserver(() => window.seenProgress.push(Number(bar.value))).observe(bar, {attributes: true});
    }""")
    page.fill("#prompt", "a lighthouse in a storm")
    page.click(".parameters summary")
    page.fill("#num_frames", "8")
    page.click("#generate-submit")

    page.locator("#generation-status", has_text="Done: 100 %").wait_for()
    assert page.locator("#generation-progress").evaluate("bar => bar.value") == 100
    assert page.locator("#generation-percent").inner_text() == "100 %"
    generation_id = page.locator("#generation-id").inner_text()
    assert page.url.endswith(f"/generate?id={generation_id}")

    video = page.locator("#generation-video")
    video.wait_for()
    assert video.get_attribute("src").startswith("blob:")  # fetched with the key, played from memory
    page.wait_for_function(
        "() => { const v = document.getElementById('generation-video'); "
        "return v.readyState >= 2 && v.duration > 0 && v.currentTime > 0.2; }"
    )
    assert page.evaluate("document.getElementById('generation-video').duration") > 0.5  # 8 frames at 8 fps

    stored = api.get(f"/v1/generations/{generation_id}", headers=bearer(key)).json()
    assert stored["status"] == "succeeded"
    download = page.locator("#generation-download")
    assert download.get_attribute("download") == f"{generation_id}.mp4"
    with page.expect_download() as saved:
        download.click()
    assert saved.value.suggested_filename == f"{generation_id}.mp4"
    with open(saved.value.path(), "rb") as file:
        assert len(file.read()) == stored["output"]["bytes"]

    summary = page.locator("#credentials-heading + dl").inner_text()
    assert "Content Credentials (C2PA)" in summary and "Watermark" in summary
    seen = page.evaluate("window.seenProgress")
    assert seen and seen[-1] == 100 and min(seen) < 100


def test_a_blocked_prompt_shows_the_policy_categories(open_page, web_app):
    page = open_page("/generate", key=web_app.key("generate", name="app"))
    page.fill("#prompt", "nude woman posing on a sofa")
    page.click("#generate-submit")
    problem = page.locator("#generate-problem .problem")
    problem.wait_for()
    assert "refused by the content policy" in problem.locator(".problem-title").inner_text()
    assert problem.locator(".chip[data-category=sexual]").is_visible()
    assert "Decision" in problem.inner_text() and "Generation" in problem.inner_text()
    assert page.locator("#generation").is_hidden()
    assert page.locator("#generate-submit").is_enabled()  # the page still works: try another prompt


def test_invalid_parameters_show_the_api_reason(open_page, web_app):
    page = open_page("/generate", key=web_app.key("generate", name="app"))
    page.fill("#prompt", "a quiet harbour at dawn")
    page.click(".parameters summary")
    page.fill("#num_frames", "100000")
    page.click("#generate-submit")
    problem = page.locator("#generate-problem .problem")
    problem.wait_for()
    assert problem.get_attribute("data-status") == "422"
    assert "num_frames" in problem.inner_text()
