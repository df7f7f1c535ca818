"""The per-key limit holds when requests race at it from several API processes at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from service.db import Generation
from tests.service.conftest import key_for

LIMIT = 3
RACERS = 8


def test_racing_requests_cannot_pass_the_limit_together(database_url, app_factory):
    overrides = dict(embedded_worker=False, max_active_generations_per_key=LIMIT, database_url=database_url)
    # two API apps on one database, as two processes behind a load balancer would be
    apps = [app_factory(**overrides), app_factory(**overrides)]
    headers = key_for(apps[0], "generate")
    start = threading.Barrier(RACERS)

    def submit(index: int) -> int:
        start.wait()
        body = {"prompt": f"a lighthouse {index}", "num_frames": 3}
        return apps[index % 2].post("/v1/generations", json=body, headers=headers).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        codes = sorted(pool.map(submit, range(RACERS)))
    assert codes == [202] * LIMIT + [429] * (RACERS - LIMIT)
    with apps[0].app.state.runtime.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(Generation).where(Generation.status == "queued")) == LIMIT
        )
