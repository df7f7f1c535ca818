"""How the verifier reads other generators' Content Credentials: an evaluation set of foreign files.

Builds files the way other services sign them (c2pa-python, a foreign test CA made here, see
tests/provenance/foreign_signer.py) — AI labels at different places in the history, non-AI
source types, tampered histories and damaged containers — runs each through
``provenance.verify_clip`` and prints expected against found verdicts, with the time per file
(median of --repeat runs).

    python bench/credentials_eval.py [--repeat 3]

Run it against another checkout's ``provenance`` by putting that checkout first on PYTHONPATH
(the file builder is always loaded from this checkout), e.g. to compare with main.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import io
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

# bench/provenance.py would shadow the package; the checkout under test comes from PYTHONPATH,
# this one is the fallback
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.append(str(_HERE.parent))

from provenance.media import encode_mp4_bytes  # noqa: E402
from provenance.verify import verify_clip  # noqa: E402
from provenance.watermark import Keyring  # noqa: E402

_BUILDER = Path(__file__).resolve().parents[1] / "tests" / "provenance" / "foreign_signer.py"
_spec = importlib.util.spec_from_file_location("foreign_signer", _BUILDER)
fs = importlib.util.module_from_spec(_spec)
sys.modules["foreign_signer"] = fs  # dataclasses look their module up while the class is built
_spec.loader.exec_module(fs)

AI, NONE, TAMPERED = "generated_elsewhere_ai", "no_evidence", "tampered"


def _image(seed: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def _video(seed: int) -> bytes:
    base = np.random.default_rng(seed).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    return encode_mp4_bytes(np.stack([np.roll(base, 2 * i, axis=1) for i in range(10)]), fps=10)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _c2pa_box(data: bytes) -> bytes:
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"uuid" and data[offset + 8 : offset + 24].hex() == "d8fec3d61b0e483c92975828877ec481":
            return data[offset : offset + size]
        offset += size
    raise ValueError("no manifest store")


def cases() -> list[tuple[str, str, bytes]]:
    lab, camera, editor = fs.foreign_ca("Eval Gen Lab"), fs.foreign_ca("Eval Camera"), fs.foreign_ca("Eval Editor")
    png, jpeg, mp4 = "image/png", "image/jpeg", "video/mp4"
    made = []

    def add(name: str, expected: str, data: bytes) -> None:
        made.append((name, expected, data))

    add("created trainedAlgorithmicMedia (PNG)", AI, fs.created(_image(1), png, lab))
    add("created trainedAlgorithmicMedia (JPEG)", AI, fs.created(_image(2, "JPEG"), jpeg, lab))
    add("created trainedAlgorithmicMedia (MP4)", AI, fs.created(_video(3), mp4, lab))
    add(
        "created compositeWithTrainedAlgorithmicMedia",
        AI,
        fs.created(_image(4), png, lab, "compositeWithTrainedAlgorithmicMedia"),
    )
    add("created algorithmicMedia", AI, fs.created(_image(5), png, lab, "algorithmicMedia"))
    for i, source in enumerate(
        ["digitalCapture", "digitalArt", "minorHumanEdits", "compositeCapture", "compositeSynthetic"]
    ):
        add(f"created {source}", NONE, fs.created(_image(10 + i), png, camera, source))
    ai_still = fs.created(_image(20), png, lab)
    add("opened, AI parentOf (ChatGPT style)", AI, fs.opened_with_parent(ai_still, png, editor))
    add(
        "opened, opened, AI grandparent",
        AI,
        fs.opened_with_parent(fs.opened_with_parent(ai_still, png, editor), png, editor),
    )
    capture = fs.created(_image(21), png, camera, "digitalCapture")
    add("capture, opened + edited composite AI", AI, fs.opened_with_parent(capture, png, editor, edits=[fs.ai_edit()]))
    add(
        "capture, opened + edited trained AI",
        AI,
        fs.opened_with_parent(capture, png, editor, edits=[fs.ai_edit("trainedAlgorithmicMedia")]),
    )
    add(
        "capture, opened + edited algorithmicallyEnhanced",
        NONE,
        fs.opened_with_parent(capture, png, editor, edits=[fs.ai_edit("algorithmicallyEnhanced")]),
    )
    add("capture, opened only", NONE, fs.opened_with_parent(capture, png, editor))
    placed = {"action": "c2pa.placed", "parameters": {"ingredientIds": ["sticker"]}}
    composite = fs.sign(
        capture,
        png,
        fs._definition(
            "Eval Compositor", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}, placed]
        ),
        editor,
        [
            ({"title": "parent", "relationship": "parentOf", "label": "parent"}, png, capture),
            ({"title": "sticker", "relationship": "componentOf", "label": "sticker"}, png, ai_still),
        ],
    )
    add("capture + AI componentOf placed", AI, composite)
    conditioned = fs.sign(
        _image(22),
        png,
        fs._definition(
            "Eval Art App",
            [
                {
                    "action": "c2pa.created",
                    "digitalSourceType": fs.IPTC + "digitalArt",
                    "parameters": {"ingredientIds": ["reference"]},
                }
            ],
        ),
        editor,
        [({"title": "reference", "relationship": "inputTo", "label": "reference"}, png, ai_still)],
    )
    add("digitalArt with an AI inputTo reference", NONE, conditioned)
    broken = bytearray(fs.created(_image(23), png, lab, generator="Eval Image Model"))
    broken[broken.find(b"Eval Image Model") + 3] ^= 0x01
    add("opened, tampered AI parent", NONE, fs.opened_with_parent(bytes(broken), png, editor))
    video = fs.created(_video(30), mp4, lab)
    add("AI MP4 + 3 bytes", TAMPERED, video + b"abc")
    add("AI MP4 + 1000 bytes", TAMPERED, video + b"\0" * 1000)
    add("AI MP4 + second manifest store", TAMPERED, video + _c2pa_box(video))
    add("AI MP4 cut to 90 %", TAMPERED, video[: int(len(video) * 0.9)])
    add("AI MP4 + free box after ftyp", TAMPERED, video[:32] + _box(b"free", b"x" * 1024) + video[32:])
    add("AI MP4 + free box at the end (excluded by its signer)", AI, video + _box(b"free", b"x" * 1024))
    add("AI PNG + 3 bytes after IEND", TAMPERED, ai_still + b"abc")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keyring = Keyring.load_or_create(Path(tempfile.mkdtemp()) / "keys")
    supports_trust = "trust" in inspect.signature(verify_clip).parameters
    rows, right = [], 0
    for name, expected, data in cases():
        times, verdict = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            try:
                verdict = verify_clip(data, keyring=keyring, trust_anchors_pem=None, max_frames=8).verdict
            except Exception as error:  # an evaluation records every failure
                verdict = f"error: {type(error).__name__}"
            times.append((time.perf_counter() - started) * 1000)
        right += verdict == expected
        rows.append((name, expected, verdict, statistics.median(times)))
    print(f"provenance from {sys.modules['provenance'].__path__[0]} (trust lists supported: {supports_trust})")
    print("| file | expected | found | ok | median ms |\n| --- | --- | --- | --- | --- |")
    for name, expected, verdict, ms in rows:
        print(f"| {name} | {expected} | {verdict} | {'yes' if verdict == expected else '**no**'} | {ms:.1f} |")
    print(f"\n{right}/{len(rows)} right")


if __name__ == "__main__":
    main()
