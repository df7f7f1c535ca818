"""Originframe safety: policy screening of prompts, input images and output frames.

    from safety import Screener
    screener = Screener()                      # default policy, no CLIP weights
    result = screener.screen_prompt("a red fox in the snow")
    result.decision                            # "allow" | "allow_with_label" | "review" | "block"
    result.public_view()                       # {"decision": ..., "categories": [...]}

Importing the package loads no model and reads no file; models load on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from .audit import GENESIS_HASH, ChainReport, canonical_json, chain_hash, seal_record, verify_chain
from .clip_classifier import ClipClassifier, ClipConfig
from .decision import ACTIONS, CategoryResult, Evidence, Screening, SignalReport
from .errors import PolicyError, SafetyError, ScreeningInputError
from .evaluation import EvalReport, evaluate, load_eval_rows
from .image_signals import ImageSignalConfig
from .label import burn_label
from .normalize import normalize_text
from .policy import Policy, PolicyStore, load_policy
from .screener import Screener
from .text_model import TextModelConfig

__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "CategoryResult",
    "ChainReport",
    "ClipClassifier",
    "ClipConfig",
    "EvalReport",
    "Evidence",
    "ImageSignalConfig",
    "Policy",
    "PolicyError",
    "PolicyStore",
    "SafetyError",
    "Screener",
    "Screening",
    "ScreeningInputError",
    "SignalReport",
    "TextModelConfig",
    "burn_label",
    "canonical_json",
    "chain_hash",
    "default_screener",
    "evaluate",
    "load_eval_rows",
    "load_policy",
    "normalize_text",
    "screen_frames",
    "screen_image",
    "screen_prompt",
    "screen_request",
    "seal_record",
    "verify_chain",
]

_default: Screener | None = None
_default_lock = threading.Lock()


def default_screener() -> Screener:
    """A process-wide screener on the default policy (created on first call)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Screener()
        return _default


def screen_prompt(text: str, negative_prompt: str | None = None) -> Screening:
    return default_screener().screen_prompt(text, negative_prompt)


def screen_image(image: Any) -> Screening:
    return default_screener().screen_image(image)


def screen_request(prompt: str | None = None, image: Any = None, negative_prompt: str | None = None) -> Screening:
    return default_screener().screen_request(prompt, image, negative_prompt)


def screen_frames(frames: Any, *, sample: int | None = None) -> Screening:
    return default_screener().screen_frames(frames, sample=sample)
