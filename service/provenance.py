"""Where the provenance package meets the service: signing credentials, the sign and
fingerprint stages, the fingerprint registry in SQL, and verification with its log."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select

from provenance.credentials import SigningCredentials
from provenance.errors import ProvenanceError, UnreadableMedia
from provenance.fingerprint import FINGERPRINT_ALGORITHM, FingerprintIndex, compute_fingerprint
from provenance.manifest import InputImage, ManifestInfo, read_manifest, sign_mp4
from provenance.manifest_explanation import explain_manifest, trust_list
from provenance.trust import TrustConfiguration
from provenance.verdict import Verdict
from provenance.verify import DecodeBudget, VerificationReport, verify_clip
from provenance.watermark import ALGORITHM as WATERMARK_ALGORITHM
from service import __version__
from service.db import Database, FingerprintRecord, Generation, Verification
from service.errors import ServerBusy, ServiceError

logger = logging.getLogger("originframe.provenance")


def load_credentials(settings) -> SigningCredentials:
    """Configured certificate and key files, or the development CA in the data directory."""
    extra = Path(settings.c2pa_trust_anchors).read_text() if settings.c2pa_trust_anchors else ""
    if settings.c2pa_cert_chain or settings.c2pa_private_key:
        credentials = SigningCredentials.from_files(settings.c2pa_cert_chain, settings.c2pa_private_key,
                                                    tsa_url=settings.c2pa_tsa_url or None)
        return credentials.with_trust_anchors(extra) if extra else credentials
    return SigningCredentials.load_or_create_development(
        settings.resolved_c2pa_dir, tsa_url=settings.c2pa_tsa_url or None, trust_anchors_pem=extra)


def load_trust(settings) -> TrustConfiguration:
    """The C2PA and TSA trust lists for reading other signers (local files; empty: none)."""
    return TrustConfiguration.from_files(settings.c2pa_trust_list or None, settings.c2pa_tsa_trust_list or None)


def public_model_id(source: str, model: str) -> str:
    """What a manifest may say about the model: the hub id, or the model's name when the weights
    come from a directory on this server (its path is nobody else's business)."""
    is_path = source.startswith(("/", ".", "~")) or "\\" in source or source.count("/") != 1 or Path(source).exists()
    return model if is_path else source


def parameters_digest(parameters: dict[str, Any]) -> str:
    material = {k: v for k, v in parameters.items() if k != "seed_requested"}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _image_mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "image/webp" if data[8:12] == b"WEBP" else "application/octet-stream"


class FingerprintRegistry:
    """Fingerprints in SQL; an in-memory index per process, topped up from the table before each search,
    so a clip registered by any worker is found by every API process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.index = FingerprintIndex()
        self._loaded_up_to = 0
        self._lock = threading.Lock()

    def register(self, generation_id: str, frames, fps: float, input_image=None) -> dict[str, Any]:
        """``input_image`` (RGB, image-to-video): kept in the fingerprint, so a suspect that matches the
        input rather than the generated motion is reported as such."""
        fingerprint = compute_fingerprint(frames, fps=fps, input_image=input_image)
        with self.db.session() as session:
            session.add(FingerprintRecord(generation_id=generation_id, algorithm=FINGERPRINT_ALGORITHM, data=fingerprint.to_bytes()))
        return {"algorithm": FINGERPRINT_ALGORITHM, "frames": fingerprint.frame_count,
                "input_image": fingerprint.input_hash is not None}

    def refresh(self) -> FingerprintIndex:
        with self._lock:
            with self.db.session() as session:
                rows = session.execute(
                    select(FingerprintRecord.sequence, FingerprintRecord.generation_id, FingerprintRecord.data)
                    .where(FingerprintRecord.sequence > self._loaded_up_to).order_by(FingerprintRecord.sequence)
                ).all()
            if rows:
                self.index.add_many((generation_id, data) for _, generation_id, data in rows)
                self._loaded_up_to = rows[-1][0]
        return self.index


class ProvenanceService:
    def __init__(self, settings, db: Database, storage, keyring_provider) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self._keyring = keyring_provider
        self._credentials: SigningCredentials | None = None
        self._trust: TrustConfiguration | None = None
        self._lock = threading.Lock()
        self.fingerprints = FingerprintRegistry(db)
        # a verification holds up to a few hundred MB and a core or two: bound how many run at once,
        # so that uploads cannot starve the API process (the rest of the request waits, then 503)
        self._verify_slots = threading.BoundedSemaphore(max(1, settings.verify_concurrency))

    @property
    def credentials(self) -> SigningCredentials:
        with self._lock:
            if self._credentials is None:
                self._credentials = load_credentials(self.settings)
            return self._credentials

    def trust_anchors(self) -> str:
        return self.credentials.trust_anchors_pem()

    @property
    def trust(self) -> TrustConfiguration:
        with self._lock:
            if self._trust is None:
                self._trust = load_trust(self.settings)
            return self._trust

    # pipeline stages -------------------------------------------------------------------

    def sign_stage(self, video: bytes, spec, extra: dict, record: dict) -> bytes:
        """Content Credentials: created by this service, watermarked, soft-bound to the watermark."""
        context = spec.context
        input_image = None
        if context.get("input_image"):
            data = context["input_image"]
            input_image = InputImage(data=data, mime=_image_mime(data))
        key_id = extra.get("watermark_key_id")
        info = ManifestInfo(
            generation_id=spec.generation_id,
            model_id=public_model_id(context.get("model_source") or spec.model, spec.model),
            model_version=context.get("model_version") or spec.model,
            parameters_digest=parameters_digest(context.get("parameters") or {}),
            output_settings=context.get("output_settings"),
            policy_version=context.get("policy_version") or "",
            decision_id=context.get("input_decision_id") or "",
            watermark_algorithm=WATERMARK_ALGORITHM if key_id is not None else None,
            watermark_value=f"{key_id}:{spec.watermark_id:016x}" if key_id is not None else None,
            # the fingerprint stage registers this clip's fingerprint under the generation id
            fingerprint_algorithm=FINGERPRINT_ALGORITHM,
            fingerprint_value=spec.generation_id,
            prompt=spec.request.prompt if self.settings.c2pa_include_prompt else None,
            input_image=input_image,
            service_name="Originframe",
            service_version=__version__,
        )
        signed = sign_mp4(video, info, self.credentials, thumbnails=self.settings.c2pa_thumbnails)
        summary = self.credentials.summary()
        record.update(standard="C2PA", signer=summary.subject_common_name, development_certificate=summary.is_development,
                      digital_source_type="trainedAlgorithmicMedia", soft_binding=info.watermark_value,
                      ingredient=input_image is not None, bytes_added=len(signed) - len(video))
        return signed

    def fingerprint_stage(self, frames, spec, extra: dict, record: dict) -> None:
        image = spec.request.image if spec.context.get("input_image") else None
        record.update(self.fingerprints.register(spec.generation_id, frames, spec.request.fps, input_image=image))

    # verification --------------------------------------------------------------------------

    def _watermark_lookup(self, key_id: int | None, identifier: str) -> str | None:
        with self.db.session() as session:
            return session.scalar(select(Generation.id).where(Generation.watermark_id == int(identifier, 16)))

    def verify(self, data: bytes, *, caller=None) -> dict[str, Any]:
        """Verify an upload, log who asked and what was found, and add what the caller may see."""
        if not self._verify_slots.acquire(timeout=self.settings.verify_queue_timeout_s):
            raise ServerBusy(f"{self.settings.verify_concurrency} verification(s) are already running; try again shortly",
                             retry_after_s=max(1, round(self.settings.verify_queue_timeout_s)))
        try:
            report = self._verify_clip(data)
        except (ProvenanceError, ServiceError):
            raise
        except Exception as error:
            # a backstop, not the fix: every known cause is refused by name in the decoder; an upload
            # that still trips a library is the caller's bad file (422), while the log keeps the trace
            logger.exception("verification of a %d-byte upload failed unexpectedly", len(data))
            raise UnreadableMedia(f"the file could not be processed ({type(error).__name__})") from error
        finally:
            self._verify_slots.release()
        return self._record(report, caller)

    def _verify_clip(self, data: bytes) -> VerificationReport:
        return verify_clip(
            data,
            keyring=self._keyring(),
            trust_anchors_pem=self.trust_anchors(),
            fingerprints=self.fingerprints.refresh(),
            own_roots_pem=self.credentials.own_roots_pem,
            watermark_lookup=self._watermark_lookup,
            max_frames=self.settings.verify_max_frames,
            max_pixels=self.settings.max_image_pixels,
            budget=DecodeBudget(max_frame_pixels=self.settings.max_image_pixels,
                                max_frames_decoded=self.settings.verify_max_decoded_frames,
                                max_decoded_pixels=self.settings.verify_max_decoded_pixels,
                                max_duration_s=self.settings.verify_max_duration_s),
            trust=self.trust,
        )

    def _record(self, report: VerificationReport, caller) -> dict[str, Any]:
        body = msgspec.to_builtins(report)
        body["verification_id"] = str(uuid.uuid4())
        # the stored credentials describe the generation only when the evidence binds to it (not a resemblance)
        body["generation"], stored = self._matched_generation(report.generation_id, caller,
                                                              with_manifest=report.verdict is Verdict.GENERATED_HERE)
        body["stored_manifest"] = msgspec.to_builtins(stored) if stored is not None else None
        body["stored_manifest_explanation"] = msgspec.to_builtins(explain_manifest(
            stored, trust_list(self.trust_anchors(), self.credentials.own_roots_pem))) if stored is not None else None
        if body.get("fingerprint") and not (caller is not None and caller.has("audit")):
            body["fingerprint"]["registered_clips"] = None  # how many clips this service made is not every caller's business
        with self.db.session() as session:
            session.add(Verification(
                id=body["verification_id"], api_key_id=getattr(caller, "key_id", None), media_sha256=report.media.sha256,
                media_bytes=report.media.bytes, media_kind=report.media.kind, verdict=report.verdict,
                strongest_evidence=report.strongest_evidence, generation_id=report.generation_id,
                findings={
                    "manifest": report.manifest.validation_state if report.manifest else None,
                    "manifest_codes": report.manifest.failure_codes if report.manifest else [],
                    "manifest_state": report.manifest_explanation.state.value if report.manifest_explanation else None,
                    "watermark_p_value": report.watermark.p_value if report.watermark else None,
                    "reference_watermark": report.reference_watermark.detected if report.reference_watermark else None,
                    "fingerprint_distance": report.fingerprint.distance if report.fingerprint else None,
                },
            ))
        return body

    def _matched_generation(self, generation_id: str | None, caller, *, with_manifest: bool) -> tuple[dict | None, Any]:
        """The generation behind a match: in full for its owner or an auditor, else only that it exists."""
        if generation_id is None:
            return None, None
        from service.generations import view

        with self.db.session() as session:
            generation = session.get(Generation, generation_id)
        if generation is None:
            return {"id": generation_id, "visible": False, "known": False}, None
        visible = caller is not None and (caller.key_id == generation.api_key_id or caller.has("audit"))
        if not visible:
            return {"id": generation_id, "visible": False}, None
        stored = None
        if with_manifest and generation.video_key and self.storage.exists(generation.video_key):
            # the soft binding's point: recover the Content Credentials of a stripped copy
            stored = read_manifest(self.storage.get(generation.video_key), "video/mp4", self.trust_anchors(), trust=self.trust)
        return {"visible": True, **view(generation)}, stored
