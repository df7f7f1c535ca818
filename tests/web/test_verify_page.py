"""The Verify page: upload a clip, see the verdict banner, the evidence and the watermark chart.

The tests that need verdicts run as soon as POST /v1/verify is part of the app; until then
they skip with that reason (only a 404 or 405 from the route means "not there yet").
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data as photos

from provenance.media import decode_video, encode_mp4_bytes
from tests.web.conftest import bearer, wait_for_generation


@pytest.fixture(scope="module")
def verify_key(web_app) -> str:
    return web_app.key("verify", name="newsroom")


@pytest.fixture(scope="module")
def verify_endpoint(web_app, verify_key) -> None:
    with httpx.Client(base_url=web_app.base_url, timeout=60.0) as client:
        status = client.post("/v1/verify", headers=bearer(verify_key)).status_code
    if status in (404, 405):
        pytest.skip(f"POST /v1/verify is not in the app yet (it answered {status}); these tests run once it is")


@pytest.fixture(scope="module")
def generated_clip(web_app, tmp_path_factory) -> tuple[Path, dict]:
    key = web_app.key("generate", name="maker")
    with httpx.Client(base_url=web_app.base_url, timeout=60.0) as client:
        created = client.post(
            "/v1/generations",
            json={"prompt": "a red fox walking through fresh snow", "num_frames": 16},
            headers=bearer(key),
        )
        assert created.status_code == 202, created.text
        generation = wait_for_generation(client, created.json()["id"], key)
        assert generation["status"] == "succeeded", generation
        video = client.get(generation["links"]["video"], headers=bearer(key))
    path = tmp_path_factory.mktemp("clips") / "from-originframe.mp4"
    path.write_bytes(video.content)
    return path, generation


def verdict_of(page, path: Path) -> dict:
    """Upload a file through the page's picker; return the report the page offers for download."""
    page.set_input_files("#verify-file", str(path))
    page.locator("#verify-result:not([hidden]) .verdict").wait_for()
    with page.expect_download() as saved:
        page.click("#report-download")
    return json.loads(Path(saved.value.path()).read_text())


def test_a_file_the_service_cannot_verify_shows_the_api_reason(open_page, web_app, api, verify_key, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a video\n")
    answer = api.post(
        "/v1/verify", headers=bearer(verify_key), files={"file": ("notes.txt", notes.read_bytes(), "text/plain")}
    )
    assert 400 <= answer.status_code < 500

    page = open_page("/", key=verify_key)
    page.set_input_files("#verify-file", str(notes))
    problem = page.locator("#verify-problem .problem")
    problem.wait_for()
    assert problem.get_attribute("data-status") == str(answer.status_code)
    assert problem.locator(".problem-title").inner_text() == answer.json()["title"]
    assert page.locator("#verify-result").is_hidden()
    assert page.locator("#verify-progress").is_hidden() and page.locator("#verify-file").is_enabled()


def test_a_generated_clip_is_generated_here_with_the_watermark_chart(
    open_page, verify_key, verify_endpoint, generated_clip
):
    path, generation = generated_clip
    page = open_page("/", key=verify_key)
    report = verdict_of(page, path)

    banner = page.locator("#verify-result .verdict")
    assert banner.get_attribute("data-verdict") == report["verdict"] == "generated_here"
    assert page.locator("#verdict-heading").inner_text() == "Generated here"
    assert page.locator("#verify-status").inner_text() == "Verdict: Generated here."
    chart = page.locator("#watermark-chart svg")
    assert chart.is_visible()
    assert chart.locator("circle").count() == len(report["watermark"]["frame_scores"]) > 0
    assert chart.locator("line.threshold").count() == 1
    assert report["media"]["sha256"] in page.locator("#evidence-media").locator("xpath=..").inner_text()
    linked = report.get("generation") or {}
    if linked.get("visible") is not False and linked.get("id"):
        assert linked["id"] == generation["id"]


def test_a_reencoded_clip_is_still_recognised(open_page, verify_key, verify_endpoint, generated_clip, tmp_path):
    path, _generation = generated_clip
    decoded = decode_video(path.read_bytes())
    reencoded = tmp_path / "reencoded.mp4"
    # CRF 23, x264's default: what an ordinary re-save does (the C2PA manifest does not survive it)
    reencoded.write_bytes(encode_mp4_bytes(decoded.frames, fps=decoded.fps, crf=23, preset="veryfast"))

    page = open_page("/", key=verify_key)
    report = verdict_of(page, reencoded)
    assert page.locator("#verdict-heading").inner_text() == "Generated here"
    assert report["verdict"] == "generated_here" and report["strongest_evidence"] != "manifest"
    # re-encoding drops the C2PA manifest; the page says so instead of showing stale credentials
    assert "No Content Credentials" in page.locator("#evidence-manifest").locator("xpath=..").inner_text()
    assert page.locator("#watermark-chart svg").is_visible()


def test_a_clip_inside_longer_footage_shows_where_it_is(
    open_page, verify_key, verify_endpoint, generated_clip, tmp_path
):
    """Issue 13: the page lists the marked time range and shades it on the chart, at its place in the file."""
    path, _ = generated_clip
    clip = decode_video(path.read_bytes())
    height, width = clip.frames.shape[1:3]
    photo = np.asarray(Image.fromarray(photos.coffee()).resize((width + 64, height)))
    other = np.stack([photo[:, shift : shift + width] for shift in range(0, 64, 4)])  # 16 frames of a pan
    longer = np.concatenate([other, clip.frames, other[::-1]])  # 2 s, then the 2 s clip, then 2 s
    suspect = tmp_path / "compilation.mp4"
    suspect.write_bytes(encode_mp4_bytes(longer, fps=clip.fps, crf=23, preset="veryfast"))

    page = open_page("/", key=verify_key)
    report = verdict_of(page, suspect)
    segments = report["watermark"]["segments"]
    assert report["watermark"]["detected"] and len(segments) == 1
    start, end = segments[0]["start_s"], segments[0]["end_s"]
    clip_start, clip_end = len(other) / clip.fps, (len(other) + len(clip.frames)) / clip.fps
    assert abs(start - clip_start) < 0.75 and abs(end - clip_end) < 0.75, (start, end)
    listed = page.locator(".watermark-segments li")
    assert listed.count() == 1 and segments[0]["identifier"] in listed.inner_text()
    band = page.locator("#watermark-chart svg rect.band")
    assert band.count() == 1
    # the band sits in the middle of the chart's time axis, where the clip is, not at its start
    box, plot = band.bounding_box(), page.locator("#watermark-chart svg").bounding_box()
    middle = (box["x"] + box["width"] / 2 - plot["x"]) / plot["width"]
    assert 0.3 < middle < 0.7, middle


def test_an_unrelated_clip_has_no_evidence(open_page, verify_key, verify_endpoint, tmp_path):
    photo = np.asarray(Image.fromarray(photos.astronaut()).resize((256, 256)))
    frames = np.stack([np.roll(photo, shift, axis=1) for shift in range(0, 32, 4)])
    unrelated = tmp_path / "unrelated.mp4"
    unrelated.write_bytes(encode_mp4_bytes(frames, fps=8, crf=20, preset="veryfast"))

    page = open_page("/", key=verify_key)
    report = verdict_of(page, unrelated)
    assert report["verdict"] == "no_evidence"
    assert page.locator("#verdict-heading").inner_text() == "No evidence"
    assert "authentic" not in page.locator("#verify-result").inner_text().lower()


# -- manifests from a second, foreign CA (issue 17) -------------------------------------------------


@pytest.fixture(scope="module")
def foreign_files(tmp_path_factory) -> dict[str, Path]:
    """Files another party signed: valid but untrusted here, expired, content changed, claim changed."""
    import datetime as dt

    from tests.foreign_ca import change_claim, change_content, foreign_signer, sign_foreign

    photo = np.asarray(Image.fromarray(photos.rocket()).resize((320, 192)))
    frames = np.stack([np.roll(photo, shift, axis=1) for shift in range(0, 48, 4)])
    clip = encode_mp4_bytes(frames, fps=8, crf=23, preset="veryfast")
    elsewhere = foreign_signer("Elsewhere Labs")
    signed = sign_foreign(clip, "video/mp4", elsewhere)
    short_lived = foreign_signer("Old Labs", valid_for=dt.timedelta(seconds=2))
    expired = sign_foreign(clip, "video/mp4", short_lived)
    folder = tmp_path_factory.mktemp("foreign")
    files = {"untrusted": signed, "content": change_content(signed), "claim": change_claim(signed), "expired": expired}
    for name, data in files.items():
        (folder / f"{name}.mp4").write_bytes(data)
    short_lived.wait_until_expired()  # c2pa signs only with a valid certificate: let it expire after signing
    return {name: folder / f"{name}.mp4" for name in files}


def _manifest_card(page):
    return page.locator("#evidence-manifest").locator("xpath=..")


def _causes(page) -> dict[str, str]:
    items = _manifest_card(page).locator("ul.causes li.failure")
    return {items.nth(i).get_attribute("data-code"): items.nth(i).inner_text() for i in range(items.count())}


def _content_changed_row(page) -> str:
    return _manifest_card(page).locator("dt:has-text('Content changed after signing') + dd").inner_text()


def test_an_untrusted_signer_says_so_and_names_the_trust_list(open_page, verify_key, verify_endpoint, foreign_files):
    page = open_page("/", key=verify_key)
    report = verdict_of(page, foreign_files["untrusted"])
    assert report["verdict"] == "generated_elsewhere_ai"
    assert page.locator("#verdict-heading").inner_text() == "AI-generated elsewhere"
    card = _manifest_card(page)
    assert card.locator("p.trust").get_attribute("data-state") == "untrusted"
    causes = _causes(page)
    assert list(causes) == report["manifest"]["failure_codes"] == ["signingCredential.untrusted"]
    assert "only roots trusted here are this service's own root" in causes["signingCredential.untrusted"]
    assert _content_changed_row(page).startswith("no")
    assert "tamper" not in page.locator("#verify-result").inner_text().lower()


def test_an_expired_certificate_is_never_described_as_tampering(open_page, verify_key, verify_endpoint, foreign_files):
    page = open_page("/", key=verify_key)
    report = verdict_of(page, foreign_files["expired"])
    assert (
        report["manifest"]["validation_state"] == "Invalid"
        and "signingCredential.expired" in report["manifest"]["failure_codes"]
    )
    assert report["verdict"] == "generated_elsewhere_ai"
    card = _manifest_card(page)
    assert card.locator("p.trust").get_attribute("data-state") == "credential_problem"
    causes = _causes(page)
    assert set(causes) == set(report["manifest"]["failure_codes"])
    assert (
        "expired" in causes["signingCredential.expired"]
        and "no trusted timestamp" in causes["signingCredential.expired"]
    )
    assert _content_changed_row(page).startswith("no")
    text = page.locator("#verify-result").inner_text().lower()
    assert "tamper" not in text and "the content or the manifest changed" not in text
    assert "tamper" not in report["summary"].lower()


@pytest.mark.parametrize(
    "name, cause, code",
    [
        ("content", "content_changed", "assertion.bmffHash.mismatch"),
        ("claim", "claim_changed", "claimSignature.mismatch"),
    ],
)
def test_a_changed_file_names_what_changed(open_page, verify_key, verify_endpoint, foreign_files, name, cause, code):
    page = open_page("/", key=verify_key)
    report = verdict_of(page, foreign_files[name])
    assert report["verdict"] == "tampered" and page.locator("#verdict-heading").inner_text() == "Tampered"
    card = _manifest_card(page)
    assert card.locator("p.trust").get_attribute("data-state") == "changed"
    assert card.locator(f"ul.causes li[data-code='{code}']").get_attribute("data-cause") == cause
    other = {"content_changed": "claim_changed", "claim_changed": "content_changed"}[cause]
    assert card.locator(f"ul.causes li[data-cause='{other}']").count() == 0
    assert _content_changed_row(page).startswith("yes" if name == "content" else "no")


def test_an_unmarked_clip_shows_no_detections_on_its_chart(open_page, verify_key, verify_endpoint, foreign_files):
    page = open_page("/", key=verify_key)
    report = verdict_of(page, foreign_files["untrusted"])
    mark = report["watermark"]
    assert not mark["detected"]
    chart = page.locator("#watermark-chart svg")
    assert chart.locator("circle").count() == len(mark["frame_scores"]) > 0
    # a filled dot is a frame at or above the stated per-frame threshold, and none of an unmarked clip's are
    above = sum(score >= mark["frame_threshold"] for score in mark["frame_scores"])
    assert chart.locator("circle.pass").count() == above == 0
    caption = page.locator("#watermark-chart figcaption").inner_text()
    assert f"per-frame threshold {mark['frame_threshold']}" in caption and "probability below" in caption
    decision = page.locator("#evidence-watermark").locator("xpath=..").locator(".clip-decision")
    assert decision.get_attribute("data-detected") == "false" and "not detected" in decision.inner_text()


def test_a_resemblance_alone_reads_as_resemblance_and_never_outranks_a_foreign_manifest(
    open_page, web_app, verify_key, verify_endpoint, tmp_path
):
    from tests.foreign_ca import foreign_signer, sign_foreign

    photo = np.asarray(Image.fromarray(photos.coffee()).resize((384, 256)))
    frames = np.stack([np.roll(photo, shift, axis=1) for shift in range(0, 96, 6)])
    # registered as the service registers a generation, as if it had been made from this footage
    web_app.runtime.provenance.fingerprints.register("lookalike-web", frames, 8.0)
    footage = tmp_path / "footage.mp4"
    footage.write_bytes(encode_mp4_bytes(frames, fps=8, crf=23, preset="veryfast"))
    page = open_page("/", key=verify_key)
    report = verdict_of(page, footage)
    assert report["verdict"] == "resembles_generated_here" and report["generation_id"] == "lookalike-web"
    assert page.locator("#verdict-heading").inner_text() == "Resembles a clip generated here"
    fingerprint_card = page.locator("#evidence-fingerprint").locator("xpath=..").inner_text()
    assert "Resembles a clip this service generated" in fingerprint_card and "not proof" in fingerprint_card
    assert "Frames of the generation" in fingerprint_card

    signed = tmp_path / "signed-elsewhere.mp4"
    signed.write_bytes(sign_foreign(footage.read_bytes(), "video/mp4", foreign_signer("Elsewhere Labs")))
    page = open_page("/", key=verify_key)
    report = verdict_of(page, signed)
    assert report["verdict"] == "generated_elsewhere_ai" and report["fingerprint"]["matched"]
    assert page.locator("#verdict-heading").inner_text() == "AI-generated elsewhere"
    assert "does not outweigh" in page.locator(".verdict-summary").inner_text()
