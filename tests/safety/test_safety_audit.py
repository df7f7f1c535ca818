"""The tamper-evident chain: an edited, deleted, reordered or truncated log is detected and located."""

import json

import pytest

from safety import GENESIS_HASH, canonical_json, chain_hash, seal_record, verify_chain


def build_chain(n=6):
    records, prev = [], GENESIS_HASH
    for i in range(n):
        body = {"decision": "block" if i % 2 else "allow", "categories": ["sexual"] if i % 2 else [],
                "policy_version": "abc123", "score": 0.1 * i, "created_at": f"2026-01-0{i + 1}T00:00:00Z"}
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
