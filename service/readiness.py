"""/health's report: is each part of this deployment up, and which stages and signals really run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from provenance.watermark import ALGORITHM as WATERMARK_ALGORITHM
from service.jobs.registry import capacity, list_workers, queued_by_model

if TYPE_CHECKING:
    from service.runtime import Runtime


def fleet_report(runtime: Runtime) -> dict[str, Any]:
    """Live workers and, per offered model, queued jobs and the workers serving it."""
    workers = list_workers(runtime.db, runtime.settings.worker_ttl_s)
    per_model = capacity(runtime.settings.models, queued_by_model(runtime.db), workers)
    this_process = {"id": runtime.worker_id, "serves": runtime.served_models} if runtime.registered else None
    return {
        "ok": True,
        "live": msgspec.to_builtins(workers),
        "models": msgspec.to_builtins(per_model),
        "this_process": this_process,
    }


def report(runtime: Runtime) -> dict[str, Any]:
    settings = runtime.settings
    checks: dict[str, Any] = {}
    try:
        runtime.db.ping()
        checks["database"] = {"ok": True, "backend": runtime.db.engine.dialect.name}
    except Exception as error:
        checks["database"] = {"ok": False, "error": str(error)}
    try:
        checks["queue"] = {
            "ok": True,
            "backend": runtime.queue.kind,
            "pending": runtime.queue.pending_count(),
            "embedded_consumer": runtime.consuming,
        }
    except Exception as error:
        checks["queue"] = {"ok": False, "backend": runtime.queue.kind, "error": str(error)}
    models = {}
    for name, backend in runtime.backends.items():
        available, reason = backend.availability()
        info = backend.info()
        models[name] = {
            "available": available,
            "loaded": backend.loaded,
            "detail": reason,
            "source": info.source,
            "modes": list(info.modes),
            "device": settings.device,
            "dtype": settings.dtype,
            **({"speed": info.extra["speed"]} if "speed" in info.extra else {}),
        }
    checks["models"] = models
    checks["pipeline"] = runtime.pipeline.describe()
    try:
        runtime.storage.ping()
        checks["storage"] = {"ok": True, "backend": runtime.storage.describe()}
    except Exception as error:
        checks["storage"] = {"ok": False, "backend": runtime.storage.describe(), "error": str(error)}
    try:
        checks["workers"] = fleet_report(runtime)
    except Exception as error:
        checks["workers"] = {"ok": False, "error": str(error)}
    try:
        keys = runtime.keys
        credentials = keys.credentials.summary()
        checks["provenance"] = {
            "ok": True,
            "c2pa": {
                **msgspec.to_builtins(credentials),
                "note": "development certificate: clips verify as Trusted only against this service's own root"
                if credentials.is_development
                else "configured certificate",
            },
            "watermark": {
                "algorithm": WATERMARK_ALGORITHM,
                "keys": [k.key_id for k in keys.keyring.keys],
                "current_key": keys.keyring.current.key_id,
            },
            "fingerprints": {"registered": len(runtime.fingerprints.refresh())},
            # other signers: roots from the C2PA trust list and the TSA trust list settings
            "trust_lists": msgspec.to_builtins(keys.trust.summary()),
        }
    except Exception as error:
        checks["provenance"] = {"ok": False, "error": str(error)}
    try:
        checks["safety"] = {"ok": True, **runtime.screening.health()}
    except Exception as error:  # a policy file that cannot be read at all
        checks["safety"] = {"ok": False, "error": str(error)}
    ready = (
        checks["database"]["ok"]
        and checks["queue"]["ok"]
        and checks["safety"]["ok"]
        and checks["provenance"]["ok"]
        and checks["storage"]["ok"]
        and (any(m["available"] for m in models.values()) or not settings.embedded_worker)
    )
    return {"status": "ok" if ready else "degraded", "ready": ready, **checks}
