"""Declarative screening policies shipped with Originframe (YAML data, no code).

`default.yaml` is the policy the service uses unless configured otherwise; it references
one term file per language under `terms/` and the public-figures list.
"""

from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_PATH = POLICY_DIR / "default.yaml"

__all__ = ["DEFAULT_POLICY_PATH", "POLICY_DIR"]
