"""Issue 11, item 4: every way an insider with database access can shorten, back-date or
rewrite the decision log is detected by `audit verify` with no extra argument."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from safety.audit import GENESIS_HASH, canonical_json, seal_record
from service.db import Decision
from tests.service.conftest import key_for


@pytest.fixture
def logged(database_url, app_factory):
    """An app with five decisions in its log (screenings: allowed and blocked)."""
    client = app_factory(embedded_worker=False, database_url=database_url)
    screener = key_for(client, "generate")
    for prompt in ("a red fox in snow", "a lighthouse", "a bowl of fruit", "a city at night", "a quiet harbour"):
        assert client.post("/v1/screenings", json={"prompt": prompt}, headers=screener).status_code == 200
    auditor = key_for(client, "audit")
    report = client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is True and report["checked"] == 5
    assert report["checkpoints"]["checked"] == 5 and report["checkpoints"]["unanchored_records"] == 0
    return client, auditor


def _verify(client, auditor) -> dict:
    return client.get("/v1/audit/verify", headers=auditor).json()


def test_editing_a_record_is_detected(logged):
    client, auditor = logged
    with client.app.state.runtime.db.session() as session:
        row = session.scalar(select(Decision).where(Decision.sequence == 2))
        row.body = json.dumps(dict(json.loads(row.body), decision="block"))
    report = _verify(client, auditor)
    assert report["ok"] is False and report["problem"] == "edited" and report["first_bad_sequence"] == 2


def test_back_dating_a_record_is_detected(logged):
    client, auditor = logged
    with client.app.state.runtime.db.session() as session:
        row = session.scalar(select(Decision).where(Decision.sequence == 1))
        row.created_at = row.created_at - timedelta(days=400)  # it would drop out of time-filtered exports
    report = _verify(client, auditor)
    assert report["ok"] is False and report["first_bad_sequence"] == 1 and "created_at" in report["detail"]


def test_deleting_the_newest_records_is_detected(logged):
    client, auditor = logged
    with client.app.state.runtime.db.session() as session:
        session.execute(delete(Decision).where(Decision.sequence >= 3))
    report = _verify(client, auditor)
    assert report["ok"] is False and report["problem"] == "truncated" and report["first_bad_sequence"] == 3


def test_deleting_every_record_is_detected(logged):
    client, auditor = logged
    with client.app.state.runtime.db.session() as session:
        session.execute(delete(Decision))
    report = _verify(client, auditor)
    assert report["ok"] is False and report["problem"] == "truncated" and report["checked"] == 0


def test_re_sealing_the_whole_chain_after_an_edit_is_detected(logged):
    client, auditor = logged
    with client.app.state.runtime.db.session() as session:
        previous = GENESIS_HASH
        for row in session.scalars(select(Decision).order_by(Decision.sequence)):
            body = {
                k: v for k, v in json.loads(row.body).items() if k not in ("sequence", "previous_hash", "record_hash")
            }
            if row.sequence == 0:
                body["decision"] = row.decision = "block"
            sealed = seal_record(body, sequence=row.sequence, previous_hash=previous)
            row.body, row.previous_hash, row.record_hash = (
                canonical_json(sealed).decode(),
                previous,
                sealed["record_hash"],
            )
            previous = sealed["record_hash"]
    report = _verify(client, auditor)
    assert report["ok"] is False and report["problem"] == "resealed" and report["first_bad_sequence"] == 0


def test_checkpoints_are_exported_with_their_public_key(logged):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from safety.audit_checkpoints import Checkpoint, verify_signature

    client, auditor = logged
    exported = client.get("/v1/audit/checkpoints", headers=auditor).json()
    public_key = load_pem_public_key(exported["public_key_pem"].encode())
    checkpoints = [Checkpoint.from_mapping(item) for item in exported["checkpoints"]]
    assert sorted(c.sequence for c in checkpoints) == [0, 1, 2, 3, 4]
    assert all(verify_signature(c, public_key) for c in checkpoints)
    records = [
        json.loads(line)
        for line in client.get("/v1/audit/decisions", params={"format": "jsonl"}, headers=auditor).text.splitlines()
    ]
    assert {c.sequence: c.record_hash for c in checkpoints} == {r["sequence"]: r["record_hash"] for r in records}
    assert client.get("/v1/audit/checkpoints", headers=key_for(client, "generate")).status_code == 403


def test_the_cli_checks_the_checkpoints_by_default_and_exports_them(tmp_path):
    import sqlite3

    from tests.service.test_cli_safety import run

    for prompt in ("a windmill at sunset", "a quiet harbour"):
        run("screen", "--prompt", prompt, data_dir=tmp_path)
    assert "consistent with 2 signed checkpoint(s)" in run("audit", "verify", data_dir=tmp_path).stdout
    checkpoints = tmp_path / "checkpoints.json"
    run("audit", "export", "-o", str(tmp_path / "log.jsonl"), "--checkpoints", str(checkpoints), data_dir=tmp_path)
    assert len(json.loads(checkpoints.read_text())["checkpoints"]) == 2
    with sqlite3.connect(tmp_path / "originframe.db") as connection:  # cut the newest record behind the service's back
        connection.execute("DELETE FROM decisions WHERE sequence = 1")
    broken = run("audit", "verify", data_dir=tmp_path, check=False)
    assert broken.returncode == 1 and "truncated" in broken.stderr and "record 1" in broken.stderr
