"""`originframe`: serve, worker, generate, keys, settings, db."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from service.settings import load_settings, settings_table

if TYPE_CHECKING:
    from service.api_types import VerificationResult
    from service.db import Generation
    from service.runtime import Runtime


def _runtime(**overrides):
    from service.runtime import Runtime

    return Runtime(load_settings(**overrides))


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("huey", "httpx", "diffusers", "transformers", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def generation_parameter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One option per generation parameter, from GenerationRequest (the one list of them)."""
    from service.generations.request import GENERATION_PARAMETERS

    for parameter in reversed(GENERATION_PARAMETERS):
        command = click.option(
            parameter.cli_flag, parameter.name, type=parameter.kind, default=None, help=f"{parameter.description}."
        )(command)
    return command


@click.group()
@click.version_option(package_name="originframe")
def main() -> None:
    """Originframe: provenance-aware video generation with deepfake safeguards."""


@main.command()
@click.option("--host", default=None, help="Bind address (default: ORIGINFRAME_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: ORIGINFRAME_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP API (with an in-process job consumer on the embedded defaults)."""
    import uvicorn

    from service import auth
    from service.app import create_app

    _logging()
    runtime = _runtime()
    settings = runtime.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    if not auth.has_any_key(runtime.db):
        created = auth.create_key(runtime.db, ["admin"], name="bootstrap admin")
        click.secho(
            "\nFirst start: created a bootstrap admin API key. It is shown only once; keep it safe:\n", fg="yellow"
        )
        click.secho(f"    {created.secret}\n", fg="green", bold=True)
        click.echo("Create narrower keys with:  originframe keys create --scope generate --scope verify\n")
    uvicorn.run(create_app(runtime=runtime), host=host or settings.host, port=port or settings.port, log_level="info")


@main.command()
@click.option(
    "--threads", type=int, default=None, help="Concurrent jobs in this process (default: ORIGINFRAME_WORKER_THREADS)."
)
def worker(threads: int | None) -> None:
    """Run a job consumer (for a fleet: point ORIGINFRAME_QUEUE_URL and ORIGINFRAME_DATABASE_URL at shared servers)."""
    _logging()
    runtime = _runtime()
    runtime.start(consume=False)
    try:
        runtime.join_fleet()  # loads the served models first, then registers as ready
    except Exception as error:
        runtime.stop()
        raise click.ClickException(str(error)) from None
    consumer = runtime.queue.consumer(
        threads or runtime.settings.worker_threads,
        embedded=False,
        on_stop=runtime.runner.stopping.set,
        grace_s=runtime.settings.worker_shutdown_grace_s,
    )
    click.echo(
        f"worker {runtime.worker_id} serving {', '.join(runtime.served_models)} from {runtime.queue.kind} "
        f"({runtime.settings.queue_name})"
    )
    try:
        consumer.run()
    finally:
        runtime.stop()  # deregisters: the fleet stops counting this worker at once


@main.command()
@click.option("--prompt", default=None, help="What the clip shows.")
@click.option(
    "--image",
    "image_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Input image (PNG/JPEG).",
)
@click.option(
    "--model", default=None, help="tiny, svd, svd-xt, ltx, wan, hunyuan (default: ORIGINFRAME_DEFAULT_MODEL)."
)
@click.option("--negative-prompt", default=None)
@generation_parameter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("originframe.mp4"),
    show_default=True,
)
def generate(prompt, image_path, model, negative_prompt, output, **parameters) -> None:
    """Generate a clip locally, without a server: prompt and/or image in, MP4 out."""
    from provenance.errors import ProvenanceError
    from service.generations.request import GenerationRequest
    from service.generations.status import GenerationStatus
    from service.problems import ServiceError

    runtime = _runtime()
    runtime.start(consume=False)
    try:
        request = GenerationRequest(model=model, prompt=prompt, negative_prompt=negative_prompt, **parameters)
        image_bytes = image_path.read_bytes() if image_path else None
        try:
            generation, _ = runtime.submission.submit(
                request, image_bytes=image_bytes, caller_key_id=None, idempotency_key=None, enqueue=False
            )
        except (ServiceError, ProvenanceError) as error:
            raise click.ClickException(str(error)) from None
        if generation.status != GenerationStatus.QUEUED:
            raise click.ClickException(
                f"generation {generation.id} is {generation.status}: {generation.error_reason or ''}"
            )
        finished = _run_with_progress(runtime, generation.id)
        if finished.status != GenerationStatus.SUCCEEDED:
            raise click.ClickException(f"generation {finished.id} {finished.status}: {finished.error_reason}")
        output.write_bytes(runtime.storage.get(finished.video_key))
        click.echo(
            f"{output}  ({finished.output['frames']} frames, {finished.output['width']}x{finished.output['height']}, "
            f"{finished.output['fps']} fps, {finished.video_bytes} bytes)  generation {finished.id}"
        )
        for name, stage in finished.stages.items():
            click.echo(f"  {name:14s} {'ran' if stage.get('active') else 'inactive'}  {stage.get('detail', '')}")
    finally:
        runtime.stop()


def _run_with_progress(runtime: Runtime, generation_id: str) -> Generation:
    from service.db import Generation

    worker = threading.Thread(target=runtime.runner.run, args=(generation_id,), daemon=True)
    worker.start()
    with click.progressbar(length=100, label="generating", file=sys.stderr, show_percent=True) as bar:
        shown = 0
        while True:
            worker.join(timeout=0.2)
            with runtime.db.session() as session:
                generation = session.get(Generation, generation_id)
            if generation is None:
                raise click.ClickException(f"generation {generation_id} vanished while it ran")
            total = generation.progress_total or 1
            percent = 100 if not worker.is_alive() else int(100 * generation.progress_step / total)
            bar.label = f"{generation.stage:>14s}"
            if percent > shown:
                bar.update(percent - shown)
                shown = percent
            if not worker.is_alive():
                return generation
            time.sleep(0.05)


@main.group()
def keys() -> None:
    """Manage API keys (stored hashed; a secret is shown once)."""


@keys.command("create")
@click.option(
    "--scope", "scopes", multiple=True, required=True, help="generate, verify, audit, admin (repeat for several)."
)
@click.option("--name", default="", help="A label for operators.")
@click.option("--quiet", is_flag=True, help="Print only the secret (for scripts).")
def keys_create(scopes, name, quiet) -> None:
    from service import auth
    from service.problems import ServiceError

    runtime = _runtime()
    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    try:
        created = auth.create_key(runtime.db, list(scopes), name)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    if quiet:
        click.echo(created.secret)
    else:
        click.echo(
            f"created {created.key_id} with scopes {', '.join(created.scopes)}; the secret is shown only now:\n{created.secret}"
        )


@keys.command("list")
def keys_list() -> None:
    from service import auth

    runtime = _runtime()
    runtime.db.migrate()
    for key in auth.list_keys(runtime.db):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {' '.join(sorted(key.scope_set)):28s} {state:20s} {key.name}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id) -> None:
    from service import auth
    from service.problems import ServiceError

    runtime = _runtime()
    runtime.db.migrate()
    try:
        auth.revoke_key(runtime.db, key_id)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked {key_id}")


@main.group()
def policy() -> None:
    """The screening policy: evaluate, validate."""


@policy.command("eval")
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Policy file (default: ORIGINFRAME_POLICY_PATH or the shipped default).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def policy_eval(dataset: Path, policy_path: str | None, as_json: bool) -> None:
    """Precision/recall per category and the false-block rate of a labelled JSONL set
    (fields: prompt, expect = allow | block | review_or_allow, cat)."""
    import json as json_module

    from safety import evaluate
    from service.screening import build_screener

    settings = load_settings()
    if policy_path:
        settings = settings.replace(policy_path=policy_path)
    report = evaluate(dataset, build_screener(settings))
    click.echo(json_module.dumps(report.to_dict(), indent=2) if as_json else report.table())


@policy.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def policy_check(path: str) -> None:
    """Validate a policy file; prints its version, or the reason it is refused."""
    from safety import PolicyError, load_policy

    try:
        loaded = load_policy(path)
    except PolicyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"valid: {loaded.name} version {loaded.version} ({len(loaded.categories)} categories)")


@main.command()
@click.option("--prompt", default=None)
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the full decision record.")
def screen(prompt: str | None, image_path: Path | None, as_json: bool) -> None:
    """Screen a prompt and/or image without generating (recorded in the decision log)."""
    import json as json_module

    from provenance.media import load_image

    if not (prompt or image_path):
        raise click.UsageError("give --prompt, --image, or both")
    runtime = _runtime()
    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    image = load_image(image_path.read_bytes()) if image_path else None
    decided = runtime.screening.screen_inputs(
        prompt=prompt, negative_prompt=None, image=image, api_key_id=None, generation_id=None, kind="screening"
    )
    if as_json:
        click.echo(json_module.dumps(runtime.audit.get(decided.record.id), indent=2, ensure_ascii=False))
    else:
        public = decided.public()
        click.echo(
            f"{public['decision']}  {', '.join(public['categories']) or '-'}  (decision {public['decision_id']})"
        )


@main.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print whole reports as JSON (one object per line for several files)."
)
def verify_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Were these clips or stills generated here? Checks C2PA, the watermark and the fingerprint
    registry. A file that cannot be read is reported and the rest are still checked; the exit
    status is then 1."""
    import json as json_module

    import msgspec

    from provenance.errors import ProvenanceError

    runtime = _runtime()
    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    failed = 0
    for path in paths:
        try:
            report = runtime.provenance.verify(path.read_bytes(), caller=_LocalOperator())
        except ProvenanceError as error:
            failed += 1
            click.echo(f"Error: {path}: {error}", err=True)
            continue
        if as_json:
            click.echo(
                json_module.dumps(msgspec.to_builtins(report), indent=None if len(paths) > 1 else 2, ensure_ascii=False)
            )
        else:
            _print_verification(report, path if len(paths) > 1 else None)
    if failed:
        raise SystemExit(1)


def _print_verification(report: VerificationResult, path: Path | None) -> None:
    if path is not None:
        click.echo(f"{path}: ", nl=False)
    click.secho(f"{report.verdict}", bold=True, nl=False)
    click.echo(f"  ({report.strongest_evidence or 'no evidence'})  {report.summary}")
    manifest, explanation = report.manifest, report.manifest_explanation
    if manifest and manifest.present:
        # the same sentences as the page and the JSON report (provenance/manifest_explanation.py)
        click.echo(
            f"  C2PA:        {explanation.state if explanation else manifest.validation_state}  "
            f"({manifest.validation_state})  {explanation.headline if explanation else ''}"
        )
        for cause in explanation.causes if explanation else []:
            note = " (information)" if cause.informational else ""
            click.echo(f"               {cause.code}: {cause.sentence}{note}")
    else:
        click.echo(f"  C2PA:        no manifest{' (' + report.manifest_error + ')' if report.manifest_error else ''}")
    mark = report.watermark
    if mark is None:  # the pictures could not be decoded; the manifest alone decided
        click.echo("  watermark:   not checked (the pictures cannot be decoded)")
    else:
        click.echo(
            f"  watermark:   {'detected' if mark.detected else 'not detected'} (clip-level: p={mark.p_value:.2e}, "
            f"needs <= {mark.threshold_p_value:.0e})  identifier={mark.identifier or '-'}  "
            f"frames={mark.frames_analysed}"
        )
    reference = report.reference_watermark
    if reference is not None:
        click.echo(f"  SD mark:     {'detected' if reference.detected else 'not detected'}  p={reference.p_value:.2e}")
    fingerprint = report.fingerprint
    if fingerprint:
        if fingerprint.matched:
            what = "resembles the input image of " if fingerprint.matched_input_image else "resembles "
            ranges = ""
            if fingerprint.query_range_s and fingerprint.generation_range_s:
                (a, b), (c, d) = fingerprint.query_range_s, fingerprint.generation_range_s
                ranges = f"  frames {a:.1f}-{b:.1f} s of the file ~ {c:.1f}-{d:.1f} s of the generation"
            found = what + str(fingerprint.generation_id)
        else:
            found, ranges = "no resemblance", ""
        click.echo(
            f"  fingerprint: {found}  distance={fingerprint.distance}  threshold={fingerprint.threshold}  "
            f"registered={fingerprint.registered_clips}{ranges}"
        )
    if report.generation:
        click.echo(f"  generation:  {report.generation['id']}")


class _LocalOperator:
    """The CLI runs on the service's own data: its operator sees every matched generation."""

    key_id = None

    def has(self, scope: str) -> bool:
        return True


@main.group()
def audit() -> None:
    """The tamper-evident decision log."""


@audit.command("verify")
@click.option("--expected-head", default=None, help="A record_hash kept elsewhere: detects records cut off the end.")
def audit_verify(expected_head: str | None) -> None:
    """Check the hash chain; exits 1 and says where if a record was edited, deleted or reordered."""
    runtime = _runtime()
    runtime.db.migrate()
    report = runtime.audit.verify(expected_head=expected_head)
    if report["ok"]:
        anchored = report.get("checkpoints")
        against = (
            f"; consistent with {anchored['checked']} signed checkpoint(s), {anchored['unanchored_records']} "
            "record(s) newer than the latest"
            if anchored
            else "; no checkpoints configured"
        )
        click.echo(f"ok: {report['checked']} records, head {report['head_hash']}{against}")
        return
    where = f" (position {report['first_bad_position']})" if report["first_bad_position"] is not None else ""
    click.echo(
        f"BROKEN at record {report['first_bad_sequence']}{where}: {report['problem']} - {report['detail']}", err=True
    )
    sys.exit(1)


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--decision", default=None)
@click.option("--category", default=None)
@click.option("-o", "--output", type=click.File("w"), default="-")
@click.option(
    "--checkpoints",
    "checkpoints_to",
    type=click.File("w"),
    default=None,
    help="Also write the signed head checkpoints and their public key (JSON) to this file.",
)
def audit_export(fmt: str, decision: str | None, category: str | None, output, checkpoints_to) -> None:
    """Write the decision log (optionally filtered) as JSONL or CSV, and optionally its checkpoints."""
    runtime = _runtime()
    runtime.db.migrate()
    for line in runtime.audit.export(fmt, decision=decision, category=category):
        output.write(line)
    if checkpoints_to is not None:
        import json as json_module

        json_module.dump(runtime.audit.read_checkpoints(), checkpoints_to, indent=2)


@main.command()
def purge() -> None:
    """Apply the retention period: drop clear prompts and input images older than it."""
    runtime = _runtime()
    runtime.db.migrate()
    prompts, images = runtime.purge_expired()
    click.echo(
        f"purged {prompts} prompt(s) and {images} input image(s) older than {runtime.settings.retention_days} days"
    )


@main.command("settings")
@click.option(
    "--update-doc",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Rewrite the table between the settings-table markers of this Markdown file.",
)
def show_settings(update_doc: Path | None) -> None:
    """Print every setting (environment variable, default, meaning)."""
    if update_doc is None:
        click.echo(settings_table())
        return
    start, end = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
    document = update_doc.read_text()
    head, rest = document.split(start)
    _, tail = rest.split(end)
    update_doc.write_text(f"{head}{start}\n{settings_table()}\n{end}{tail}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    runtime = _runtime()
    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    click.echo(f"schema is current ({runtime.db.engine.url.render_as_string(hide_password=True)})")


# models: getting real weights ------------------------------------------------------------------


@main.group()
def models() -> None:
    """Real weights: what each backend needs, download, import, verify, remove."""


def _model_need(backend: str, mode: str | None):
    from service.backends.model_files import ModelFilesError, find_need

    try:
        return find_need(load_settings(), backend, mode)
    except ModelFilesError as error:
        raise click.ClickException(str(error)) from None


@models.command("list")
def models_list() -> None:
    """What each enabled backend needs, whether it is here, and what the models directory holds."""
    from service.backends import create_backend
    from service.backends.model_files import RECORD_FILE, installed, model_needs
    from service.backends.weights import weights_availability

    settings = load_settings()
    click.echo("needed by the enabled backends:")
    for need in model_needs(settings):
        if not need.source:
            click.echo(f"  {need.backend:8s} {need.mode:30s} none configured (ORIGINFRAME_{need.setting.upper()})")
            continue
        available, reason = weights_availability(need.source, settings)
        click.echo(
            f"  {need.backend:8s} {need.mode:30s} {'ok     ' if available else 'MISSING'} {need.source}  "
            f"(ORIGINFRAME_{need.setting.upper()}; {reason})"
        )
    if "tiny" in settings.models:
        click.echo(
            f"  {'tiny':8s} {'text-to-video+image-to-video':30s} ok      {create_backend('tiny', settings).availability()[1]}"
        )
    click.echo(f"in {settings.resolved_models_dir}:")
    for directory in installed(settings):
        size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
        recorded = "recorded" if (directory / RECORD_FILE).exists() else "no record"
        click.echo(f"  {directory.name:40s} {size / 1e9:8.2f} GB  {recorded}")


def _print_setting(need, target: Path) -> None:
    click.echo(f"ready: {target}\nuse it with:  export ORIGINFRAME_{need.setting.upper()}={target}")


@models.command("download")
@click.argument("backend")
@click.option("--mode", type=click.Choice(["text-to-video", "image-to-video"]), default=None)
@click.option("--hub-id", default=None, help="Hub repository (default: the backend's setting, when it names a hub id).")
@click.option(
    "--revision",
    default=None,
    help="Commit to pin (default: ORIGINFRAME_MODEL_REVISION, else the main branch's commit now).",
)
@click.option("--name", default=None, help="Directory name under the models directory.")
def models_download(backend: str, mode: str | None, hub_id: str | None, revision: str | None, name: str | None) -> None:
    """Download a pinned revision into the models directory (resumable; needs ORIGINFRAME_ALLOW_DOWNLOADS=true)."""
    from service.backends.model_files import ModelFilesError, download

    settings = load_settings()
    need = _model_need(backend, mode)
    hub_id = hub_id or need.source
    if not hub_id or Path(hub_id).expanduser().exists() or hub_id.startswith((".", "/", "~")):
        raise click.ClickException(
            f"{need.backend} {need.mode} is configured with a directory ({hub_id or 'none'}); pass --hub-id"
        )
    try:
        target = download(
            settings, need, hub_id, revision or settings.model_revision or None, name, progress=click.echo
        )
    except ModelFilesError as error:
        raise click.ClickException(str(error)) from None
    _print_setting(need, target)


@models.command("import")
@click.argument("backend")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--mode", type=click.Choice(["text-to-video", "image-to-video"]), default=None)
@click.option("--name", default=None, help="Directory name under the models directory (default: the source's name).")
def models_import(backend: str, directory: Path, mode: str | None, name: str | None) -> None:
    """Copy a local diffusers pipeline directory into the models directory and record its files' hashes."""
    from service.backends.model_files import ModelFilesError, import_directory

    need = _model_need(backend, mode)
    try:
        target = import_directory(load_settings(), need, directory, name, progress=click.echo)
    except ModelFilesError as error:
        raise click.ClickException(str(error)) from None
    _print_setting(need, target)


@models.command("verify")
@click.argument("name_or_directory")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def models_verify(name_or_directory: str, as_json: bool) -> None:
    """Check a model directory against its record: every file present, same size, same SHA-256."""
    import msgspec

    from service.backends.model_files import verify

    settings = load_settings()
    directory = Path(name_or_directory).expanduser()
    if not directory.is_dir():
        directory = settings.resolved_models_dir / name_or_directory
    result = verify(directory)
    if as_json:
        click.echo(msgspec.json.encode(result).decode())
    else:
        click.echo(f"{'ok' if result.ok else 'FAILED'}: {result.directory} ({result.files_checked} files checked)")
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
    if not result.ok:
        sys.exit(1)


@models.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def models_remove(name: str, yes: bool) -> None:
    """Delete a model directory from the models directory."""
    from service.backends.model_files import ModelFilesError, remove

    settings = load_settings()
    if not yes:
        click.confirm(f"delete {settings.resolved_models_dir / name}?", abort=True)
    try:
        removed = remove(settings, name)
    except ModelFilesError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"removed {removed}")


if __name__ == "__main__":
    main()
