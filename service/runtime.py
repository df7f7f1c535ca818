"""The composition root: builds the database, storage, queue, backends and pipeline from
Settings, and offers the operations the API and the CLI share."""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError

from service import generations
from service.audit import AuditLog, HeadCheckpoints
from service.db import Database, Generation
from service.errors import Conflict, RequestBlocked, TooManyRequests
from service.generation import create_backends, quiet_libraries
from service.jobs.leases import BLOCKED, FINAL_STATES, QUEUED, REVIEW, SUCCEEDED, Reaper
from service.jobs.queue import JobQueue, recover_queued
from service.jobs.registry import ModelCapacity, WorkerRegistration, capacity, list_workers, queued_by_model, served_models, waiting_reason
from service.jobs.runner import JobRunner, new_worker_id
from service.pipeline import GenerationPipeline, JobSpec, OutputRefused, Stage
from service.provenance import ProvenanceService
from service.screening import ScreeningService, build_screener
from provenance.watermark import ALGORITHM as WATERMARK_ALGORITHM
from provenance.watermark import IDENTIFIER_BITS, Keyring, embed_watermark
from service.settings import Settings
from service.storage import StorageBackend, VideoDelivery, make_private, open_storage

logger = logging.getLogger("originframe")

# identifiers fit a signed BIGINT on every database and the watermark's payload
WATERMARK_ID_BITS = min(63, IDENTIFIER_BITS)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.storage = open_storage(settings)
        self.backends = create_backends(settings)
        self.served_models = _served(settings, self.backends)
        self.audit = AuditLog(self.db, store_prompts=settings.store_prompts, checkpoints=HeadCheckpoints(
            settings.resolved_audit_checkpoint_key, settings.resolved_audit_checkpoints_path))
        self.screening = ScreeningService(build_screener(settings), self.audit, settings)
        self.pipeline = GenerationPipeline(
            self.backends,
            self.storage.put,
            crf=settings.encode_crf,
            preset=settings.encode_preset,
            screen_output=Stage("screen_output", self._screen_output),
            watermark=Stage("watermark", self._watermark),
            sign=Stage("sign", lambda *arguments: self.provenance.sign_stage(*arguments)),
            fingerprint=Stage("fingerprint", lambda *arguments: self.provenance.fingerprint_stage(*arguments)),
        )
        self.provenance = ProvenanceService(settings, self.db, self.storage, lambda: self.keyring)
        self.queue = JobQueue(settings, self.run_job, model_of=self._model_of, served=self.served_models)
        self.worker_id = new_worker_id()
        self.runner = JobRunner(self.db, self.pipeline, self.load_spec, lease_seconds=settings.lease_seconds,
                                requeue=self.queue.enqueue, worker_id=self.worker_id, models=self.served_models)
        self.registration = WorkerRegistration(self.db, self.worker_id, self.served_models, device=settings.device,
                                               dtype=settings.dtype, heartbeat_s=settings.worker_heartbeat_s,
                                               ttl_s=settings.worker_ttl_s)
        self._registered = False
        self.reaper = Reaper(self.db, self.queue.enqueue, settings.reaper_interval_s, hourly=self.purge_expired)
        self._keyring: Keyring | None = None
        self._consumer = None
        self._started = False
        self._lock = threading.Lock()

    # lifecycle ---------------------------------------------------------------------------

    def start(self, *, consume: bool) -> None:
        """Prepare storage and schema, start the reaper, and (embedded mode) a job consumer."""
        with self._lock:
            if self._started:
                return
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            for database_file in self._sqlite_files():
                make_private(database_file)
            self.db.migrate()
            if self.audit.checkpoints is not None:
                _ = self.audit.checkpoints.key  # created on first start, like the development credentials
            import torch

            torch.set_num_threads(self.settings.torch_threads)
            quiet_libraries()
            self.reaper.start()
            recover_queued(self.db, self.queue)
            if consume and not self.served_models:
                logger.error("no offered model has its weights here: the embedded worker does not start")
            elif consume:
                # one box: models load lazily on the first job, so the server is ready at once
                self._register(ready=True)
                self._consumer = self.queue.consumer(self.settings.worker_threads, embedded=True)
                self._consumer.start()
            self._started = True

    def join_fleet(self) -> None:
        """`originframe worker`: register as starting, load (warm up) every served model, then
        become ready, so no job is routed to a worker that is still loading or cannot load."""
        if not self.served_models:
            raise RuntimeError("this worker serves no model: none of ORIGINFRAME_ENABLED_MODELS "
                               f"({self.settings.enabled_models}) has its weights here; set ORIGINFRAME_WORKER_MODELS")
        self._register(ready=False)
        try:
            for model in self.served_models:
                backend = self.backends[model]
                available, reason = backend.availability()
                if not available:
                    raise RuntimeError(f"this worker serves {model}, but it cannot run here: {reason}")
                backend.load()
        except BaseException:
            self.registration.deregister()
            self._registered = False
            raise
        self.registration.mark_ready()

    def _register(self, *, ready: bool) -> None:
        self.registration.register()
        self._registered = True
        if ready:
            self.registration.mark_ready()

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self.runner.stopping.set()
            if self._consumer is not None:
                self._consumer.stop(graceful=True)
                self._consumer = None
            self.reaper.stop()
            if self._registered:  # a clean exit leaves the registry at once
                self.registration.deregister()
                self._registered = False
            self._started = False

    def _sqlite_files(self) -> list[Path]:
        files = []
        if self.db.is_sqlite and self.db.engine.url.database not in (None, "", ":memory:"):
            files.append(Path(self.db.engine.url.database))
        if not self.settings.queue_url:  # Huey on SQLite
            files.append(self.settings.data_dir / "queue.db")
        return files

    @property
    def consuming(self) -> bool:
        return self._consumer is not None

    # jobs ------------------------------------------------------------------------------

    def run_job(self, generation_id: str) -> None:
        status = self.runner.run(generation_id)
        if status is None:
            self._reroute(generation_id)
        elif self._registered and (status in FINAL_STATES or status == REVIEW):
            self.registration.job_finished(status in (SUCCEEDED, REVIEW))

    def _model_of(self, generation_id: str) -> str | None:
        with self.db.session() as session:
            generation = session.get(Generation, generation_id)
            return generation.model if generation is not None else None

    def _reroute(self, generation_id: str) -> None:
        """A message for a model this worker does not serve (the claim refused it): send it to its
        model's queue rather than drop it."""
        with self.db.session() as session:
            generation = session.get(Generation, generation_id)
            if generation is None or generation.status != QUEUED or generation.model in self.served_models:
                return
            model = generation.model
        logger.warning("job %s is for %s, which this worker does not serve; re-routing it", generation_id, model)
        self.queue.enqueue(generation_id, model)

    def waiting_for(self, model: str) -> str | None:
        """Why a queued job of this model is not running yet, when no live, ready worker serves it."""
        if model in served_models(list_workers(self.db, self.settings.worker_ttl_s)):
            return None
        return waiting_reason(model)

    def fleet_capacity(self) -> list[ModelCapacity]:
        """Per offered model: queued jobs and the live workers serving it (for /metrics)."""
        return capacity(self.settings.models, queued_by_model(self.db), list_workers(self.db, self.settings.worker_ttl_s))

    def fleet_report(self) -> dict[str, Any]:
        """Live workers and, per offered model, queued jobs and the workers serving it (for /health)."""
        workers = list_workers(self.db, self.settings.worker_ttl_s)
        per_model = capacity(self.settings.models, queued_by_model(self.db), workers)
        return {"ok": True, "live": msgspec.to_builtins(workers), "models": msgspec.to_builtins(per_model),
                "this_process": {"id": self.worker_id, "serves": self.served_models} if self._registered else None}

    @property
    def video_redirect_ttl_s(self) -> int | None:
        """Pre-signed redirects only where the setting asks for them and the store can sign."""
        if (VideoDelivery(self.settings.video_delivery) is VideoDelivery.REDIRECT
                and StorageBackend(self.settings.storage_backend) is StorageBackend.S3):
            return self.settings.presigned_url_ttl_s
        return None

    def load_spec(self, session, generation: Generation) -> JobSpec:
        request = generations.GenerationInput(
            prompt=generation.prompt,
            negative_prompt=generation.negative_prompt,
            **{k: v for k, v in generation.parameters.items() if k != "seed_requested"},
        )
        input_image = None
        if generation.input_image_key:
            from provenance.media import load_image

            input_image = self.storage.get(generation.input_image_key)
            request.image = load_image(input_image)
        backend = self.backends[generation.model]
        screened = (generation.stages or {}).get("screen_inputs", {})
        return JobSpec(
            generation_id=generation.id,
            model=generation.model,
            request=request,
            watermark_id=generation.watermark_id,
            context={
                "api_key_id": generation.api_key_id,
                "input_decision_id": generation.input_decision_id,
                "input_decision": screened.get("decision"),
                "policy_version": screened.get("policy_version"),
                "stages": generation.stages or {},
                "parameters": generation.parameters,
                "input_image": input_image,
                # the weights this mode runs on, when a backend has one model per mode (wan, hunyuan)
                "model_source": backend.info().extra.get("sources", {}).get(request.mode, backend.info().source),
                "model_version": backend.info().extra.get("version") or self.settings.model_revision or "default",
                "output_settings": backend.info().extra.get("speed", {}).get("output"),
            },
        )

    @property
    def keyring(self) -> Keyring:
        """Watermark keys, created in the key directory on first use (mode 0600)."""
        if self._keyring is None:
            self._keyring = Keyring.load_or_create(self.settings.resolved_watermark_keys_dir)
        return self._keyring

    def _watermark(self, frames, spec: JobSpec, extra: dict, record: dict):
        """Every frame carries the generation's identifier under the current key."""
        key = self.keyring.current
        marked = embed_watermark(frames, spec.watermark_id, key)
        extra["watermark_key_id"] = key.key_id
        record.update(algorithm=WATERMARK_ALGORITHM, key_id=key.key_id, identifier=f"{spec.watermark_id:016x}",
                      frames=int(frames.shape[0]))
        return marked

    def _screen_output(self, frames, spec: JobSpec, extra: dict, record: dict):
        """Sampled frames through the image signals before anything is stored for download."""
        decided = self.screening.screen_output(frames, api_key_id=spec.context.get("api_key_id"), generation_id=spec.generation_id)
        extra["output_decision_id"] = decided.record.id
        record.update(decided.stage_record())
        if decided.decision == "block":
            categories = ", ".join(decided.screening.flagged_categories)
            raise OutputRefused(BLOCKED, "blocked_by_policy",
                                f"the generated clip was refused by the content policy ({categories}); it was not stored",
                                output_decision_id=decided.record.id)
        if decided.decision == "review":
            extra["held_by_decision_id"] = decided.record.id
        if decided.screening.requires_label or spec.context.get("input_decision") == "allow_with_label":
            frames = self.screening.label(frames)
            extra["label_applied"] = True
            record["label"] = "visible 'AI-generated' label burned into every frame"
        return frames

    def submit_generation(self, request: generations.GenerationRequest, *, image_bytes: bytes | None, caller_key_id: str | None,
                          idempotency_key: str | None, enqueue: bool = True) -> tuple[Generation, bool]:
        """Validate, screen, record and queue. Returns (generation, created) — created is False on an
        idempotent replay. A refused request is recorded (status blocked) and raises RequestBlocked."""
        # an API node of a fleet holds no weights: workers load them, and the registry says who can
        resolved = generations.resolve_request(request, image_bytes, self.backends, self.settings,
                                               check_weights=self.settings.embedded_worker)
        digest = resolved.digest()
        if idempotency_key:
            with self.db.session() as session:
                existing = generations.find_idempotent(session, caller_key_id, idempotency_key, digest)
            if existing is not None:
                if existing.status == BLOCKED and existing.input_decision_id:
                    raise _blocked(existing, self.audit.get(existing.input_decision_id))
                return existing, False
        self._check_quota(caller_key_id)
        generation_id = str(uuid.uuid4())
        image_sha256 = generations.sha256_hex(resolved.image_bytes) if resolved.image_bytes else None
        decided = self.screening.screen_inputs(
            prompt=resolved.input.prompt, negative_prompt=resolved.input.negative_prompt, image=resolved.input.image,
            api_key_id=caller_key_id, generation_id=generation_id, kind="input", image_sha256=image_sha256,
        )
        status = {"block": BLOCKED, "review": REVIEW}.get(decided.decision, QUEUED)
        image_key = None
        if resolved.image_bytes is not None and status != BLOCKED:  # a refused input is not kept, only its hash
            image_key = f"inputs/{generation_id}"
            self.storage.put(image_key, resolved.image_bytes)
        try:
            with self.db.session() as session:
                if status == QUEUED:
                    self._check_quota(caller_key_id, session)
                generation = generations.create_generation(
                    session, resolved, generation_id=generation_id, api_key_id=caller_key_id, idempotency_key=idempotency_key,
                    image_key=image_key, status=status, stages={"screen_inputs": decided.stage_record()}, settings=self.settings,
                    watermark_id=secrets.randbelow(2**WATERMARK_ID_BITS), input_decision_id=decided.record.id,
                    held_by_decision_id=decided.record.id if status == REVIEW else None,
                )
        except TooManyRequests:
            if image_key:
                self.storage.delete(image_key)
            raise
        except IntegrityError:
            # a concurrent request with the same Idempotency-Key won the race
            if image_key:
                self.storage.delete(image_key)
            if not idempotency_key:
                raise
            with self.db.session() as session:
                existing = generations.find_idempotent(session, caller_key_id, idempotency_key, digest)
            if existing is None:
                raise Conflict("the request could not be recorded; retry it") from None
            return existing, False
        if status == BLOCKED:
            raise _blocked(generation, self.audit.get(decided.record.id))
        if status == QUEUED and enqueue:
            self.queue.enqueue(generation.id, generation.model)
        return generation, True

    def _check_quota(self, caller_key_id: str | None, session=None) -> None:
        """One key may not fill the queue. Checked twice: early, to refuse before screening, and in
        the transaction that records the generation, under a lock on the key's row, so that
        requests racing at the limit (from any number of API processes) cannot all pass."""
        limit = self.settings.max_active_generations_per_key
        if not limit or caller_key_id is None:
            return
        if session is None:
            with self.db.session() as early:
                active = generations.count_active(early, caller_key_id)
        else:
            generations.lock_key(session, caller_key_id)
            active = generations.count_active(session, caller_key_id)
        if active >= limit:
            raise TooManyRequests(f"this API key already has {active} generations queued or running (limit {limit}); "
                                  "retry when one finishes", limit=limit, active=active, retry_after_s=5)

    def purge_expired(self) -> tuple[int, int]:
        """Retention: clear prompts and stored input images older than retention_days."""
        from datetime import timedelta

        from sqlalchemy import select, update

        from service.db import utcnow

        prompts = self.audit.purge_prompts(self.settings.retention_days)
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        with self.db.session() as session:
            rows = session.execute(
                select(Generation.id, Generation.input_image_key).where(
                    Generation.created_at < cutoff, Generation.input_image_key.is_not(None),
                    Generation.status.in_(("succeeded", "failed", "blocked", "cancelled")))
            ).all()
            for generation_id, key in rows:
                self.storage.delete(key)
                session.execute(update(Generation).where(Generation.id == generation_id).values(input_image_key=None))
        return prompts, len(rows)

    # health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            self.db.ping()
            checks["database"] = {"ok": True, "backend": self.db.engine.dialect.name}
        except Exception as error:
            checks["database"] = {"ok": False, "error": str(error)}
        try:
            checks["queue"] = {"ok": True, "backend": self.queue.kind, "pending": self.queue.pending_count(),
                               "embedded_consumer": self.consuming}
        except Exception as error:
            checks["queue"] = {"ok": False, "backend": self.queue.kind, "error": str(error)}
        models = {}
        for name, backend in self.backends.items():
            available, reason = backend.availability()
            info = backend.info()
            models[name] = {"available": available, "loaded": backend.loaded, "detail": reason, "source": info.source,
                            "modes": list(info.modes), "device": self.settings.device, "dtype": self.settings.dtype,
                            **({"speed": info.extra["speed"]} if "speed" in info.extra else {})}
        checks["models"] = models
        checks["pipeline"] = self.pipeline.describe()
        try:
            self.storage.ping()
            checks["storage"] = {"ok": True, "backend": self.storage.describe()}
        except Exception as error:
            checks["storage"] = {"ok": False, "backend": self.storage.describe(), "error": str(error)}
        try:
            checks["workers"] = self.fleet_report()
        except Exception as error:
            checks["workers"] = {"ok": False, "error": str(error)}
        try:
            credentials = self.provenance.credentials.summary()
            checks["provenance"] = {
                "ok": True,
                "c2pa": {**msgspec.to_builtins(credentials),
                         "note": "development certificate: clips verify as Trusted only against this service's own root"
                         if credentials.is_development else "configured certificate"},
                "watermark": {"algorithm": WATERMARK_ALGORITHM, "keys": [k.key_id for k in self.keyring.keys],
                              "current_key": self.keyring.current.key_id},
                "fingerprints": {"registered": len(self.provenance.fingerprints.refresh())},
                # other signers: roots from the C2PA trust list and the TSA trust list settings
                "trust_lists": msgspec.to_builtins(self.provenance.trust.summary()),
            }
        except Exception as error:
            checks["provenance"] = {"ok": False, "error": str(error)}
        try:
            checks["safety"] = {"ok": True, **self.screening.health()}
        except Exception as error:  # a policy file that cannot be read at all
            checks["safety"] = {"ok": False, "error": str(error)}
        ready = (checks["database"]["ok"] and checks["queue"]["ok"] and checks["safety"]["ok"] and checks["provenance"]["ok"]
                 and checks["storage"]["ok"] and (any(m["available"] for m in models.values()) or not self.settings.embedded_worker))
        return {"status": "ok" if ready else "degraded", "ready": ready, **checks}


def _served(settings: Settings, backends: dict) -> list[str]:
    """The models this process's consumer serves. Named (worker_models): each must be offered, and
    must load or the worker refuses to start. Not named: every offered model whose weights are
    here, so a worker never takes a job it can only fail."""
    unknown = [model for model in settings.served_models if model not in settings.models]
    if unknown:
        raise ValueError(f"ORIGINFRAME_WORKER_MODELS names {', '.join(unknown)}, which this deployment does not offer "
                         f"(ORIGINFRAME_ENABLED_MODELS={settings.enabled_models})")
    if settings.worker_models.strip():
        return settings.served_models
    return [model for model in settings.models if backends[model].availability()[0]]


def _blocked(generation: Generation, decision: dict[str, Any] | None) -> RequestBlocked:
    categories = (decision or {}).get("categories", [])
    return RequestBlocked(
        f"the request was refused by the content policy ({', '.join(categories) or 'policy'})",
        decision="block",
        categories=categories,
        decision_id=generation.input_decision_id,
        generation_id=generation.id,
    )
