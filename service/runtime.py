"""The composition root: builds the database, storage, queue, backends, the flow's stages and
the use cases from Settings, starts and stops them. It holds no use case itself."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service import readiness, retention
from service.backends import Backend, create_backends, quiet_libraries
from service.db import Database, Generation
from service.decision_log import DecisionLog, HeadCheckpoints
from service.fingerprint_registry import FingerprintRegistry
from service.generations.status import FINAL_STATES, GenerationStatus, StageName
from service.generations.submit import GenerationSubmission
from service.jobs.leases import Reaper
from service.jobs.queue import JobQueue, recover_queued
from service.jobs.registry import (
    ModelCapacity,
    WorkerRegistration,
    capacity,
    list_workers,
    queued_by_model,
    waiting_for,
)
from service.jobs.runner import JobRunner, new_worker_id
from service.key_material import KeyMaterial
from service.pipeline.fingerprinting import Fingerprinting
from service.pipeline.flow import GenerationPipeline, Stage
from service.pipeline.output_screening import OutputScreening
from service.pipeline.signing import Signing
from service.pipeline.spec import JobSpec, load_spec
from service.pipeline.watermarking import Watermarking
from service.screening import ScreeningService, build_screener
from service.settings import Settings
from service.storage import StorageBackend, VideoDelivery, make_private, open_storage
from service.verification import VerificationService

logger = logging.getLogger("originframe")


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.storage = open_storage(settings)
        self.backends = create_backends(settings)
        self.served_models = _served(settings, self.backends)
        self.audit = DecisionLog(
            self.db,
            store_prompts=settings.store_prompts,
            checkpoints=HeadCheckpoints(
                settings.resolved_audit_checkpoint_key, settings.resolved_audit_checkpoints_path
            ),
        )
        self.screening = ScreeningService(build_screener(settings), self.audit, settings)
        self.keys = KeyMaterial(settings)
        self.fingerprints = FingerprintRegistry(self.db)
        self.pipeline = GenerationPipeline(
            self.backends,
            self.storage.put,
            crf=settings.encode_crf,
            preset=settings.encode_preset,
            screen_output=Stage(StageName.SCREEN_OUTPUT, OutputScreening(self.screening)),
            watermark=Stage(StageName.WATERMARK, Watermarking(lambda: self.keys.keyring)),
            sign=Stage(
                StageName.SIGN,
                Signing(
                    lambda: self.keys.credentials,
                    include_prompt=settings.c2pa_include_prompt,
                    thumbnails=settings.c2pa_thumbnails,
                ),
            ),
            fingerprint=Stage(StageName.FINGERPRINT, Fingerprinting(self.fingerprints)),
        )
        self.provenance = VerificationService(settings, self.db, self.storage, self.keys, self.fingerprints)
        self.queue = JobQueue(settings, self.run_job, model_of=self._model_of, served=self.served_models)
        self.submission = GenerationSubmission(
            settings, self.db, self.backends, self.screening, self.audit, self.storage, self.queue.enqueue
        )
        self.worker_id = new_worker_id()
        self.runner = JobRunner(
            self.db,
            self.pipeline,
            self.load_spec,
            lease_seconds=settings.lease_seconds,
            requeue=self.queue.enqueue,
            worker_id=self.worker_id,
            models=self.served_models,
        )
        self.registration = WorkerRegistration(
            self.db,
            self.worker_id,
            self.served_models,
            device=settings.device,
            dtype=settings.dtype,
            heartbeat_s=settings.worker_heartbeat_s,
            ttl_s=settings.worker_ttl_s,
        )
        self.registered = False
        self.reaper = Reaper(self.db, self.queue.enqueue, settings.reaper_interval_s, hourly=self.purge_expired)
        self._consumer: Any = None
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
            raise RuntimeError(
                "this worker serves no model: none of ORIGINFRAME_ENABLED_MODELS "
                f"({self.settings.enabled_models}) has its weights here; set ORIGINFRAME_WORKER_MODELS"
            )
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
            self.registered = False
            raise
        self.registration.mark_ready()

    def _register(self, *, ready: bool) -> None:
        self.registration.register()
        self.registered = True
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
            if self.registered:  # a clean exit leaves the registry at once
                self.registration.deregister()
                self.registered = False
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
        elif self.registered and (status in FINAL_STATES or status == GenerationStatus.REVIEW):
            self.registration.job_finished(status in (GenerationStatus.SUCCEEDED, GenerationStatus.REVIEW))

    def _model_of(self, generation_id: str) -> str | None:
        with self.db.session() as session:
            generation = session.get(Generation, generation_id)
            return generation.model if generation is not None else None

    def _reroute(self, generation_id: str) -> None:
        """A message for a model this worker does not serve (the claim refused it): send it to its
        model's queue rather than drop it."""
        with self.db.session() as session:
            generation = session.get(Generation, generation_id)
            if (
                generation is None
                or generation.status != GenerationStatus.QUEUED
                or generation.model in self.served_models
            ):
                return
            model = generation.model
        logger.warning("job %s is for %s, which this worker does not serve; re-routing it", generation_id, model)
        self.queue.enqueue(generation_id, model)

    def load_spec(self, session: Session, generation: Generation) -> JobSpec:
        return load_spec(
            session,
            generation,
            backends=self.backends,
            storage=self.storage,
            model_revision=self.settings.model_revision,
        )

    def waiting_for(self, model: str) -> str | None:
        return waiting_for(self.db, model, self.settings.worker_ttl_s)

    def fleet_capacity(self) -> list[ModelCapacity]:
        """Per offered model: queued jobs and the live workers serving it (for /metrics)."""
        return capacity(
            self.settings.models, queued_by_model(self.db), list_workers(self.db, self.settings.worker_ttl_s)
        )

    @property
    def video_redirect_ttl_s(self) -> int | None:
        """Pre-signed redirects only where the setting asks for them and the store can sign."""
        if (
            VideoDelivery(self.settings.video_delivery) is VideoDelivery.REDIRECT
            and StorageBackend(self.settings.storage_backend) is StorageBackend.S3
        ):
            return self.settings.presigned_url_ttl_s
        return None

    def purge_expired(self) -> tuple[int, int]:
        return retention.purge_expired(self.db, self.audit, self.storage, self.settings.retention_days)

    def health(self) -> dict[str, Any]:
        return readiness.report(self)


def _served(settings: Settings, backends: dict[str, Backend]) -> list[str]:
    """The models this process's consumer serves. Named (worker_models): each must be offered, and
    must load or the worker refuses to start. Not named: every offered model whose weights are
    here, so a worker never takes a job it can only fail."""
    unknown = [model for model in settings.served_models if model not in settings.models]
    if unknown:
        raise ValueError(
            f"ORIGINFRAME_WORKER_MODELS names {', '.join(unknown)}, which this deployment does not offer "
            f"(ORIGINFRAME_ENABLED_MODELS={settings.enabled_models})"
        )
    if settings.worker_models.strip():
        return settings.served_models
    return [model for model in settings.models if backends[model].availability()[0]]
