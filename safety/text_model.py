"""Optional learned text moderation: a Llama Guard style safety model run through transformers.

Inactive unless a deployment points `TextModelConfig.path` at a local model directory (nothing
is downloaded). The model reads the prompt in a chat template and answers "safe" or
"unsafe" followed by hazard codes ("S1,S10"); the policy's `text_model.categories` maps each
code to a policy category, whose `text_model` thresholds then apply like any other signal's.
An answer that cannot be parsed flags nothing and says so in the evidence.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .decision import Evidence, SignalHit, SignalOutput, SignalReport

__all__ = ["TextModel", "TextModelConfig", "Verdict", "parse_verdict"]

_CODE = re.compile(r"\bS(\d{1,2})\b")


@dataclass(frozen=True)
class TextModelConfig:
    path: str | None = None  # local directory with config, weights and tokenizer
    max_new_tokens: int = 10
    device: str = "cpu"
    multilingual: bool = False  # True: the model reads every language, so nothing is "unread"


@dataclass(frozen=True)
class Verdict:
    parsed: bool
    unsafe: bool
    codes: tuple[str, ...]
    raw: str


def parse_verdict(text: str) -> Verdict:
    """Read a Llama Guard answer: 'safe', or 'unsafe' and a line of codes."""
    words = text.strip().lower().split()
    if not words:
        return Verdict(False, False, (), text)
    if words[0] == "safe":
        return Verdict(True, False, (), text)
    if words[0] == "unsafe":
        return Verdict(True, True, tuple(f"S{n}" for n in _CODE.findall(text.upper())), text)
    return Verdict(False, False, (), text)


class TextModel:
    def __init__(self, config: TextModelConfig | None = None):
        self.config = config or TextModelConfig()
        self._model: Any = None
        self._tokenizer: Any = None
        self._error = ""
        self._lock = threading.Lock()

    def status(self) -> tuple[bool, str]:
        if not self.config.path:
            return False, "no text moderation model configured (set a local model path)"
        if not Path(self.config.path).is_dir():
            return False, f"text moderation model directory not found: {self.config.path}"
        return (False, self._error) if self._error else (True, "")

    @property
    def version(self) -> str:
        return f"text-model@{Path(self.config.path or '').name}"

    def load(self) -> bool:
        with self._lock:
            if self._model is not None:
                return True
            ok, _ = self.status()
            if not ok:
                return False
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                path = self.config.path
                assert path is not None  # status() checked it
                self._tokenizer = AutoTokenizer.from_pretrained(path)
                # transformers types .to() through a decorator that mypy reads as taking the model itself
                model: Any = AutoModelForCausalLM.from_pretrained(path)
                self._model = model.to(self.config.device).eval()
            except Exception as exc:  # a broken directory is reported, not raised into a request
                self._error = f"text moderation model failed to load: {type(exc).__name__}: {exc}"[:300]
                return False
            return True

    def generate(self, prompt: str) -> str:
        import torch

        messages = [{"role": "user", "content": prompt}]
        ids = self._tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        if not isinstance(ids, torch.Tensor):  # newer transformers return a BatchEncoding
            ids = ids["input_ids"]
        ids = ids.to(self.config.device)
        with torch.inference_mode():
            out = self._model.generate(
                ids,
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                pad_token_id=self._tokenizer.pad_token_id or 0,
            )
        return self._tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)

    def run(self, prompt: str, code_categories: Mapping[str, str]) -> SignalOutput:
        started = time.perf_counter()
        ok, reason = self.status()
        if not ok or not self.load():
            ok, reason = self.status()
            return SignalOutput(
                SignalReport(name="text_model", active=False, stage="prompt", reason_if_inactive=reason)
            )
        verdict = parse_verdict(self.generate(prompt))
        hits: dict[str, SignalHit] = {}
        if verdict.unsafe:
            for code in verdict.codes:
                category = code_categories.get(code)
                if category:
                    hits.setdefault(category, SignalHit(score=1.0, evidence=[]))
                    hits[category].evidence.append(
                        Evidence(
                            signal="text_model", kind="model_score", value=code, detail=f"hazard {code}", score=1.0
                        )
                    )
        report = SignalReport(
            name="text_model",
            active=True,
            stage="prompt",
            version=self.version,
            scores={c: h.score for c, h in hits.items()},
            reason_if_inactive="" if verdict.parsed else f"answer not understood: {verdict.raw[:80]!r}",
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return SignalOutput(report=report, hits=hits)
