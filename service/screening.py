"""Where the safety package meets the service: screen, record the decision, act on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from safety import (
    ClipConfig,
    ImageSignalConfig,
    PolicyStore,
    Screener,
    Screening,
    burn_label,
)
from safety.text_model import TextModelConfig
from service.decision_log import AppendedDecision, DecisionLog
from service.digests import sha256_text


def build_screener(settings) -> Screener:
    if settings.clip_model_config:
        # a custom architecture: open_clip finds configs by file name in its registry
        import open_clip

        open_clip.add_model_config(settings.clip_model_config)
    clip = ClipConfig(
        model_name=settings.clip_model or None,
        weights_path=settings.clip_weights or None,
        heads_path=settings.clip_heads or None,
        device=settings.device,
    )
    images = ImageSignalConfig(nsfw_model_path=settings.nsfw_model_path or None)
    text_model = TextModelConfig(path=settings.text_model_path or None, device=settings.device,
                                 multilingual=settings.text_model_multilingual)
    return Screener(PolicyStore(settings.policy_path or None), clip=clip, images=images, text_model=text_model)


@dataclass(frozen=True)
class Decided:
    screening: Screening
    record: AppendedDecision

    @property
    def decision(self) -> str:
        return self.screening.decision

    def stage_record(self) -> dict[str, Any]:
        """What the job record says about this screening (no thresholds, no scores)."""
        return {
            "active": True,
            "decision": self.screening.decision,
            "decision_id": self.record.id,
            "categories": self.screening.flagged_categories,
            "policy_version": self.screening.policy_version,
            "signals": {report.name: report.active for report in self.screening.signals},
        }

    def public(self) -> dict[str, Any]:
        return {**self.screening.public_view(), "decision_id": self.record.id, "policy_version": self.screening.policy_version}


class ScreeningService:
    def __init__(self, screener: Screener, audit: DecisionLog, settings) -> None:
        self.screener = screener
        self.audit = audit
        self.settings = settings

    def _record(self, screening: Screening, *, kind: str, api_key_id: str | None, generation_id: str | None,
                prompt: str | None, details: dict[str, Any] | None = None) -> Decided:
        appended = self.audit.append(
            kind=kind,
            decision=screening.decision,
            categories=screening.flagged_categories,
            api_key_id=api_key_id,
            generation_id=generation_id,
            policy_version=screening.policy_version,
            prompt=prompt,
            screening=screening.to_record(redact_text=not self.settings.store_prompts),
            details=details,
        )
        return Decided(screening, appended)

    def screen_inputs(self, *, prompt: str | None, negative_prompt: str | None, image: np.ndarray | None,
                      api_key_id: str | None, generation_id: str | None, kind: str,
                      image_sha256: str | None = None) -> Decided:
        screening = self.screener.screen_request(prompt, image, negative_prompt)
        details = {"image_sha256": image_sha256} if image_sha256 else {}
        if negative_prompt:
            details["negative_prompt_sha256"] = sha256_text(negative_prompt)
        return self._record(screening, kind=kind, api_key_id=api_key_id, generation_id=generation_id,
                            prompt=prompt, details=details)

    def screen_output(self, frames: np.ndarray, *, api_key_id: str | None, generation_id: str) -> Decided:
        sample = self.settings.output_screen_frames or None
        screening = self.screener.screen_frames(frames, sample=sample)
        return self._record(screening, kind="output", api_key_id=api_key_id, generation_id=generation_id, prompt=None,
                            details={"frames": int(frames.shape[0])})

    def label(self, frames: np.ndarray) -> np.ndarray:
        return burn_label(frames, self.screener.policy.label_text)

    def health(self) -> dict[str, Any]:
        return self.screener.health()

