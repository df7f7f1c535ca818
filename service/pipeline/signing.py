"""Signing: C2PA Content Credentials on the encoded MP4 — created by this service with a trained
model, watermarked, soft-bound to the watermark and to the fingerprint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance.credentials import SigningCredentials
from provenance.fingerprint import FINGERPRINT_ALGORITHM
from provenance.manifest import InputImage, ManifestInfo, sign_mp4
from provenance.watermark import ALGORITHM as WATERMARK_ALGORITHM
from service import __version__
from service.digests import sha256_json
from service.media_types import sniff_image_type
from service.pipeline.flow import RunningJob


def public_model_id(source: str, model: str) -> str:
    """What a manifest may say about the model: the hub id, or the model's name when the weights
    come from a directory on this server (its path is nobody else's business)."""
    is_path = source.startswith(("/", ".", "~")) or "\\" in source or source.count("/") != 1 or Path(source).exists()
    return model if is_path else source


def parameters_digest(parameters: dict[str, Any]) -> str:
    return sha256_json({k: v for k, v in parameters.items() if k != "seed_requested"})


class Signing:
    def __init__(
        self, credentials: Callable[[], SigningCredentials], *, include_prompt: bool, thumbnails: bool
    ) -> None:
        self.credentials = credentials
        self.include_prompt, self.thumbnails = include_prompt, thumbnails

    def __call__(self, video: bytes, job: RunningJob) -> bytes:
        spec, context = job.spec, job.spec.context
        input_image = None
        if context.input_image:
            input_image = InputImage(data=context.input_image, mime=sniff_image_type(context.input_image))
        key_id = job.columns.watermark_key_id
        info = ManifestInfo(
            generation_id=spec.generation_id,
            model_id=public_model_id(context.model_source or spec.model, spec.model),
            model_version=context.model_version or spec.model,
            parameters_digest=parameters_digest(context.parameters),
            output_settings=context.output_settings,
            policy_version=context.policy_version or "",
            decision_id=context.input_decision_id or "",
            watermark_algorithm=WATERMARK_ALGORITHM if key_id is not None else None,
            watermark_value=f"{key_id}:{spec.watermark_id:016x}"
            if key_id is not None and spec.watermark_id is not None
            else None,
            # the fingerprint stage registers this clip's fingerprint under the generation id
            fingerprint_algorithm=FINGERPRINT_ALGORITHM,
            fingerprint_value=spec.generation_id,
            prompt=spec.request.prompt if self.include_prompt else None,
            input_image=input_image,
            service_name="Originframe",
            service_version=__version__,
        )
        credentials = self.credentials()
        signed = sign_mp4(video, info, credentials, thumbnails=self.thumbnails)
        summary = credentials.summary()
        job.record.update(
            standard="C2PA",
            signer=summary.subject_common_name,
            development_certificate=summary.is_development,
            digital_source_type="trainedAlgorithmicMedia",
            soft_binding=info.watermark_value,
            ingredient=input_image is not None,
            bytes_added=len(signed) - len(video),
        )
        return signed
