"""The Python client is checked against the contract: every request it makes is an operation of
docs/openapi.json, and every struct it decodes is the one that operation documents."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())


def _text(node: ast.expr) -> str:
    """A string constant, or an f-string with each placeholder written as {name}."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    assert isinstance(node, ast.JoinedStr), ast.unparse(node)
    parts = []
    for part in node.values:
        if isinstance(part, ast.FormattedValue):
            parts.append("{" + ast.unparse(part.value) + "}")
        elif isinstance(part, ast.Constant):
            parts.append(str(part.value))
    return "".join(parts)


def _client_calls() -> set[tuple[str, str]]:
    """(method, path template) of each request in service/client.py."""
    tree = ast.parse((ROOT / "service" / "client.py").read_text())
    calls = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("_send", "stream")):
            continue
        calls.add((_text(node.args[0]).lower(), _text(node.args[1])))
    return calls


def _operation(method: str, template: str) -> dict | None:
    pattern = re.sub(r"\{[^}]+\}", "{}", template)
    for path, operations in DOCUMENT["paths"].items():
        if re.sub(r"\{[^}]+\}", "{}", path) == pattern and method in operations:
            return operations[method]
    return None


def test_every_request_of_the_client_is_a_documented_operation():
    calls = _client_calls()
    assert len(calls) >= 11
    missing = sorted(f"{m.upper()} {p}" for m, p in calls if _operation(m, p) is None)
    assert missing == []


def test_the_client_decodes_each_answer_into_the_documented_struct():
    tree = ast.parse((ROOT / "service" / "client.py").read_text())
    checked = 0
    for node in ast.walk(tree):
        # _decode(self._send("GET", "/v1/..."), Struct)  or  _decode(await self._send(...), Struct)
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_decode"):
            continue
        sent, struct = node.args
        if isinstance(sent, ast.Await):
            sent = sent.value
        assert isinstance(sent, ast.Call) and isinstance(struct, ast.Name), ast.unparse(node)
        method, template = _text(sent.args[0]).lower(), _text(sent.args[1])
        operation = _operation(method, template)
        assert operation is not None, template
        success = next(answer for code, answer in operation["responses"].items() if code.startswith("2"))
        schema = success["content"]["application/json"]["schema"]
        assert schema["$ref"].rsplit("/", 1)[1] == struct.id, (method, template, schema, struct.id)
        checked += 1
    assert checked >= 18  # both clients, nine decoded answers each
