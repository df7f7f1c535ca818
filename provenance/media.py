"""Video and image I/O with exact colour conversion.

Every pixel the service writes goes through the same RGB -> Y'CbCr conversion the
decoder will undo (BT.709 or BT.601, limited range, rounded, chroma averaged 2x2),
instead of letting the encoder's scaler guess. PyAV's default conversion shifts luma
by about 1.8 levels, which is larger than the quantisation margin of a watermark.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from provenance.errors import UnreadableMedia

# (Kr, Kb) luma coefficients
_COEFFICIENTS = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}
# FFmpeg / ISO 23091-4 code points
_AVCOL_SPC = {"bt709": 1, "bt601": 6}
_AVCOL_PRI = {"bt709": 1, "bt601": 6}
_AVCOL_TRC = {"bt709": 1, "bt601": 6}
_AVCOL_RANGE_MPEG = 1
_AVCOL_RANGE_JPEG = 2


def _matrix(standard: str) -> tuple[np.ndarray, np.ndarray]:
    kr, kb = _COEFFICIENTS[standard]
    kg = 1.0 - kr - kb
    # Analogue Y'PbPr from R'G'B' in [0, 1]
    rgb_to_ypbpr = np.array(
        [
            [kr, kg, kb],
            [-0.5 * kr / (1 - kb), -0.5 * kg / (1 - kb), 0.5],
            [0.5, -0.5 * kg / (1 - kr), -0.5 * kb / (1 - kr)],
        ]
    )
    return rgb_to_ypbpr, np.linalg.inv(rgb_to_ypbpr)


def rgb_to_yuv(rgb: np.ndarray, standard: str = "bt709") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 (..., H, W, 3) -> full-resolution limited-range Y, Cb, Cr as float32."""
    forward, _ = _matrix(standard)
    ypbpr = (rgb.astype(np.float32) / 255.0) @ forward.T.astype(np.float32)
    y = 16.0 + 219.0 * ypbpr[..., 0]
    cb = 128.0 + 224.0 * ypbpr[..., 1]
    cr = 128.0 + 224.0 * ypbpr[..., 2]
    return y, cb, cr


def yuv_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, standard: str = "bt709") -> np.ndarray:
    """Limited-range Y, Cb, Cr (same shape, float or uint8) -> RGB uint8, rounded."""
    _, inverse = _matrix(standard)
    ypbpr = np.stack(
        [
            (y.astype(np.float32) - 16.0) / 219.0,
            (cb.astype(np.float32) - 128.0) / 224.0,
            (cr.astype(np.float32) - 128.0) / 224.0,
        ],
        axis=-1,
    )
    rgb = ypbpr @ inverse.T.astype(np.float32)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _forward_affine(standard: str) -> np.ndarray:
    """3x4 float32 matrix: RGB in 0..255 -> limited-range Y, Cb, Cr (not yet rounded)."""
    forward, _ = _matrix(standard)
    scaled = np.array([219.0, 224.0, 224.0])[:, None] * forward / 255.0
    return np.hstack([scaled, np.array([[16.0], [128.0], [128.0]])]).astype(np.float32)


def _inverse_affine(standard: str) -> np.ndarray:
    """3x4 float32 matrix: limited-range Y, Cb, Cr -> RGB in 0..255 (not yet rounded)."""
    _, inverse = _matrix(standard)
    scaled = inverse * 255.0 @ np.diag([1 / 219.0, 1 / 224.0, 1 / 224.0])
    return np.hstack([scaled, (-scaled @ np.array([16.0, 128.0, 128.0]))[:, None]]).astype(np.float32)


def rgb_to_yuv420p(rgb: np.ndarray, standard: str = "bt709") -> np.ndarray:
    """One RGB frame (H, W, 3), H and W even -> packed yuv420p array of shape (H*3/2, W).

    Chroma is the exact mean of each 2x2 block before rounding. OpenCV's SIMD kernels do the
    arithmetic: this runs for every frame the service encodes.
    """
    height, width = rgb.shape[:2]
    ycc = cv2.transform(rgb.astype(np.float32), _forward_affine(standard))
    luma = np.clip(np.rint(ycc[..., 0]), 16, 235).astype(np.uint8)
    chroma = cv2.resize(ycc[..., 1:], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    chroma = np.clip(np.rint(chroma), 16, 240).astype(np.uint8)
    return np.concatenate([luma.ravel(), chroma[..., 0].ravel(), chroma[..., 1].ravel()]).reshape(
        height * 3 // 2, width
    )


def yuv420p_to_rgb(
    packed: np.ndarray, width: int, height: int, standard: str = "bt709", *, half_size: bool = False
) -> np.ndarray:
    """Packed yuv420p -> RGB uint8, rounded. `half_size` converts at the chroma resolution
    (luma averaged 2x2): four times less work, for analysis of large frames."""
    luma = packed[:height]
    chroma = packed[height:].ravel()
    quarter = (height // 2) * (width // 2)
    cb = chroma[:quarter].reshape(height // 2, width // 2)
    cr = chroma[quarter : 2 * quarter].reshape(height // 2, width // 2)
    if half_size:
        luma = cv2.resize(luma, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    else:
        cb = cv2.resize(cb, (width, height), interpolation=cv2.INTER_NEAREST)
        cr = cv2.resize(cr, (width, height), interpolation=cv2.INTER_NEAREST)
    rgb = cv2.transform(cv2.merge([luma, cb, cr]).astype(np.float32), _inverse_affine(standard))
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def standard_for(height: int) -> str:
    """The conventional matrix for a frame size (HD and up: BT.709, SD: BT.601)."""
    return "bt709" if height >= 720 else "bt601"


def encode_mp4(
    frames: np.ndarray,
    destination: str | Path,
    *,
    fps: float,
    crf: int = 18,
    preset: str = "medium",
    codec: str = "libx264",
) -> None:
    """Encode RGB frames (T, H, W, 3) as H.264 yuv420p MP4 with +faststart, tagged BT.709."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError("frames must be a uint8 array of shape (T, H, W, 3)")
    count, height, width, _ = frames.shape
    if height % 2 or width % 2:
        raise ValueError(f"frame size {width}x{height} must be even for yuv420p")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(destination, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.VideoStream)  # codec names a video encoder
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        context = stream.codec_context
        context.colorspace = _AVCOL_SPC["bt709"]
        context.color_primaries = _AVCOL_PRI["bt709"]
        context.color_trc = _AVCOL_TRC["bt709"]
        context.color_range = _AVCOL_RANGE_MPEG
        for index in range(count):
            frame = av.VideoFrame.from_ndarray(rgb_to_yuv420p(frames[index], "bt709"), format="yuv420p")
            frame.colorspace = _AVCOL_SPC["bt709"]
            frame.color_range = _AVCOL_RANGE_MPEG
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def encode_mp4_bytes(frames: np.ndarray, *, fps: float, crf: int = 18, preset: str = "medium") -> bytes:
    # +faststart rewrites the file in a second pass, which needs a real path
    with tempfile.TemporaryDirectory(prefix="originframe-") as folder:
        path = Path(folder) / "clip.mp4"
        encode_mp4(frames, path, fps=fps, crf=crf, preset=preset)
        return path.read_bytes()


@dataclass
class DecodedVideo:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    fps: float
    width: int
    height: int
    codec: str
    container_format: str


def _frame_standard(frame: av.VideoFrame) -> str:
    if frame.colorspace == _AVCOL_SPC["bt709"]:
        return "bt709"
    if frame.colorspace in (5, 6):  # BT.470BG, SMPTE 170M
        return "bt601"
    return standard_for(frame.height)


def frame_to_rgb(
    frame: av.VideoFrame, *, max_height: int | None = None, crop: tuple[int, int] | None = None
) -> np.ndarray:
    """A decoded frame as RGB uint8, undoing its tagged matrix exactly (limited-range 4:2:0), else via FFmpeg.

    With `max_height`, a taller 4:2:0 frame is converted at half size (for analysis, not output).
    With `crop` (width, height; even), only the top-left corner is converted: the exact conversion
    costs ~80 ms per megapixel, and a 16-megapixel frame must not cost a second.
    """
    limited = frame.color_range != _AVCOL_RANGE_JPEG
    if frame.format.name == "yuv420p" and limited and frame.width % 2 == 0 and frame.height % 2 == 0:
        packed = frame.to_ndarray(format="yuv420p")
        width, height = frame.width, frame.height
        if crop is not None and (crop[0] < width or crop[1] < height):
            packed, width, height = _crop_yuv420p(
                packed, width, height, min(crop[0], width) // 2 * 2, min(crop[1], height) // 2 * 2
            )
        half = max_height is not None and height > max_height
        return yuv420p_to_rgb(packed, width, height, _frame_standard(frame), half_size=half)
    rgb = frame.to_ndarray(format="rgb24")
    return rgb[: crop[1], : crop[0]] if crop is not None else rgb


def _crop_yuv420p(
    packed: np.ndarray, width: int, height: int, new_width: int, new_height: int
) -> tuple[np.ndarray, int, int]:
    chroma = packed[height:].ravel()
    quarter = (height // 2) * (width // 2)
    cb = chroma[:quarter].reshape(height // 2, width // 2)[: new_height // 2, : new_width // 2]
    cr = chroma[quarter : 2 * quarter].reshape(height // 2, width // 2)[: new_height // 2, : new_width // 2]
    luma = packed[:new_height, :new_width]
    flat = np.concatenate([luma.ravel(), cb.ravel(), cr.ravel()])
    return flat.reshape(new_height * 3 // 2, new_width), new_width, new_height


def iter_video_frames(source: str | Path | BinaryIO, *, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield RGB frames of the first video stream, undoing the tagged colour matrix exactly."""
    try:
        with av.open(source, "r") as container:
            if not container.streams.video:
                raise UnreadableMedia("the file has no video stream")
            for index, frame in enumerate(container.decode(video=0)):
                if max_frames is not None and index >= max_frames:
                    break
                yield frame_to_rgb(frame)
    except av.FFmpegError as error:
        raise UnreadableMedia(f"cannot decode video: {error}") from error


def decode_video(source: str | Path | BinaryIO | bytes, *, max_frames: int | None = None) -> DecodedVideo:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with av.open(source, "r") as container:
            if not container.streams.video:
                raise UnreadableMedia("the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
            frames = []
            for index, frame in enumerate(container.decode(stream)):
                if max_frames is not None and index >= max_frames:
                    break
                frames.append(frame_to_rgb(frame))
            codec = stream.codec_context.name
            container_format = container.format.name
    except av.FFmpegError as error:
        raise UnreadableMedia(f"cannot decode video: {error}") from error
    if not frames:
        raise UnreadableMedia("the video has no decodable frames")
    array = np.stack(frames)
    return DecodedVideo(
        frames=array,
        fps=float(rate) if rate else 0.0,
        width=array.shape[2],
        height=array.shape[1],
        codec=codec,
        container_format=container_format,
    )


# Input images: the formats the API documents. Pillow opens many more (TIFF, BMP, TGA, ICO, PPM,
# AVIF...), each another parser facing untrusted bytes for no user need.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


def load_image(data: bytes, *, max_pixels: int | None = None, formats: tuple[str, ...] = IMAGE_FORMATS) -> np.ndarray:
    """Decode PNG/JPEG/WebP bytes to an RGB uint8 array, refusing oversized images before decoding."""
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise UnreadableMedia(
                    f"image is {image.width}x{image.height}, more than the {max_pixels} pixels allowed"
                )
            image.load()
            return np.asarray(image.convert("RGB"))
    except UnreadableMedia:
        raise
    except UnidentifiedImageError as error:
        raise UnreadableMedia(
            "cannot decode image: not a PNG, JPEG, WebP or GIF image, or a damaged one "
            f"(images are accepted as {', '.join(formats)})"
        ) from error
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableMedia(f"cannot decode image: {error}") from error
