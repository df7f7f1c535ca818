"""Where the safety package meets the service: screen, record the decision, act on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from provenance.media import load_image
from safety import (
    ClipConfig,
    ImageSignalConfig,
    PolicyStore,
    Screener,
    Screening,
    burn_label,
)
from safety.text_model import TextModelConfig
from service.api_types import PolicyReload, PolicyView, ScreeningResult
from service.decision_log import AppendedDecision, DecisionLog
from service.digests import sha256_hex, sha256_text
from service.generations.status import Decision
from service.problems import InvalidRequest

if TYPE_CHECKING:
    from service.settings import Settings


def build_screener(settings: Settings) -> Screener:
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
    images = ImageSignalConfig(
        nsfw_model_path=settings.nsfw_model_path or None,
        face_backup=settings.face_backup,
        nudity_parts=settings.nudity_parts,
    )
    text_model = TextModelConfig(
        path=settings.text_model_path or None, device=settings.device, multilingual=settings.text_model_multilingual
    )
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
        return {
            **self.screening.public_view(),
            "decision_id": self.record.id,
            "policy_version": self.screening.policy_version,
        }


class ScreeningService:
    def __init__(self, screener: Screener, audit: DecisionLog, settings: Settings) -> None:
        self.screener = screener
        self.audit = audit
        self.settings = settings

    def _record(
        self,
        screening: Screening,
        *,
        kind: str,
        api_key_id: str | None,
        generation_id: str | None,
        prompt: str | None,
        details: dict[str, Any] | None = None,
    ) -> Decided:
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

    def screen_inputs(
        self,
        *,
        prompt: str | None,
        negative_prompt: str | None,
        image: np.ndarray | None,
        api_key_id: str | None,
        generation_id: str | None,
        kind: str,
        image_sha256: str | None = None,
    ) -> Decided:
        screening = self.screener.screen_request(prompt, image, negative_prompt)
        details = {"image_sha256": image_sha256} if image_sha256 else {}
        if negative_prompt:
            details["negative_prompt_sha256"] = sha256_text(negative_prompt)
        return self._record(
            screening, kind=kind, api_key_id=api_key_id, generation_id=generation_id, prompt=prompt, details=details
        )

    def screen_output(self, frames: np.ndarray, *, api_key_id: str | None, generation_id: str) -> Decided:
        sample = self.settings.output_screen_frames or None
        screening = self.screener.screen_frames(frames, sample=sample)
        return self._record(
            screening,
            kind="output",
            api_key_id=api_key_id,
            generation_id=generation_id,
            prompt=None,
            details={"frames": int(frames.shape[0])},
        )

    def screen_upload(
        self, *, prompt: str | None, negative_prompt: str | None, image_bytes: bytes | None, api_key_id: str | None
    ) -> ScreeningResult:
        """POST /v1/screenings: a dry run of input screening, decided and logged like a real request."""
        if not (prompt or image_bytes):
            raise InvalidRequest("send a prompt, an image, or both", field="prompt")
        image = load_image(image_bytes, max_pixels=self.settings.max_image_pixels) if image_bytes else None
        decided = self.screen_inputs(
            prompt=prompt,
            negative_prompt=negative_prompt,
            image=image,
            api_key_id=api_key_id,
            generation_id=None,
            kind="screening",
            image_sha256=sha256_hex(image_bytes) if image_bytes else None,
        )
        return ScreeningResult(
            decision=Decision(decided.decision),
            categories=decided.screening.flagged_categories,
            decision_id=decided.record.id,
            policy_version=decided.screening.policy_version,
            signals={report.name: report.active for report in decided.screening.signals},
        )

    def policy_view(self) -> PolicyView:
        """The policy in force, its signals, and a summary of what it holds (admin)."""
        health = self.screener.health()
        return PolicyView(policy=health["policy"], signals=health["signals"], summary=self.screener.policy.summary())

    def reload_policy(self) -> PolicyReload:
        """Reload the policy file now; a bad file raises PolicyError and the old policy stays."""
        store = self.screener.store
        if store is None:
            raise InvalidRequest("this deployment's policy is not loaded from a file; there is nothing to reload")
        policy = store.reload()
        return PolicyReload(version=policy.version, status=store.status())

    def label(self, frames: np.ndarray) -> np.ndarray:
        return burn_label(frames, self.screener.policy.label_text)

    def health(self) -> dict[str, Any]:
        return self.screener.health()
