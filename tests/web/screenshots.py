"""Write docs/screenshots/{verify,generate,reviews,audit}-{desktop,phone}.png from the real pages.

    .venv/bin/python -m tests.web.screenshots [--out docs/screenshots]

Starts the app on a throwaway data directory with the tiny model, makes real data through the
pages and the API (a generated clip, a refused prompt, a request held for review), then
photographs each page at desktop (1280×800) and phone (390×844) size. The Verify page shows a
real verification of the generated clip when POST /v1/verify exists, its empty state otherwise.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import sync_playwright

from tests.web.conftest import DESKTOP, KEY_STORAGE, PHONE, astronaut_jpeg, bearer, wait_for_generation
from tests.web.server import CHROMIUM, CHROMIUM_ARGS, running_app

MAX_BYTES = 300 * 1024
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def save_small_png(png: bytes, path: Path) -> int:
    """Keep screenshots light in the repository: quantise to a palette when a PNG is too big."""
    if len(png) > MAX_BYTES:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        for colours in (256, 128, 64):
            buffer = io.BytesIO()
            image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                buffer, format="PNG", optimize=True
            )
            png = buffer.getvalue()
            if len(png) <= MAX_BYTES:
                break
    path.write_bytes(png)
    return len(png)


def make_data(base_url: str, key: str, clip_path: Path) -> bool:
    """Decisions for the audit log, a held review, and a clip; True when /v1/verify exists."""
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        for prompt in ("a paper boat on a pond", "hardcore porn scene"):
            client.post("/v1/screenings", json={"prompt": prompt}, headers=bearer(key))
        client.post("/v1/generations", json={"prompt": "nude woman posing on a sofa"}, headers=bearer(key))
        client.post(
            "/v1/generations",
            headers=bearer(key),
            files={"image": ("face.jpg", astronaut_jpeg(), "image/jpeg")},
            data={"prompt": "the astronaut waves at the camera", "num_frames": "8"},
        )
        created = client.post(
            "/v1/generations", json={"prompt": "a red fox walking through fresh snow"}, headers=bearer(key)
        )
        generation = wait_for_generation(client, created.json()["id"], key)
        clip_path.write_bytes(client.get(generation["links"]["video"], headers=bearer(key)).content)
        return client.post("/v1/verify", headers=bearer(key)).status_code not in (404, 405)


def shoot(out: Path) -> list[tuple[Path, int]]:
    from service.backends import tiny

    written = []
    with tempfile.TemporaryDirectory(prefix="originframe-shots-") as folder:
        folder = Path(folder)
        tiny.build(folder / "models" / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
        with running_app(folder / "data", folder / "models") as app, sync_playwright() as playwright:
            key = app.key("admin", name="newsroom desk")
            clip = folder / "fox.mp4"
            verify_exists = make_data(app.base_url, key, clip)
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for size, viewport in VIEWPORTS.items():
                context = browser.new_context(viewport=viewport, base_url=app.base_url, device_scale_factor=1)
                context.set_default_timeout(120_000)
                context.add_init_script(f"sessionStorage.setItem({KEY_STORAGE!r}, {key!r})")
                page = context.new_page()

                page.goto("/")
                page.locator("#key-scopes", has_text="scopes").wait_for()
                if verify_exists:
                    page.set_input_files("#verify-file", str(clip))
                    page.locator("#verify-result:not([hidden]) .verdict").wait_for()
                    page.locator("#verify-result").evaluate("node => node.scrollIntoView({block: 'start'})")
                written.append(_take(page, out / f"verify-{size}.png"))

                page.goto("/generate")
                page.fill("#prompt", "a lighthouse in a storm, waves breaking over the rocks")
                page.click("#generate-submit")
                page.wait_for_function(
                    "() => { const v = document.getElementById('generation-video'); return v && v.readyState >= 2; }"
                )
                page.evaluate(
                    "() => { const v = document.getElementById('generation-video'); v.pause(); v.currentTime = 0.5; }"
                )
                if size == "phone":
                    page.locator("#generation").evaluate("node => node.scrollIntoView({block: 'start'})")
                written.append(_take(page, out / f"generate-{size}.png"))

                page.goto("/reviews")
                page.locator("article.review .review-media img").first.wait_for()
                page.wait_for_function("() => [...document.images].every((img) => img.complete)")
                if size == "phone":
                    page.locator("article.review").first.evaluate("node => node.scrollIntoView({block: 'start'})")
                written.append(_take(page, out / f"reviews-{size}.png"))

                page.goto("/audit")
                page.locator("#audit-table[data-loaded]").wait_for()
                page.locator("#chain-status .chain-ok").wait_for()
                if size == "phone":
                    page.locator("#audit-status").evaluate("node => node.scrollIntoView({block: 'start'})")
                else:
                    page.locator("#chain-heading").evaluate("node => node.scrollIntoView({block: 'start'})")
                written.append(_take(page, out / f"audit-{size}.png"))
                context.close()
            browser.close()
    return written


def _take(page, path: Path) -> tuple[Path, int]:
    page.wait_for_timeout(300)  # let the last layout (chart redraws, image decode) settle
    return path, save_small_png(page.screenshot(), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "docs" / "screenshots")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    for path, size in shoot(arguments.out):
        print(f"{path}  {size // 1024} KB")


if __name__ == "__main__":
    main()
