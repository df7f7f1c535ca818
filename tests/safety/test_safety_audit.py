"""The tamper-evident chain: an edited, deleted, reordered or truncated log is detected and located."""

import json

import pytest

from safety import GENESIS_HASH, canonical_json, chain_hash, seal_record, verify_chain


def build_chain(n=6):
    records, prev = [], GENESIS_HASH
    for i in range(n):
        body = {
            "decision": "block" if i % 2 else "allow",
            "categories": ["sexual"] if i % 2 else [],
            "policy_version": "abc123",
            "score": 0.1 * i,
            "created_at": f"2026-01-0{i + 1}T00:00:00Z",
        }
        record = seal_record(body, sequence=i, previous_hash=prev)
        records.append(record)
        prev = record["record_hash"]
    return records


def test_intact_chain_verifies():
    chain = build_chain()
    report = verify_chain(chain)
    assert report.ok and report.checked == 6 and report.head_hash == chain[-1]["record_hash"]
    assert verify_chain(chain, expected_head=chain[-1]["record_hash"]).ok
    assert verify_chain([]).ok


def test_chain_survives_a_json_round_trip():
    chain = json.loads(json.dumps(build_chain()))
    assert verify_chain(chain).ok


def test_canonical_json_is_order_independent_and_strict():
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == canonical_json({"a": [1.5, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError):
        chain_hash("short", {"a": 1})


def test_edited_record_is_located():
    chain = build_chain()
    assert chain[3]["decision"] == "block"
    chain[3] = dict(chain[3], decision="allow")
    report = verify_chain(chain)
    assert not report.ok and report.problem == "edited"
    assert report.first_bad_position == 3 and report.first_bad_sequence == 3 and report.checked == 4


def test_edited_and_rehashed_record_is_located():
    chain = build_chain()
    forged = {k: v for k, v in chain[2].items() if k != "record_hash"}
    assert forged["decision"] == "allow"
    forged["decision"] = "block"
    forged["record_hash"] = chain_hash(forged["previous_hash"], forged)
    chain[2] = forged
    report = verify_chain(chain)
    assert report.problem == "edited" and report.first_bad_position == 2 and report.first_bad_sequence == 2


def test_deleted_record_is_located():
    chain = build_chain()
    del chain[2]
    report = verify_chain(chain)
    assert report.problem == "deleted" and report.first_bad_position == 2 and report.first_bad_sequence == 3
    assert "1 record(s) missing before record 3" in report.detail


def test_deleted_first_record_is_detected():
    report = verify_chain(build_chain()[1:])
    assert report.problem == "deleted" and report.first_bad_position == 0


def test_reordered_records_are_located():
    chain = build_chain()
    chain[2], chain[4] = chain[4], chain[2]
    report = verify_chain(chain)
    assert report.problem == "reordered" and report.first_bad_position == 2 and report.first_bad_sequence == 4


def test_duplicated_record_is_located():
    chain = build_chain()
    chain.insert(3, chain[2])
    report = verify_chain(chain)
    assert report.problem == "duplicated" and report.first_bad_position == 3


def test_truncated_tail_needs_the_head_anchor():
    chain = build_chain()
    head = chain[-1]["record_hash"]
    assert verify_chain(chain[:-2]).ok  # undetectable from the records alone...
    report = verify_chain(chain[:-2], expected_head=head)
    assert report.problem == "truncated" and report.first_bad_sequence == 4  # ...but not against the anchor


def test_window_of_a_long_log_verifies_from_its_predecessor():
    chain = build_chain(10)
    window = chain[5:8]
    assert verify_chain(window, previous_hash=chain[4]["record_hash"], start_sequence=5).ok
    assert verify_chain(window).problem == "deleted"


def test_malformed_records_are_reported():
    chain = build_chain()
    del chain[1]["previous_hash"]
    report = verify_chain(chain)
    assert report.problem == "malformed" and report.first_bad_position == 1


def test_seal_refuses_chain_fields_in_the_body():
    with pytest.raises(ValueError):
        seal_record({"sequence": 3}, sequence=0)


def test_screening_records_chain(screener):
    records, prev = [], GENESIS_HASH
    for i, prompt in enumerate(["a fox", "nude woman", "Macron dancing"]):
        body = {"screening": screener.screen_prompt(prompt).to_record()}
        records.append(seal_record(body, sequence=i, previous_hash=prev))
        prev = records[-1]["record_hash"]
    assert verify_chain(json.loads(json.dumps(records))).ok


# signed checkpoints of the head -------------------------------------------------------------


def _checkpointed(n=6):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from safety.audit_checkpoints import sign_checkpoint

    key = Ed25519PrivateKey.generate()
    chain = build_chain(n)
    checkpoints = [
        sign_checkpoint(key, sequence=r["sequence"], record_hash=r["record_hash"], created_at=r["created_at"])
        for r in chain
    ]
    return key, chain, checkpoints


def _hashes(chain):
    return {r["sequence"]: r["record_hash"] for r in chain}


def test_checkpoints_pin_the_head_against_truncation_and_emptying():
    from safety.audit_checkpoints import check_against_checkpoints

    key, chain, checkpoints = _checkpointed()
    assert check_against_checkpoints(_hashes(chain), checkpoints, key.public_key()).ok
    cut = check_against_checkpoints(_hashes(chain[:-2]), checkpoints, key.public_key())
    assert not cut.ok and cut.problem == "truncated" and cut.first_bad_sequence == 4
    emptied = check_against_checkpoints({}, checkpoints, key.public_key())
    assert not emptied.ok and emptied.problem == "truncated" and emptied.first_bad_sequence == 0
    # records newer than the latest checkpoint are reported, not hidden
    early = check_against_checkpoints(_hashes(chain), checkpoints[:3], key.public_key())
    assert early.ok and early.latest_sequence == 2 and early.unanchored_records == 3


def test_a_resealed_chain_is_internally_consistent_but_not_with_its_checkpoints():
    from safety.audit_checkpoints import check_against_checkpoints

    key, chain, checkpoints = _checkpointed()
    forged, previous = [], GENESIS_HASH
    for record in chain:  # an insider edits record 1 and re-seals everything after it
        body = {k: v for k, v in record.items() if k not in ("sequence", "previous_hash", "record_hash")}
        if record["sequence"] == 1:
            body["decision"] = "allow"
        forged.append(seal_record(body, sequence=record["sequence"], previous_hash=previous))
        previous = forged[-1]["record_hash"]
    assert verify_chain(forged).ok
    report = check_against_checkpoints(_hashes(forged), checkpoints, key.public_key())
    assert not report.ok and report.problem == "resealed" and report.first_bad_sequence == 1


def test_checkpoints_signed_by_another_key_or_edited_are_forgeries():
    from dataclasses import replace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from safety.audit_checkpoints import check_against_checkpoints, sign_checkpoint, verify_signature

    key, chain, checkpoints = _checkpointed()
    assert all(verify_signature(c, key.public_key()) for c in checkpoints)
    moved = replace(checkpoints[-1], sequence=2)  # an old signature reused for another position
    assert not verify_signature(moved, key.public_key())
    other = sign_checkpoint(
        Ed25519PrivateKey.generate(), sequence=2, record_hash=chain[2]["record_hash"], created_at="x"
    )
    for bad in (moved, other):
        report = check_against_checkpoints(_hashes(chain), [*checkpoints, bad], key.public_key())
        assert not report.ok and report.problem == "forged_checkpoint"


def test_checkpoint_file_is_append_only_lines_and_the_key_file_is_private(tmp_path):
    import stat

    from safety.audit_checkpoints import CheckpointFile, load_or_create_signing_key, sign_checkpoint

    key = load_or_create_signing_key(tmp_path / "keys" / "checkpoint.key")
    assert stat.S_IMODE((tmp_path / "keys" / "checkpoint.key").stat().st_mode) == 0o600
    again = load_or_create_signing_key(tmp_path / "keys" / "checkpoint.key")
    assert again.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    store = CheckpointFile(tmp_path / "audit" / "checkpoints.jsonl")
    for sequence in range(3):
        store.append(
            sign_checkpoint(key, sequence=sequence, record_hash="ab" * 32, created_at="2026-12-01T00:00:00+00:00")
        )
    with (tmp_path / "audit" / "checkpoints.jsonl").open("a") as file:
        file.write('{"torn": \n')
    checkpoints, malformed = store.read()
    assert [c.sequence for c in checkpoints] == [0, 1, 2] and malformed == 1
