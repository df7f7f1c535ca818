"""The Audit page: filter the decision log, see the chain status, export what the filter selects."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.web.conftest import bearer


def test_filter_the_decision_log_check_the_chain_and_export(open_page, web_app, api):
    app_key = web_app.key("generate", name="desk")
    app_key_id = api.get("/v1/keys/me", headers=bearer(app_key)).json()["id"]
    for prompt in ("a red fox in the snow", "hardcore porn scene", "a paper boat on a pond"):
        assert api.post("/v1/screenings", json={"prompt": prompt}, headers=bearer(app_key)).status_code == 200

    page = open_page("/audit", key=web_app.key("audit", name="auditor"))
    page.locator("#chain-status .chain-ok").wait_for()
    assert "Intact." in page.locator("#chain-status").inner_text()
    assert (
        page.locator("#chain-status code.hash").inner_text()
        == api.get("/v1/audit/verify", headers=bearer(web_app.key("audit"))).json()["head_hash"]
    )
    page.locator("#audit-table[data-loaded]").wait_for()
    assert page.locator("#audit-table tbody tr:not(.record-detail)").count() >= 3

    page.fill("#f-api-key", app_key_id)
    page.select_option("#f-decision", "block")
    page.click("#audit-filters button[type=submit]")
    page.locator("#audit-status", has_text="1 decision shown").wait_for()
    rows = page.locator("#audit-table tbody tr:not(.record-detail)")
    assert rows.count() == 1 and rows.first.get_attribute("data-decision") == "block"
    assert rows.first.locator(".chip[data-category=sexual]").is_visible()
    assert "decision=block" in page.url and f"api_key={app_key_id}" in page.url  # a shareable filtered view
    rows.first.locator("button", has_text="Show").click()
    record = json.loads(page.locator("#audit-table tr.record-detail:not([hidden]) pre").inner_text())
    assert record["kind"] == "screening" and record["categories"] == ["sexual"] and record["record_hash"]

    with page.expect_download() as saved:
        page.click("#export-jsonl")
    assert saved.value.suggested_filename == "decisions.jsonl"
    lines = Path(saved.value.path()).read_text().splitlines()
    assert [json.loads(line)["decision"] for line in lines] == ["block"]

    page.select_option("#f-decision", "")
    page.click("#audit-filters button[type=submit]")
    page.locator("#audit-status", has_text="3 decisions shown").wait_for()
    with page.expect_download() as saved:
        page.click("#export-csv")
    assert saved.value.suggested_filename == "decisions.csv"
    table = list(csv.DictReader(io.StringIO(Path(saved.value.path()).read_text())))
    assert [row["decision"] for row in table] == ["allow", "block", "allow"]
    assert {row["api_key_id"] for row in table} == {app_key_id}


def test_a_bad_filter_shows_the_api_reason(open_page, web_app):
    page = open_page("/audit", key=web_app.key("audit", name="auditor"))
    page.locator("#audit-table[data-loaded]").wait_for()
    page.fill("#f-category", "sexual,violence_gore")
    page.click("#audit-filters button[type=submit]")
    problem = page.locator("#audit-problem .problem")
    problem.wait_for()
    assert "single category" in problem.inner_text() and problem.get_attribute("data-status") == "422"
    assert page.locator("#audit-table tbody tr").count() == 0
