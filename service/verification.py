"""Verification: was this clip generated here? Runs the provenance package's checks with this
service's keys, fingerprints and watermark identifiers, logs who asked and what was found, and
adds the matched generation as far as the caller may see it."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import msgspec
from sqlalchemy import select

from provenance.credentials import SigningCredentials
from provenance.errors import ProvenanceError, UnreadableMedia
from provenance.manifest import read_manifest
from provenance.manifest_explanation import explain_manifest, trust_list
from provenance.trust import TrustConfiguration
from provenance.verdict import Verdict
from provenance.verify import DecodeBudget, VerificationReport, verify_clip
from service.api_types import VerificationResult
from service.auth import Caller
from service.db import Database, Generation, Verification
from service.fingerprint_registry import FingerprintRegistry
from service.generations.views import view
from service.key_material import KeyMaterial
from service.problems import ServerBusy, ServiceError
from service.settings import Settings
from service.storage import Storage

logger = logging.getLogger("originframe.verification")


class VerificationService:
    def __init__(
        self, settings: Settings, db: Database, storage: Storage, keys: KeyMaterial, fingerprints: FingerprintRegistry
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.keys = keys
        self.fingerprints = fingerprints
        # a verification holds up to a few hundred MB and a core or two: bound how many run at once,
        # so that uploads cannot starve the API process (the rest of the request waits, then 503)
        self._verify_slots = threading.BoundedSemaphore(max(1, settings.verify_concurrency))

    @property
    def credentials(self) -> SigningCredentials:
        return self.keys.credentials

    @property
    def trust(self) -> TrustConfiguration:
        return self.keys.trust

    def trust_anchors(self) -> str:
        return self.keys.trust_anchors()

    def _watermark_lookup(self, key_id: int | None, identifier: str) -> str | None:
        with self.db.session() as session:
            return session.scalar(select(Generation.id).where(Generation.watermark_id == int(identifier, 16)))

    def verify(self, data: bytes, *, caller: Caller | None = None) -> VerificationResult:
        """Verify an upload, log who asked and what was found, and add what the caller may see."""
        if not self._verify_slots.acquire(timeout=self.settings.verify_queue_timeout_s):
            raise ServerBusy(
                f"{self.settings.verify_concurrency} verification(s) are already running; try again shortly",
                retry_after_s=max(1, round(self.settings.verify_queue_timeout_s)),
            )
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
            keyring=self.keys.keyring,
            trust_anchors_pem=self.trust_anchors(),
            fingerprints=self.fingerprints.refresh(),
            own_roots_pem=self.credentials.own_roots_pem,
            watermark_lookup=self._watermark_lookup,
            max_frames=self.settings.verify_max_frames,
            max_pixels=self.settings.max_image_pixels,
            budget=DecodeBudget(
                max_frame_pixels=self.settings.max_image_pixels,
                max_frames_decoded=self.settings.verify_max_decoded_frames,
                max_decoded_pixels=self.settings.verify_max_decoded_pixels,
                max_duration_s=self.settings.verify_max_duration_s,
            ),
            trust=self.trust,
        )

    def _record(self, report: VerificationReport, caller: Caller | None) -> VerificationResult:
        body = msgspec.to_builtins(report)
        body["verification_id"] = str(uuid.uuid4())
        # the stored credentials describe the generation only when the evidence binds to it (not a resemblance)
        body["generation"], stored = self._matched_generation(
            report.generation_id, caller, with_manifest=report.verdict is Verdict.GENERATED_HERE
        )
        body["stored_manifest"] = msgspec.to_builtins(stored) if stored is not None else None
        body["stored_manifest_explanation"] = (
            msgspec.to_builtins(
                explain_manifest(stored, trust_list(self.trust_anchors(), self.credentials.own_roots_pem))
            )
            if stored is not None
            else None
        )
        if body.get("fingerprint") and not (caller is not None and caller.has("audit")):
            body["fingerprint"]["registered_clips"] = (
                None  # how many clips this service made is not every caller's business
            )
        result = msgspec.convert(body, VerificationResult)
        with self.db.session() as session:
            session.add(
                Verification(
                    id=result.verification_id,
                    api_key_id=getattr(caller, "key_id", None),
                    media_sha256=report.media.sha256,
                    media_bytes=report.media.bytes,
                    media_kind=report.media.kind,
                    verdict=report.verdict,
                    strongest_evidence=report.strongest_evidence,
                    generation_id=report.generation_id,
                    findings={
                        "manifest": report.manifest.validation_state if report.manifest else None,
                        "manifest_codes": report.manifest.failure_codes if report.manifest else [],
                        "manifest_state": report.manifest_explanation.state.value
                        if report.manifest_explanation
                        else None,
                        "watermark_p_value": report.watermark.p_value if report.watermark else None,
                        "reference_watermark": report.reference_watermark.detected
                        if report.reference_watermark
                        else None,
                        "fingerprint_distance": report.fingerprint.distance if report.fingerprint else None,
                    },
                )
            )
        return result

    def _matched_generation(
        self, generation_id: str | None, caller: Caller | None, *, with_manifest: bool
    ) -> tuple[dict | None, Any]:
        """The generation behind a match: in full for its owner or an auditor, else only that it exists."""
        if generation_id is None:
            return None, None
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
            stored = read_manifest(
                self.storage.get(generation.video_key), "video/mp4", self.trust_anchors(), trust=self.trust
            )
        return {"visible": True, **msgspec.to_builtins(view(generation))}, stored
