"""Originframe's default dependencies stay permissive; copyleft ones only as optional extras.

The closure of what `pip install originframe` brings (no extras) is walked from the installed
metadata, each package's licence is read by pip-licenses, and anything copyleft or unknown that
no one has reviewed fails the suite: adding such a dependency has to be a decision, written down
here with its reason.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

COPYLEFT = re.compile(r"\b(A?GPL|LGPL|GNU|SSPL|EUPL|OSL|CDDL|EPL|MPL|Mozilla|CC-BY-SA|GFDL|Affero)", re.IGNORECASE)
PERMISSIVE = re.compile(
    r"\b(MIT|BSD|Apache|ISC|PSF|Python Software Foundation|Unlicense|Zlib|HPND|0BSD|CC0)", re.IGNORECASE
)

# Reviewed exceptions: (package, why it is acceptable as a default dependency).
REVIEWED = {
    # MPL-2.0 is file-level copyleft: only modified MPL files must be published. Both are
    # required by packages we cannot do without (httpx/requests; huggingface_hub/transformers)
    # and are used unmodified.
    "certifi": "MPL-2.0, the CA bundle, used unmodified (required by httpx and requests)",
    "tqdm": "MPL-2.0 AND MIT, used unmodified (required by huggingface_hub and transformers)",
    # metadata without a licence field; the licence file says
    "huey": "MIT (its LICENSE file; the metadata has no licence field)",
    # the CUDA build of torch pulls NVIDIA's runtime libraries: proprietary but redistributable,
    # not copyleft, and absent with a CPU build of torch
    "cuda-toolkit": "NVIDIA CUDA EULA (metapackage of the CUDA build of torch)",
}
NVIDIA_RUNTIME = re.compile(r"^nvidia-")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def default_dependency_closure(distribution: str = "originframe") -> set[str]:
    """Every package `pip install <distribution>` installs, without any optional extra."""
    seen: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [(distribution, frozenset())]
    while pending:
        name, extras = pending.pop()
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            ):
                continue
            key = _name(requirement.name)
            if key in seen:
                continue
            seen.add(key)
            try:
                metadata.distribution(requirement.name)
            except metadata.PackageNotFoundError:
                continue  # a marker-less requirement for another platform's wheel
            pending.append((requirement.name, frozenset(requirement.extras)))
    return seen


def licences(packages: set[str]) -> dict[str, str]:
    command = [
        str(Path(sys.executable).with_name("pip-licenses")),
        "--from=mixed",
        "--format=json",
        "--packages",
        *sorted(packages),
    ]
    found = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {_name(entry["Name"]): entry["License"] for entry in found}


def test_default_dependencies_are_permissive_or_reviewed() -> None:
    closure = default_dependency_closure()
    assert {"litestar", "c2pa-python", "diffusers"} <= closure  # the walk really reached the tree
    found = licences(closure)
    problems = []
    for package in sorted(closure & found.keys()):
        licence = found[package]
        if package in REVIEWED or NVIDIA_RUNTIME.match(package):
            continue
        if COPYLEFT.search(licence) or not PERMISSIVE.search(licence):
            problems.append(f"{package}: {licence.splitlines()[0] if licence else 'no licence'}")
    assert not problems, (
        "default dependencies that are copyleft or of unknown licence (make them an optional "
        "extra, or review them in REVIEWED with the reason): " + "; ".join(problems)
    )


def test_postgresql_driver_is_only_an_extra() -> None:
    """psycopg is LGPL-3.0: a fleet installs it with `originframe[postgresql]`."""
    closure = default_dependency_closure()
    assert "psycopg" not in closure
    extras = metadata.metadata("originframe").get_all("Provides-Extra") or []
    assert "postgresql" in extras


@pytest.mark.parametrize(
    "licence, copyleft",
    [
        ("LGPL-3.0-only", True),
        ("GNU Affero General Public License v3", True),
        ("MIT License", False),
        ("Apache-2.0", False),
    ],
)
def test_classifier_tells_copyleft_from_permissive(licence: str, copyleft: bool) -> None:
    assert bool(COPYLEFT.search(licence)) is copyleft
