"""Signing and fingerprint timing: the C2PA and fingerprint share of the per-clip provenance cost.

For a 25-frame 1024x576 H.264 MP4 (a pan over a photograph, encoded by provenance.media as the
service does): median time to sign a C2PA manifest into it (with and without an input-image
ingredient, thumbnails off and on), to compute its fingerprint, and to read and validate the
manifest, each against the H.264 encode of the same clip in the same process (the ratio column).

    python bench/provenance_sign.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import msgspec
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provenance.credentials import SigningCredentials
from provenance.fingerprint import FINGERPRINT_ALGORITHM, compute_fingerprint
from provenance.manifest import InputImage, ManifestInfo, read_manifest, sign_mp4
from provenance.media import encode_mp4_bytes

WIDTH, HEIGHT, FRAMES, FPS = 1024, 576, 25, 8


def clip() -> np.ndarray:
    import skimage.data

    image = cv2.resize(skimage.data.astronaut(), (1400, 1400), interpolation=cv2.INTER_CUBIC)
    return np.stack(
        [
            np.ascontiguousarray(image[200 + 6 * i : 200 + 6 * i + HEIGHT, 100 + 8 * i : 100 + 8 * i + WIDTH])
            for i in range(FRAMES)
        ]
    )


def median_ms(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    frames = clip()
    with tempfile.TemporaryDirectory() as folder:
        credentials = SigningCredentials.load_or_create_development(Path(folder))
        anchors = credentials.trust_anchors_pem()
        encode_ms, video = median_ms(lambda: encode_mp4_bytes(frames, fps=FPS), max(3, args.repeats // 3))
        fingerprint_ms, fingerprint = median_ms(lambda: compute_fingerprint(frames, fps=FPS), args.repeats)
        info = ManifestInfo(
            generation_id="gen_bench",
            model_id="stabilityai/stable-video-diffusion-img2vid-xt",
            model_version="1.1",
            parameters_digest="sha256:" + "0" * 64,
            policy_version="policy-1",
            decision_id="dec_bench",
            watermark_algorithm="originframe.wm.v1",
            watermark_value="k1:0123456789abcdef",
            fingerprint_algorithm=FINGERPRINT_ALGORITHM,
            fingerprint_value=fingerprint.soft_binding_value(),
        )
        buffer = io.BytesIO()
        Image.fromarray(frames[0]).save(buffer, "JPEG", quality=90)
        with_input = msgspec.structs.replace(info, input_image=InputImage(data=buffer.getvalue(), mime="image/jpeg"))

        rows = [("H.264 encode, 25 frames (baseline)", encode_ms, len(video))]
        sign_ms, signed = median_ms(lambda: sign_mp4(video, info, credentials), args.repeats)
        rows.append(("C2PA sign (no ingredient)", sign_ms, len(signed) - len(video)))
        ms, with_ingredient = median_ms(lambda: sign_mp4(video, with_input, credentials), args.repeats)
        rows.append(("C2PA sign, input image ingredient", ms, len(with_ingredient) - len(video)))
        ms, with_thumbnails = median_ms(lambda: sign_mp4(video, with_input, credentials, thumbnails=True), args.repeats)
        rows.append(("C2PA sign, ingredient + thumbnails", ms, len(with_thumbnails) - len(video)))
        rows.append(("fingerprint (25 frames, 4 variants)", fingerprint_ms, len(fingerprint.to_bytes())))
        ms, report = median_ms(lambda: read_manifest(signed, "video/mp4", anchors), args.repeats)
        assert report.validation_state == "Trusted", report.validation_state
        rows.append(("C2PA read + validate (trusted)", ms, None))
        ms, _ = median_ms(lambda: read_manifest(video, "video/mp4", anchors), args.repeats)
        rows.append(("C2PA read, no manifest", ms, None))

    print(f"Clip: {FRAMES} frames {WIDTH}x{HEIGHT}, H.264 CRF 18 ({len(video):,} bytes); median of {args.repeats} runs")
    print(f"{'step':38s} {'median ms':>10s} {'x encode':>9s} {'bytes added':>12s}")
    for name, ms, size in rows:
        print(f"{name:38s} {ms:>10.1f} {ms / encode_ms:>9.3f} {size if size is not None else '':>12}")
    print("(2 shared CPU cores with other work running: timings are noisy)")


if __name__ == "__main__":
    main()
