"""The auditor's and policy author's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SHARED_DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "evals" / "prompts_dev.jsonl"
HELDOUT = Path(__file__).resolve().parents[1] / "safety" / "data" / "prompts_heldout.jsonl"


def run(*arguments, data_dir, check=True):
    env = dict(os.environ, ORIGINFRAME_DATA_DIR=str(data_dir))
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_policy_eval_prints_recall_and_false_blocks(tmp_path):
    dataset = SHARED_DEV_SET if SHARED_DEV_SET.exists() else HELDOUT
    report = json.loads(run("policy", "eval", str(dataset), "--json", data_dir=tmp_path).stdout)
    assert report["block_recall"] >= 0.95 and report["false_block_rate"] <= 0.05
    table = run("policy", "eval", str(HELDOUT), data_dir=tmp_path).stdout
    assert "precision" in table and "false blocks (allow rows)" in table


def test_policy_check_refuses_a_bad_file_with_the_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: x\n")
    result = run("policy", "check", str(bad), data_dir=tmp_path, check=False)
    assert result.returncode != 0 and "bad.yaml" in result.stderr


def test_screen_then_audit_verify_and_export(tmp_path):
    assert run("screen", "--prompt", "hardcore porn scene", data_dir=tmp_path).stdout.startswith("block  sexual")
    run("screen", "--prompt", "a windmill at sunset", data_dir=tmp_path)
    assert run("audit", "verify", data_dir=tmp_path).stdout.startswith("ok: 2 records")
    lines = run("audit", "export", "--format", "jsonl", data_dir=tmp_path).stdout.splitlines()
    assert [json.loads(line)["decision"] for line in lines] == ["block", "allow"]

    import sqlite3

    with sqlite3.connect(
        tmp_path / "originframe.db"
    ) as connection:  # delete the first record behind the service's back
        connection.execute("DELETE FROM decisions WHERE sequence = 0")
    broken = run("audit", "verify", data_dir=tmp_path, check=False)
    assert broken.returncode == 1 and "BROKEN at record 1" in broken.stderr and "deleted" in broken.stderr
