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


def roundtrip(
    frames: np.ndarray, fps: float, codec: str = "libx264", crf: int = 23, preset: str = "medium"
) -> np.ndarray:
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


# ---------------------------------------------------------------- reposts: geometry
# Each takes (T, H, W, 3) uint8 frames and returns new frames; none encodes (the caller does).


def _fit(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    return resize_all(frames, max(width, 2), max(height, 2))


def portrait_repost(frames: np.ndarray, width: int = 720, height: int = 1280, blur: float = 24.0) -> np.ndarray:
    """The clip at full width in a portrait frame over a blurred, darkened, enlarged copy of
    itself (TikTok, Reels, Shorts)."""
    clip_h = int(round(frames.shape[1] * width / frames.shape[2])) // 2 * 2
    foreground = _fit(frames, width, clip_h)
    cover = height / frames.shape[1]
    enlarged = _fit(frames, int(frames.shape[2] * cover), height)
    left = (enlarged.shape[2] - width) // 2
    out = []
    for back, front in zip(enlarged[:, :, left : left + width], foreground, strict=False):
        canvas = (cv2.GaussianBlur(back, (0, 0), blur).astype(np.float32) * 0.6).astype(np.uint8)
        top = (height - clip_h) // 2
        canvas[top : top + clip_h] = front
        out.append(canvas)
    return np.stack(out)


def pad_square(frames: np.ndarray, colour: int = 0) -> np.ndarray:
    """Black (or `colour`) bars to a square of the longer side, the clip centred."""
    t, height, width = frames.shape[:3]
    side = max(height, width)
    canvas = np.full((t, side, side, 3), colour, np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[:, top : top + height, left : left + width] = frames
    return canvas


def picture_in_picture(
    frames: np.ndarray, background: np.ndarray, fraction: float = 0.5, corner: str = "bottom-right"
) -> np.ndarray:
    """The clip at `fraction` of the background's width, inset near a corner with a margin,
    over other footage (looped or cut to the clip's length)."""
    t = len(frames)
    background = background[np.arange(t) % len(background)]
    height, width = background.shape[1:3]
    w = int(width * fraction) // 2 * 2
    h = int(round(frames.shape[1] * w / frames.shape[2])) // 2 * 2
    inset = _fit(frames, w, h)
    margin = int(0.04 * width)
    top = height - h - margin if "bottom" in corner else margin
    left = width - w - margin if "right" in corner else margin
    out = background.copy()
    out[:, top : top + h, left : left + w] = inset
    return out


def decorated_border(frames: np.ndarray, fraction: float = 0.8, seed: int = 0) -> np.ndarray:
    """The clip shrunk to `fraction` inside a static decorated frame (gradient, stripes,
    dots, a caption bar) of the original size."""
    t, height, width = frames.shape[:3]
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(40, 220, 3).astype(np.float32)
    other = rng.uniform(40, 220, 3).astype(np.float32)
    ramp = ((x + y) / (width + height))[..., None]
    canvas = base + (other - base) * ramp
    stripes = (np.sin((x + 2 * y) / rng.uniform(6, 20)) > 0.6)[..., None]
    canvas = np.where(stripes, canvas * 0.7, canvas)
    for _ in range(40):
        cv2.circle(
            canvas,
            (int(rng.uniform(0, width)), int(rng.uniform(0, height))),
            int(rng.uniform(3, 12)),
            tuple(float(v) for v in rng.uniform(0, 255, 3)),
            -1,
        )
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    cv2.rectangle(canvas, (0, int(height * 0.9)), (width, height), (20, 20, 20), -1)
    cv2.putText(
        canvas,
        "follow for more!",
        (int(width * 0.05), int(height * 0.975)),
        cv2.FONT_HERSHEY_SIMPLEX,
        height / 600,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
    w, h = int(width * fraction) // 2 * 2, int(height * fraction) // 2 * 2
    inset = _fit(frames, w, h)
    top, left = int((height * 0.9 - h) / 2), (width - w) // 2
    out = np.repeat(canvas[None], t, axis=0)
    out[:, top : top + h, left : left + w] = inset
    return out


def vertical_flip(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames[:, ::-1])


def horizontal_flip(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames[:, :, ::-1])


def rotate_quarter(frames: np.ndarray, quarters: int) -> np.ndarray:
    """Rotated by quarters x 90 degrees anticlockwise (a sideways phone)."""
    return np.ascontiguousarray(np.rot90(frames, quarters, axes=(1, 2)))


def rotate(frames: np.ndarray, degrees: float, zoom: bool = False) -> np.ndarray:
    """Rotated about the centre, same frame size; `zoom` enlarges it just enough to hide the
    corners (what an editor's 'straighten' does), otherwise the corners are black."""
    height, width = frames.shape[1:3]
    scale = 1.0
    if zoom:
        angle = np.radians(abs(degrees))
        scale = max(np.cos(angle) + np.sin(angle) * height / width, np.cos(angle) + np.sin(angle) * width / height)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, scale)
    return np.stack([cv2.warpAffine(f, matrix, (width, height), flags=cv2.INTER_LINEAR) for f in frames])


def perspective(frames: np.ndarray, displacement: float, seed: int) -> np.ndarray:
    """Each corner moved inwards or outwards by up to `displacement` of the side, at random
    (seeded); the result is warped into a frame of the same size."""
    height, width = frames.shape[1:3]
    rng = np.random.default_rng(seed)
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    moves = rng.uniform(-1, 1, (4, 2)) * displacement * np.float32([width, height])
    # at least one corner moved by the full amount, so the row tests what it says
    corner = rng.integers(4)
    moves[corner] = np.sign(moves[corner] + 1e-9) * displacement * np.float32([width, height])
    target = np.float32(source + moves)
    matrix = cv2.getPerspectiveTransform(source, target)
    return np.stack([cv2.warpPerspective(f, matrix, (width, height), flags=cv2.INTER_LINEAR) for f in frames])


def crop(frames: np.ndarray, fraction: float, anchor: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """`fraction` of each side, the window placed at `anchor` (0 = left/top, 1 = right/bottom)."""
    height, width = frames.shape[1:3]
    h, w = int(height * fraction) // 2 * 2, int(width * fraction) // 2 * 2
    top, left = int(round((height - h) * anchor[1])), int(round((width - w) * anchor[0]))
    return np.ascontiguousarray(frames[:, top : top + h, left : left + w])


def filmed_off_screen(frames: np.ndarray, seed: int, width: int = 960, height: int = 540) -> np.ndarray:
    """A phone filming a monitor: the screen fills most of the view at a slight angle
    (perspective), with defocus blur, raised blacks and lowered contrast, a colour cast,
    a brightness falloff towards the edges, sensor noise, and the phone's own resolution."""
    rng = np.random.default_rng(seed)
    _t, src_h, src_w = frames.shape[:3]
    source = np.float32([[0, 0], [src_w, 0], [src_w, src_h], [0, src_h]])
    inset = np.float32([[0.06, 0.07], [0.95, 0.05], [0.93, 0.94], [0.05, 0.92]])
    target = (inset + rng.uniform(-0.02, 0.02, (4, 2))) * np.float32([width, height])
    matrix = cv2.getPerspectiveTransform(source, np.float32(target))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    falloff = 1.0 - 0.25 * (((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2) * 4
    cast = np.float32([1.0, 0.97, 1.05]) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    out = []
    for index, frame in enumerate(frames):
        view = cv2.warpPerspective(frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=(18, 18, 22))
        view = cv2.GaussianBlur(view, (0, 0), 1.0).astype(np.float32)
        view = (24.0 + view * 0.8) * cast * falloff[..., None]
        noise = np.random.default_rng(seed * 1000 + index).normal(0.0, 3.0, view.shape)
        out.append(np.clip(np.rint(view + noise), 0, 255).astype(np.uint8))
    return np.stack(out)


def inside_longer(
    frames: np.ndarray, other: np.ndarray, fps: float, total_seconds: float, start_seconds: float
) -> np.ndarray:
    """The clip placed at `start_seconds` into `total_seconds` of other footage (looped),
    resized to the clip's size: a compilation, an intro, a stream recording."""
    total = int(round(total_seconds * fps))
    start = int(round(start_seconds * fps))
    height, width = frames.shape[1:3]
    filler = other if other.shape[1:3] == (height, width) else _fit(other, width, height)
    out = filler[np.arange(total) % len(filler)].copy()
    end = min(start + len(frames), total)
    out[start:end] = frames[: end - start]
    return out


# ---------------------------------------------------------------- VideoSeal's validation attacks (our reading)


def saturation(frames: np.ndarray, factor: float) -> np.ndarray:
    grey = cv2.cvtColor(frames.reshape(-1, frames.shape[2], 3), cv2.COLOR_RGB2GRAY).reshape(frames.shape[:3])[..., None]
    return np.clip(np.rint(grey + (frames.astype(np.float32) - grey) * factor), 0, 255).astype(np.uint8)


def hue_shift(frames: np.ndarray, fraction: float) -> np.ndarray:
    """Hue rotated by `fraction` of a full turn (OpenCV's 8-bit HSV, hue in 0..179)."""
    out = []
    for frame in frames:
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(fraction * 180))) % 180).astype(np.uint8)
        out.append(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
    return np.stack(out)


def greyscale(frames: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(frames.reshape(-1, frames.shape[2], 3), cv2.COLOR_RGB2GRAY).reshape(frames.shape[:3])
    return np.repeat(grey[..., None], 3, axis=-1)


def jpeg_frames(frames: np.ndarray, quality: int) -> np.ndarray:
    out = []
    for frame in frames:
        _ok, data = cv2.imencode(".jpg", frame[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        out.append(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])
    return np.ascontiguousarray(np.stack(out))


def box_blur(frames: np.ndarray, size: int) -> np.ndarray:
    """Gaussian blur with a `size` x `size` kernel (sigma as OpenCV derives it from the size)."""
    return np.stack([cv2.GaussianBlur(f, (size, size), 0) for f in frames])


def resized_crop(frames: np.ndarray, fraction: float, anchor: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """A crop of `fraction` of each side, resized back to the original size."""
    height, width = frames.shape[1:3]
    return _fit(crop(frames, fraction, anchor), width, height)
