"""What a third party does to a clip, shared by the robustness benchmarks (watermark and
fingerprint): re-encoding, scaling, cropping, tone changes, noise, trimming, GIF conversion,
and the photographs the clips are made of."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import cv2
import numpy as np
from PIL import Image

from provenance.media import decode_video

_CONTAINERS = {"libx264": "mp4", "libx265": "mp4", "libvpx-vp9": "webm"}


def photograph(name: str) -> np.ndarray:
    """A scikit-image photograph as uint8 RGB (grey ones repeated over three channels)."""
    import skimage.data

    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _codec_options(codec: str, crf: int, preset: str) -> dict[str, str]:
    return {
        "libx264": {"crf": str(crf), "preset": preset},
        "libx265": {"crf": str(crf), "preset": preset, "x265-params": "log-level=error"},
        "libvpx-vp9": {"crf": str(crf), "b": "0", "deadline": "good", "cpu-used": "2"},
    }[codec]


def encode(frames: np.ndarray, fps: float, codec: str = "libx264", crf: int = 23, preset: str = "medium") -> bytes:
    """Encode like a third party: PyAV's default RGB->YUV conversion, common settings per codec
    (`preset` applies to x264 and x265)."""
    height, width = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=_CONTAINERS[codec]) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = _codec_options(codec, crf, preset)
        for index, frame in enumerate(frames):
            video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
            video = video.reformat(format="yuv420p")
            video.pts = index
            for packet in stream.encode(video):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def roundtrip(frames: np.ndarray, fps: float, codec: str = "libx264", crf: int = 23, preset: str = "medium") -> np.ndarray:
    return decode_video(encode(frames, fps, codec, crf, preset)).frames


def resize_all(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    interpolation = cv2.INTER_AREA if width < frames.shape[2] else cv2.INTER_CUBIC
    return np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames])


def centre_crop(frames: np.ndarray, fraction: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    h, w = int(height * fraction) // 2 * 2, int(width * fraction) // 2 * 2
    top, left = (height - h) // 2, (width - w) // 2
    return frames[:, top : top + h, left : left + w]


def tone(frames: np.ndarray, function) -> np.ndarray:
    """Apply a per-value curve (brightness, gamma) through a 256-entry table."""
    table = np.clip(np.rint([function(v) for v in range(256)]), 0, 255).astype(np.uint8)
    return table[frames]


def contrast(frames: np.ndarray, factor: float) -> np.ndarray:
    mean = frames.reshape(len(frames), -1).mean(axis=1)[:, None, None, None]
    return np.clip(np.rint((frames - mean) * factor + mean), 0, 255).astype(np.uint8)


def gaussian_noise(frames: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, frames.shape)
    return np.clip(np.rint(frames + noise), 0, 255).astype(np.uint8)


def gif(frames: np.ndarray, fps: float) -> np.ndarray:
    """An animated GIF as Pillow writes one (a 256-colour octree palette per frame,
    Floyd-Steinberg dithering), read back as RGB frames."""
    images = [
        Image.fromarray(frame).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
        for frame in frames
    ]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    decoded = []
    with Image.open(io.BytesIO(buffer.getvalue())) as animation:
        for index in range(animation.n_frames):
            animation.seek(index)
            decoded.append(np.asarray(animation.convert("RGB")))
    return np.stack(decoded)


def trim_middle(frames: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    keep = max(int(round(fps * seconds)), 1)
    start = (len(frames) - keep) // 2
    return frames[start : start + keep]
