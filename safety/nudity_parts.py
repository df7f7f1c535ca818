"""A second nudity signal: exposed body parts found by NudeNet's ONNX detector (optional extra).

open_nsfw scores a whole picture; a part detector says what is exposed and where, which holds
up on a small nude figure in a large frame and on crops that open_nsfw's centre crop cuts off.
The only PyPI package found that ships such a detector with its weights is `nudenet`, which is
AGPL-3.0: it is the optional extra `nudity-parts`, never a default dependency. The signal is
off unless `ImageSignalConfig.nudity_parts` is set, and inactive (with the reason, in every
decision and in /health) when the package is absent.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .image_signals import ImageSignalConfig

__all__ = ["EXPOSED_PARTS", "NudityPartsDetector"]

# NudeNet's classes that count as nudity; covered parts, faces and feet do not.
EXPOSED_PARTS = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)


class NudityPartsDetector:
    """`status`, `version` and `scores` like `NsfwDetector`; a score is the most confident exposed part."""

    name = "nudity_parts"

    def __init__(self, config: ImageSignalConfig | None = None):
        self.config = config or ImageSignalConfig()
        self._model: Any = None
        self._error = ""
        self._lock = threading.Lock()

    def status(self) -> tuple[bool, str]:
        if not self.config.nudity_parts:
            return False, "body-part nudity detector not enabled (ImageSignalConfig.nudity_parts)"
        if self._error:
            return False, self._error
        if importlib.util.find_spec("nudenet") is None:
            return False, "nudenet is not installed (optional extra 'nudity-parts', AGPL-3.0)"
        return True, ""

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return f"nudenet@{version('nudenet')}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None or self._error:
                return self._model
            if not self.status()[0]:
                return None
            try:
                from nudenet import NudeDetector

                self._model = NudeDetector()
            except Exception as exc:
                self._error = f"nudenet failed to load: {exc}"
                return None
            return self._model

    def parts(self, rgb: np.ndarray) -> list[tuple[str, float]] | None:
        """(class, score) of every exposed part NudeNet finds, or None if unavailable."""
        model = self._load()
        if model is None:
            return None
        detections = model.detect(np.ascontiguousarray(rgb[..., ::-1]))  # NudeNet reads BGR like OpenCV
        return [(d["class"], float(d["score"])) for d in detections if d.get("class") in EXPOSED_PARTS]

    def image_parts(self, images: Sequence[np.ndarray]) -> list[list[tuple[str, float]]] | None:
        """The exposed parts of each image (returned, not kept: screenings run side by side), or None if unavailable."""
        found = [self.parts(img) for img in images]
        if any(f is None for f in found):
            return None
        return [f for f in found if f is not None]
