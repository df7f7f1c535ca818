"""`originframe`: serve, worker, generate, keys, settings, db."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import click

from service.settings import load_settings, settings_table


def _runtime(**overrides):
    from service.runtime import Runtime

    return Runtime(load_settings(**overrides))


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("huey", "httpx", "diffusers", "transformers", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
        click.secho("\nFirst start: created a bootstrap admin API key. It is shown only once; keep it safe:\n", fg="yellow")
        click.secho(f"    {created.secret}\n", fg="green", bold=True)
        click.echo("Create narrower keys with:  originframe keys create --scope generate --scope verify\n")
    uvicorn.run(create_app(runtime=runtime), host=host or settings.host, port=port or settings.port, log_level="info")


@main.command()
@click.option("--threads", type=int, default=None, help="Concurrent jobs in this process (default: ORIGINFRAME_WORKER_THREADS).")
def worker(threads: int | None) -> None:
    """Run a job consumer (for a fleet: point ORIGINFRAME_QUEUE_URL and ORIGINFRAME_DATABASE_URL at shared servers)."""
    _logging()
    runtime = _runtime()
    runtime.start(consume=False)
    consumer = runtime.queue.consumer(threads or runtime.settings.worker_threads, embedded=False)
    click.echo(f"worker {runtime.worker_id} consuming {runtime.queue.kind} ({runtime.settings.queue_name})")
    try:
        consumer.run()
    finally:
        runtime.stop()


@main.command()
@click.option("--prompt", default=None, help="What the clip shows.")
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Input image (PNG/JPEG).")
@click.option("--model", default=None, help="tiny, svd, svd-xt, ltx (default: ORIGINFRAME_DEFAULT_MODEL).")
@click.option("--negative-prompt", default=None)
@click.option("--frames", "num_frames", type=int, default=None)
@click.option("--fps", type=int, default=None)
@click.option("--width", type=int, default=None)
@click.option("--height", type=int, default=None)
@click.option("--steps", "num_inference_steps", type=int, default=None)
@click.option("--seed", type=int, default=None)
@click.option("--guidance", type=float, default=None)
@click.option("--motion-bucket-id", type=int, default=None)
@click.option("--noise-aug-strength", type=float, default=None)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("originframe.mp4"), show_default=True)
def generate(prompt, image_path, model, negative_prompt, output, **parameters) -> None:
    """Generate a clip locally, without a server: prompt and/or image in, MP4 out."""
    from service.errors import ServiceError
    from service.generations import GenerationRequest
    from provenance.errors import ProvenanceError

    runtime = _runtime()
    runtime.start(consume=False)
    try:
        request = GenerationRequest(model=model, prompt=prompt, negative_prompt=negative_prompt, **parameters)
        image_bytes = image_path.read_bytes() if image_path else None
        try:
            generation, _ = runtime.submit_generation(request, image_bytes=image_bytes, caller_key_id=None,
                                                      idempotency_key=None, enqueue=False)
        except (ServiceError, ProvenanceError) as error:
            raise click.ClickException(str(error)) from None
        if generation.status != "queued":
            raise click.ClickException(f"generation {generation.id} is {generation.status}: {generation.error_reason or ''}")
        finished = _run_with_progress(runtime, generation.id)
        if finished.status != "succeeded":
            raise click.ClickException(f"generation {finished.id} {finished.status}: {finished.error_reason}")
        output.write_bytes(runtime.storage.get(finished.video_key))
        click.echo(f"{output}  ({finished.output['frames']} frames, {finished.output['width']}x{finished.output['height']}, "
                   f"{finished.output['fps']} fps, {finished.video_bytes} bytes)  generation {finished.id}")
        for name, stage in finished.stages.items():
            click.echo(f"  {name:14s} {'ran' if stage.get('active') else 'inactive'}  {stage.get('detail', '')}")
    finally:
        runtime.stop()


def _run_with_progress(runtime, generation_id: str):
    from service.db import Generation

    worker = threading.Thread(target=runtime.runner.run, args=(generation_id,), daemon=True)
    worker.start()
    with click.progressbar(length=100, label="generating", file=sys.stderr, show_percent=True) as bar:
        shown = 0
        while True:
            worker.join(timeout=0.2)
            with runtime.db.session() as session:
                generation = session.get(Generation, generation_id)
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
@click.option("--scope", "scopes", multiple=True, required=True, help="generate, verify, audit, admin (repeat for several).")
@click.option("--name", default="", help="A label for operators.")
@click.option("--quiet", is_flag=True, help="Print only the secret (for scripts).")
def keys_create(scopes, name, quiet) -> None:
    from service import auth
    from service.errors import ServiceError

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
        click.echo(f"created {created.key_id} with scopes {', '.join(created.scopes)}; the secret is shown only now:\n{created.secret}")


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
    from service.errors import ServiceError

    runtime = _runtime()
    runtime.db.migrate()
    try:
        auth.revoke_key(runtime.db, key_id)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked {key_id}")


@main.command("settings")
def show_settings() -> None:
    """Print every setting (environment variable, default, meaning)."""
    click.echo(settings_table())


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


if __name__ == "__main__":
    main()
