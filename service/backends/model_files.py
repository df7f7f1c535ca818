"""Getting real weights onto a machine: what each backend needs, downloading a pinned hub revision,
importing a local directory, verifying and removing what is in the models directory.

Every directory this writes carries `originframe-model.json`: where the files came from (hub id and
the commit they were pinned to, or the imported directory), and the size and SHA-256 of every file,
so `verify` can say which file is missing or changed. Downloads happen only when
ORIGINFRAME_ALLOW_DOWNLOADS is true; they resume where an interrupted one stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from service.backends.contract import IMAGE_TO_VIDEO, TEXT_TO_VIDEO
from service.digests import sha256_file

if TYPE_CHECKING:
    from service.settings import Settings


RECORD_FILE = "originframe-model.json"
SPACE_MARGIN = 1.05  # hub sizes are exact, but the filesystem needs a little slack for blocks and temporary files


class ModelFilesError(Exception):
    """A model cannot be downloaded, imported, verified or removed; the message says why."""


@dataclass(frozen=True)
class ModelNeed:
    """One set of weights a backend needs for one mode, and where the settings look for it."""

    backend: str
    mode: str
    setting: str  # the ORIGINFRAME_ variable that names the source
    source: str  # hub id or local directory ("" when this deployment has none)
    pipeline_classes: tuple[str, ...]  # model_index.json _class_name values that fit


class FileEntry(msgspec.Struct):
    size: int
    sha256: str


class ModelRecord(msgspec.Struct, kw_only=True):
    backend: str
    mode: str
    origin: str  # "hub" or "import"
    source: str  # hub id or the directory it was imported from
    revision: str | None = None  # the hub commit the files are pinned to
    pipeline_class: str
    created_at: str
    files: dict[str, FileEntry]


class VerifyResult(msgspec.Struct):
    directory: str
    ok: bool
    problems: list[str]
    files_checked: int
    record: ModelRecord | None = None


def model_needs(settings: Settings) -> list[ModelNeed]:
    """What every enabled backend needs, per mode (the tiny model is built locally and needs nothing)."""
    from service.backends import wan

    needs: list[ModelNeed] = []
    for backend in settings.models:
        if backend in ("svd", "svd-xt"):
            setting = "svd_model" if backend == "svd" else "svd_xt_model"
            needs.append(
                ModelNeed(
                    backend, IMAGE_TO_VIDEO, setting, getattr(settings, setting), ("StableVideoDiffusionPipeline",)
                )
            )
        elif backend == "ltx":
            needs.append(
                ModelNeed(
                    backend, TEXT_TO_VIDEO + "+" + IMAGE_TO_VIDEO, "ltx_model", settings.ltx_model, ("LTXPipeline",)
                )
            )
        elif backend == "wan":
            text_source, image_source = wan.sources(settings)
            needs.append(ModelNeed(backend, TEXT_TO_VIDEO, "wan_model", text_source, ("WanPipeline",)))
            needs.append(
                ModelNeed(
                    backend, IMAGE_TO_VIDEO, "wan_i2v_model", image_source, ("WanImageToVideoPipeline", "WanPipeline")
                )
            )
        elif backend == "hunyuan":
            needs.append(
                ModelNeed(backend, TEXT_TO_VIDEO, "hunyuan_model", settings.hunyuan_model, ("HunyuanVideo15Pipeline",))
            )
            needs.append(
                ModelNeed(
                    backend,
                    IMAGE_TO_VIDEO,
                    "hunyuan_i2v_model",
                    settings.hunyuan_i2v_model,
                    ("HunyuanVideo15ImageToVideoPipeline",),
                )
            )
    return needs


def find_need(settings: Settings, backend: str, mode: str | None) -> ModelNeed:
    candidates = [need for need in model_needs(settings) if need.backend == backend]
    if not candidates:
        offered = ", ".join(dict.fromkeys(need.backend for need in model_needs(settings)))
        raise ModelFilesError(
            f"backend {backend!r} needs no downloaded weights or is not enabled; backends with weights: {offered}"
        )
    if mode is not None:
        candidates = [need for need in candidates if mode in need.mode.split("+")]
        if not candidates:
            raise ModelFilesError(f"backend {backend!r} has no {mode} model")
    elif len(candidates) > 1:
        raise ModelFilesError(
            f"backend {backend!r} has one model per mode; choose --mode {' or '.join(need.mode for need in candidates)}"
        )
    return candidates[0]


def target_directory(settings: Settings, need: ModelNeed, name: str) -> Path:
    slug = "".join(character if character.isalnum() or character in "-_." else "-" for character in name).strip("-.")
    return settings.resolved_models_dir / f"{need.backend}-{need.mode.split('+')[0]}-{slug}"


def _files(directory: Path) -> dict[str, FileEntry]:
    return {
        str(path.relative_to(directory)): FileEntry(size=path.stat().st_size, sha256=sha256_file(path))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != RECORD_FILE and ".cache" not in path.relative_to(directory).parts
    }


def _pipeline_class(directory: Path) -> str:
    index = directory / "model_index.json"
    if not index.is_file():
        raise ModelFilesError(f"{directory} has no model_index.json: it is not a diffusers pipeline directory")
    try:
        return json.loads(index.read_text())["_class_name"]
    except (ValueError, KeyError) as error:
        raise ModelFilesError(f"{index} is not a diffusers model index: {error}") from None


def _check_class(directory: Path, need: ModelNeed) -> str:
    pipeline_class = _pipeline_class(directory)
    if pipeline_class not in need.pipeline_classes:
        raise ModelFilesError(
            f"{directory} holds a {pipeline_class}; {need.backend} {need.mode} needs {' or '.join(need.pipeline_classes)}"
        )
    return pipeline_class


def _write_record(directory: Path, record: ModelRecord) -> None:
    (directory / RECORD_FILE).write_bytes(msgspec.json.format(msgspec.json.encode(record)))


def check_free_space(directory: Path, needed_bytes: int) -> None:
    """Refuse before downloading what the disk cannot hold."""
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if needed_bytes * SPACE_MARGIN > free:
        raise ModelFilesError(
            f"{needed_bytes / 1e9:.1f} GB to download but only {free / 1e9:.1f} GB free on {directory}"
        )


def import_directory(
    settings: Settings,
    need: ModelNeed,
    source: Path,
    name: str | None = None,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> Path:
    """Copy a local pipeline directory into the models directory, recording every file's hash."""
    source = source.expanduser().resolve()
    if not source.is_dir():
        raise ModelFilesError(f"{source} is not a directory")
    pipeline_class = _check_class(source, need)
    target = target_directory(settings, need, name or source.name)
    if target.exists():
        raise ModelFilesError(f"{target} already exists; remove it first (originframe models remove {target.name})")
    needed = sum(path.stat().st_size for path in source.rglob("*") if path.is_file())
    check_free_space(target.parent, needed)
    staging = target.with_name(f".importing-{target.name}")
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"copying {needed / 1e6:.1f} MB from {source}")
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(RECORD_FILE, ".cache"))
    files = _files(staging)
    _write_record(
        staging,
        ModelRecord(
            backend=need.backend,
            mode=need.mode,
            origin="import",
            source=str(source),
            pipeline_class=pipeline_class,
            created_at=_now(),
            files=files,
        ),
    )
    staging.rename(target)  # a half-copied directory never looks like a model
    return target


def download(
    settings: Settings,
    need: ModelNeed,
    hub_id: str,
    revision: str | None,
    name: str | None = None,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> Path:
    """Download a pinned revision of a hub repository (resumable, with huggingface_hub's progress bars)."""
    if not settings.allow_downloads:
        raise ModelFilesError(
            "downloads are off on this deployment; set ORIGINFRAME_ALLOW_DOWNLOADS=true, or import a directory "
            "copied from a machine that has the weights (originframe models import)"
        )
    from huggingface_hub import HfApi, snapshot_download

    info = HfApi().model_info(hub_id, revision=revision, files_metadata=True)
    pinned = info.sha  # a branch name resolves to the commit it points at now; the files come from that commit
    target = target_directory(settings, need, name or hub_id.split("/")[-1])
    partial = target.with_name(f".downloading-{target.name}")
    needed = sum(sibling.size or 0 for sibling in info.siblings or [])
    already = sum(path.stat().st_size for path in partial.rglob("*") if path.is_file()) if partial.exists() else 0
    check_free_space(target.parent, max(0, needed - already))
    progress(
        f"{hub_id} at {pinned}: {needed / 1e9:.2f} GB" + (f" ({already / 1e9:.2f} GB already here)" if already else "")
    )
    snapshot_download(hub_id, revision=pinned, local_dir=partial)  # resumes the partial files of an interrupted run
    pipeline_class = _check_class(partial, need)
    files = _files(partial)
    _write_record(
        partial,
        ModelRecord(
            backend=need.backend,
            mode=need.mode,
            origin="hub",
            source=hub_id,
            revision=pinned,
            pipeline_class=pipeline_class,
            created_at=_now(),
            files=files,
        ),
    )
    shutil.rmtree(partial / ".cache", ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return target


def verify(directory: Path) -> VerifyResult:
    """Is every recorded file there, of the recorded size and hash, and is the pipeline complete?"""
    problems: list[str] = []
    record = None
    record_path = directory / RECORD_FILE
    if not directory.is_dir():
        return VerifyResult(str(directory), False, [f"{directory} does not exist"], 0)
    try:
        record = msgspec.json.decode(record_path.read_bytes(), type=ModelRecord) if record_path.exists() else None
    except msgspec.DecodeError as error:
        problems.append(f"{RECORD_FILE} is unreadable: {error}")
    try:
        index = json.loads((directory / "model_index.json").read_text())
    except (OSError, ValueError) as error:
        return VerifyResult(str(directory), False, [*problems, f"model_index.json: {error}"], 0, record)
    for component, value in index.items():
        if component.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue
        if not (directory / component).is_dir():
            problems.append(f"component {component} ({value[1]}) is missing")
    checked = 0
    if record is None:
        problems.append(
            f"no {RECORD_FILE}: nothing to check the files against (import or download it with originframe models)"
        )
    else:
        present = {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}
        for relative, entry in record.files.items():
            path = directory / relative
            checked += 1
            if relative not in present:
                problems.append(f"{relative} is missing")
            elif path.stat().st_size != entry.size:
                problems.append(f"{relative} is {path.stat().st_size} bytes, recorded {entry.size}")
            elif sha256_file(path) != entry.sha256:
                problems.append(f"{relative} has changed (SHA-256 differs from the record)")
    return VerifyResult(str(directory), not problems, problems, checked, record)


def installed(settings: Settings) -> list[Path]:
    """Model directories in the models directory (the tiny build included)."""
    root = settings.resolved_models_dir
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith(".") and (path / "model_index.json").exists()
    )


def remove(settings: Settings, name: str) -> Path:
    """Delete one model directory, only ever inside the models directory."""
    root = settings.resolved_models_dir.resolve()
    target = (root / name).resolve()
    if target.parent != root or not (target / "model_index.json").exists():
        raise ModelFilesError(f"{name!r} is not a model directory in {root}; `originframe models list` shows them")
    shutil.rmtree(target)
    return target


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
