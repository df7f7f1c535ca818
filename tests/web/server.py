"""The real app served over HTTP by uvicorn in a thread, for a real browser to talk to.

Used by the browser tests' fixtures and by the screenshot script. The app is the one
`originframe serve` runs (create_app with the embedded worker), on a throwaway data directory.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from service import auth
from service.app import create_app
from tests.service.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
# no sandbox: CI containers run as root; the rest keeps Chromium from phoning home or stalling
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class RunningApp:
    base_url: str
    app: object

    @property
    def runtime(self):
        return self.app.state.runtime

    def key(self, *scopes: str, name: str = "web") -> str:
        return auth.create_key(self.runtime.db, list(scopes), name).secret


@contextlib.contextmanager
def running_app(data_dir: Path, models_dir: Path, start_timeout: float = 120.0, **overrides) -> Iterator[RunningApp]:
    app = create_app(make_settings(data_dir, models_dir, **overrides))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-web-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app's server stopped while starting (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the app's server did not start within {start_timeout}s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningApp(base_url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
