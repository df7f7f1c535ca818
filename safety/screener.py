"""The screening entry point: prompts, input images, whole requests and output frames.

A `Screener` holds the policy (hot-reloaded through a `PolicyStore`) and the lazily loaded
models. It is safe to share between threads; models load once, on first use or on
`warm_up()`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .clip_classifier import ClipClassifier, ClipConfig
from .decision import Screening, SignalOutput, SignalReport, decide
from .errors import ScreeningInputError
from .face_centerface import CenterFaceDetector
from .image_signals import FaceDetector, ImageSignalConfig, NsfwDetector, run_faces, run_nsfw, run_nudity_parts, to_rgb
from .language_id import LanguageIdentifier, run_language
from .nudity_parts import NudityPartsDetector
from .person_names import run_names, shared_name_index
from .policy import Policy, PolicyStore
from .text_model import TextModel, TextModelConfig
from .text_signals import prepare_text, run_lexical, run_persons

__all__ = ["MAX_FRAMES", "MAX_PROMPT_CHARS", "Screener"]

MAX_PROMPT_CHARS = 10_000
MAX_FRAMES = 100_000


def _face_detector(config: ImageSignalConfig) -> FaceDetector | CenterFaceDetector:
    """CenterFace when configured and installed; otherwise the Haar cascades (reported as such)."""
    if config.face_detector not in ("centerface", "haar"):
        raise ValueError(f"face_detector must be 'centerface' or 'haar', got {config.face_detector!r}")
    if config.face_detector == "centerface":
        detector = CenterFaceDetector(config)
        if detector.status()[0]:
            return detector
    return FaceDetector(config)


class Screener:
    """Screens prompts, images and generated frames against the policy in force.

    `policy` may be a `PolicyStore` (hot reload), a loaded `Policy` (fixed), a path to a
    policy file, or None for the default policy shipped in `policies/`.
    """

    def __init__(
        self,
        policy: PolicyStore | Policy | str | os.PathLike[str] | None = None,
        *,
        clip: ClipConfig | ClipClassifier | None = None,
        images: ImageSignalConfig | None = None,
        text_model: TextModelConfig | None = None,
    ):
        if isinstance(policy, (PolicyStore, Policy)):
            self._source = policy
        else:
            self._source = PolicyStore(policy)
        self.clip = clip if isinstance(clip, ClipClassifier) else ClipClassifier(clip)
        image_config = images or ImageSignalConfig()
        self.nsfw = NsfwDetector(image_config)
        self.faces = _face_detector(image_config)
        self.nudity_parts = NudityPartsDetector(image_config)
        self.languages = LanguageIdentifier()
        self.text_model = TextModel(text_model)
        self.names = shared_name_index()

    @property
    def policy(self) -> Policy:
        return self._source.current if isinstance(self._source, PolicyStore) else self._source

    @property
    def store(self) -> PolicyStore | None:
        return self._source if isinstance(self._source, PolicyStore) else None

    # --- inputs ------------------------------------------------------------------------

    @staticmethod
    def _check_text(text: Any, what: str) -> str:
        if not isinstance(text, str):
            raise ScreeningInputError(f"{what} must be a string, not {type(text).__name__}")
        if len(text) > MAX_PROMPT_CHARS:
            raise ScreeningInputError(f"{what} is {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
        return text

    def _prompt_outputs(
        self, policy: Policy, text: str, negative_prompt: str | None
    ) -> tuple[list[SignalOutput], frozenset[str]]:
        prompt = prepare_text(policy, text)
        negative = prepare_text(policy, negative_prompt) if negative_prompt else None
        outputs = [run_lexical(policy, prompt, negative), run_persons(policy, prompt)]
        if policy.unlisted is not None:
            outputs.append(run_names(self.names, policy, prompt))
        learned_reads_all = False
        if policy.text_model_codes:  # inactive without a model path: reported as such in every decision
            learned = self.text_model.run(prompt.normalized.text or text, policy.text_model_codes)
            outputs.append(learned)
            learned_reads_all = learned.report.active and self.text_model.config.multilingual
        if policy.unread_category is not None and not learned_reads_all:
            outputs.append(
                run_language(
                    self.languages,
                    text,
                    policy.coverage,
                    [policy.unread_category],
                    stopword_hits=policy.stopword_hits(prompt.normalized.tokens),
                )
            )
        outputs.append(self.clip.run_text(policy, prompt.normalized.text or text))
        return outputs, prompt.normalized.tricks

    def _image_outputs(
        self,
        policy: Policy,
        images: Sequence[np.ndarray],
        *,
        stage: str,
        signals: Sequence[str],
        frames: Sequence[int] | None = None,
    ) -> list[SignalOutput]:
        def users(signal: str) -> list[str]:
            return [n for n, c in policy.categories.items() if c.enabled and signal in c.signals]

        outputs = []
        if "nsfw" in signals:
            outputs.append(run_nsfw(self.nsfw, images, categories=users("nsfw"), stage=stage, frames=frames))
        if "nudity_parts" in signals:
            outputs.append(
                run_nudity_parts(
                    self.nudity_parts, images, categories=users("nudity_parts"), stage=stage, frames=frames
                )
            )
        if "face" in signals:
            outputs.append(run_faces(self.faces, images, categories=users("face"), stage=stage, frames=frames))
        if "clip_image" in signals:
            outputs.append(self.clip.run_images(policy, images, stage=stage, frames=frames))
        return outputs

    # --- public API --------------------------------------------------------------------

    def screen_prompt(self, text: str, negative_prompt: str | None = None) -> Screening:
        """Screen a text prompt (and optionally its negative prompt)."""
        started = time.perf_counter()
        text = self._check_text(text, "prompt")
        if negative_prompt is not None:
            negative_prompt = self._check_text(negative_prompt, "negative_prompt")
        policy = self.policy
        outputs, tricks = self._prompt_outputs(policy, text, negative_prompt)
        return decide(
            policy, outputs, stage="prompt", obfuscations=tricks, elapsed_ms=(time.perf_counter() - started) * 1000
        )

    def screen_image(self, image: Any) -> Screening:
        """Screen an input image (HxWx3 uint8 RGB array, PIL image or encoded bytes)."""
        started = time.perf_counter()
        rgb = to_rgb(image)
        policy = self.policy
        outputs = self._image_outputs(
            policy, [rgb], stage="image", signals=("nsfw", "nudity_parts", "face", "clip_image")
        )
        return decide(policy, outputs, stage="image", elapsed_ms=(time.perf_counter() - started) * 1000)

    def screen_request(
        self, prompt: str | None = None, image: Any = None, negative_prompt: str | None = None
    ) -> Screening:
        """Screen everything a generation request brings: prompt, negative prompt and input image."""
        started = time.perf_counter()
        if prompt is None and image is None:
            raise ScreeningInputError("a request needs a prompt, an image, or both")
        policy = self.policy
        outputs: list[SignalOutput] = []
        tricks: frozenset[str] = frozenset()
        if prompt is not None:
            prompt = self._check_text(prompt, "prompt")
            if negative_prompt is not None:
                negative_prompt = self._check_text(negative_prompt, "negative_prompt")
            prompt_outputs, tricks = self._prompt_outputs(policy, prompt, negative_prompt)
            outputs += prompt_outputs
        if image is not None:
            outputs += self._image_outputs(
                policy, [to_rgb(image)], stage="image", signals=("nsfw", "nudity_parts", "face", "clip_image")
            )
        return decide(
            policy, outputs, stage="request", obfuscations=tricks, elapsed_ms=(time.perf_counter() - started) * 1000
        )

    def sample_indices(self, count: int, sample: int | None = None) -> list[int]:
        """Evenly spaced frame indices, first and last included."""
        n = min(count, sample or self.policy.output_sample_frames)
        return sorted({int(round(i)) for i in np.linspace(0, count - 1, n)}) if count else []

    def screen_frames(self, frames: Any, *, sample: int | None = None) -> Screening:
        """Screen generated frames before release: a sample of them goes through the image signals.

        `frames` is a TxHxWx3 uint8 array or a sequence of frames; `sample` overrides the
        policy's `output_screening.sample_frames`.
        """
        started = time.perf_counter()
        if sample is not None and (not isinstance(sample, int) or sample < 1):
            raise ScreeningInputError(f"sample must be a positive integer, got {sample!r}")
        if isinstance(frames, np.ndarray):
            if frames.ndim == 3:
                frames = frames[None]
            if frames.ndim != 4:
                raise ScreeningInputError(f"frames must be TxHxWx3, got shape {frames.shape}")
            count = frames.shape[0]
        else:
            try:
                frames = list(frames)
            except TypeError as exc:
                raise ScreeningInputError(
                    f"frames must be an array or a sequence, not {type(frames).__name__}"
                ) from exc
            count = len(frames)
        if count == 0:
            raise ScreeningInputError("no frames to screen")
        if count > MAX_FRAMES:
            raise ScreeningInputError(f"{count} frames; the limit is {MAX_FRAMES}")
        policy = self.policy
        indices = self.sample_indices(count, sample)
        images = [to_rgb(frames[i]) for i in indices]
        outputs = self._image_outputs(policy, images, stage="output", signals=policy.output_signals, frames=indices)
        return decide(
            policy, outputs, stage="output", frames_screened=indices, elapsed_ms=(time.perf_counter() - started) * 1000
        )

    # --- operations --------------------------------------------------------------------

    def warm_up(self) -> dict[str, bool]:
        """Load every available model now (service start-up), instead of on the first request."""
        rgb = np.zeros((64, 64, 3), dtype=np.uint8)
        loaded = {
            "nsfw": self.nsfw.scores([rgb]) is not None,
            "face": self.faces.detect(rgb) is not None,
            "clip": self.clip.load(),
            "language": self.languages.guess("warm-up text for the language identifier") is not None,
            "names": self.names.load(),
        }
        self.policy.vocabulary.fuzzy.build()
        if loaded["clip"]:
            self.clip.score_texts(self.policy, ["warm-up"])
        return loaded

    def signal_status(self) -> list[SignalReport]:
        """Which signals can run and why not, without loading any model (for /health)."""
        policy = self.policy
        reports = [
            SignalReport(name="lexical", active=True, version=f"policy-{policy.version}", stage="prompt"),
            SignalReport(
                name="persons",
                active=bool(len(policy.figures)),
                stage="prompt",
                version=f"{len(policy.figures)}-figures",
                reason_if_inactive="" if len(policy.figures) else "the policy has no public-figures list",
            ),
        ]
        if policy.unlisted is not None:
            ok, reason = self.names.status()
            reports.append(
                SignalReport(
                    name="names",
                    active=ok,
                    stage="prompt",
                    reason_if_inactive=reason,
                    version=self.names.version if ok else "",
                )
            )
        if policy.unread_category is not None:
            ok, reason = self.languages.status()
            # The script check always runs; without lingua the language check does not.
            reports.append(
                SignalReport(
                    name="language",
                    active=True,
                    stage="prompt",
                    version="language-1+" + ("lingua" if ok else "scripts-only"),
                    reason_if_inactive="" if ok else reason,
                )
            )
        if policy.text_model_codes:
            ok, reason = self.text_model.status()
            reports.append(
                SignalReport(
                    name="text_model",
                    active=ok,
                    stage="prompt",
                    reason_if_inactive=reason,
                    version=self.text_model.version if ok else "",
                )
            )
        for name, component in (("nsfw", self.nsfw), ("nudity_parts", self.nudity_parts), ("face", self.faces)):
            ok, reason = component.status()
            reports.append(
                SignalReport(
                    name=name,
                    active=ok,
                    stage="image",
                    reason_if_inactive=reason,
                    version=component.version if ok else "",
                )
            )
        ok, reason = self.clip.status()
        for name in ("clip_text", "clip_image"):
            reports.append(
                SignalReport(
                    name=name,
                    active=ok,
                    stage="prompt" if name == "clip_text" else "image",
                    version=self.clip.version,
                    reason_if_inactive=reason,
                )
            )
        return reports

    def health(self) -> dict[str, Any]:
        """Policy and signal status as plain data."""
        store = self.store
        return {
            "policy": store.status() if store else {"version": self.policy.version, "name": self.policy.name},
            "signals": [
                {"name": r.name, "active": r.active, "version": r.version, "reason_if_inactive": r.reason_if_inactive}
                for r in self.signal_status()
            ],
        }
