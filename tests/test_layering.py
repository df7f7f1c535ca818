"""The layering rules of docs/architecture.md, read from the source with ast (nothing is imported).

- safety/ and provenance/ are libraries: neither imports service/, nor each other.
- The web layer (service/api, service/web) only parses, authorises and translates: it never
  touches the database models' queries, the pipeline's stages, the backends or the job machinery
  directly; it calls the use cases.
- The use cases and the flow never import the web layer.
- No module name in service/ repeats a top-level package's name, or the name of a module of
  safety/ or provenance/, so a reader never has to ask which one is meant.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ("service", "safety", "provenance", "policies")


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every module an import statement in this file names (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for module, path in _modules(package).items():
        for name in sorted(_imports(path, module)):
            if any(name == banned or name.startswith(banned + ".") for banned in forbidden):
                found.append(f"{module} imports {name}")
    return found


def test_the_rules_see_every_package():
    """A guard for the guard: the walk finds the modules and their imports."""
    assert "service.runtime" in _modules("service") and "safety.screener" in _modules("safety")
    assert "service.settings" in _imports(_modules("service")["service.runtime"], "service.runtime")


@pytest.mark.parametrize(
    "library, others", [("safety", ("service", "provenance")), ("provenance", ("service", "safety"))]
)
def test_the_libraries_import_neither_the_service_nor_each_other(library, others):
    assert _violations(library, others) == []


# What the web layer may not reach past the use cases for (the composition root it may hold:
# the runtime is how a handler finds the use cases).
WEB_FORBIDDEN = (
    "service.backends",
    "service.pipeline",
    "service.jobs",
    "service.db",
    "sqlalchemy",
    "torch",
    "safety",
    "provenance",
)
# the libraries' errors are what the web layer translates (service/api/problem_details.py)
WEB_ALLOWED = ("safety.errors", "provenance.errors")


def _reaches_past(name: str) -> bool:
    if any(name == allowed or name.startswith(allowed + ".") for allowed in WEB_ALLOWED):
        return False
    return any(name == banned or name.startswith(banned + ".") for banned in WEB_FORBIDDEN)


@pytest.mark.parametrize("layer", ["service.api", "service.web"])
def test_the_web_layer_only_parses_authorises_and_translates(layer):
    found = []
    for module, path in _modules(layer.replace(".", "/")).items():
        found += [f"{module} imports {name}" for name in sorted(_imports(path, module)) if _reaches_past(name)]
    assert found == []


WEB = ("service.api", "service.web", "service.app", "litestar")
OUTSIDE_THE_FLOW = ("service.api", "service.web", "service.app", "service.cli", "service.client")


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_the_use_cases_and_the_flow_never_import_the_web_layer():
    found = []
    for module, path in _modules("service").items():
        if _within(module, OUTSIDE_THE_FLOW):
            continue
        found += [f"{module} imports {name}" for name in sorted(_imports(path, module)) if _within(name, WEB)]
    assert found == []


def test_no_service_module_repeats_a_library_name():
    taken = set(TOP_LEVEL) - {"service"}
    for library in ("safety", "provenance"):
        taken |= {module.rpartition(".")[2] for module in _modules(library) if module != library}
    repeated = sorted(module for module in _modules("service") if module.rpartition(".")[2] in taken)
    assert repeated == []


def test_no_two_service_modules_share_a_name():
    seen: dict[str, list[str]] = {}
    for module in _modules("service"):
        seen.setdefault(module.rpartition(".")[2], []).append(module)
    assert {name: modules for name, modules in seen.items() if len(modules) > 1} == {}
