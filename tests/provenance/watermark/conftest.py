import cv2
import numpy as np
import pytest

from provenance.watermark import Keyring, WatermarkKey


def _pan(image: np.ndarray, frames: int, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    h, w = image.shape[:2]
    view = min(w, h * width / height) * 0.7
    out = []
    for index in range(frames):
        cx = view / 2 + (w - view) * (0.2 + 0.6 * index / max(frames - 1, 1))
        scale = width / view
        matrix = np.float32([[scale, 0, width / 2 - scale * cx], [0, scale, height / 2 - scale * h / 2]])
        out.append(cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


@pytest.fixture(scope="session")
def photo_clip() -> np.ndarray:
    """8 frames panning over a photograph, 640x360 (the mark scales with the picture; smaller
    frames carry it in fewer pixels and are less robust to codecs)."""
    import skimage.data

    return _pan(skimage.data.coffee(), 8, (640, 360))


@pytest.fixture(scope="session")
def other_photo_clip() -> np.ndarray:
    import skimage.data

    return _pan(skimage.data.astronaut(), 6, (320, 240))


@pytest.fixture(scope="session")
def key() -> WatermarkKey:
    return WatermarkKey(1, bytes(range(32)))


@pytest.fixture(scope="session")
def keyring(key: WatermarkKey) -> Keyring:
    return Keyring([key])
