"""Zero-shot CLIP classifier (open_clip) over prompts, input images and output frames.

Each policy category lists text descriptions of what it looks like; the classifier embeds
them once per policy version, together with the policy's benign descriptions, and scores an
input by how much closer it is to the category than to anything benign:

    p(category) = softmax(scale * [max_i cos(x, d_i), cos(x, b_1), ..., cos(x, b_k)])[0]

An optional heads file adds trained linear heads (sigmoid(W x + b)) per category, which
replace the zero-shot score for image inputs where present.

The model is configured by name and a *local* weights file (nothing is downloaded). With no
weights configured the classifier reports itself inactive, with the reason, in every
screening and in health checks. Nothing is loaded until the first screening that needs it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .decision import Evidence, SignalHit, SignalOutput, SignalReport

if TYPE_CHECKING:
    from .policy import Policy

__all__ = ["ClipClassifier", "ClipConfig"]

_FINGERPRINT_CHUNK = 8 << 20


@dataclass(frozen=True)
class ClipConfig:
    model_name: str | None = None  # an open_clip architecture name, e.g. "ViT-B-32"
    weights_path: str | None = None  # local checkpoint file for that architecture
    heads_path: str | None = None  # optional .npz with categories, weight [C, D], bias [C]
    device: str = "cpu"

    @property
    def configured(self) -> bool:
        return bool(self.model_name and self.weights_path)


def _fingerprint(path: Path) -> str:
    """sha256 of size + first and last 8 MiB: identifies a multi-GB checkpoint in milliseconds."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(_FINGERPRINT_CHUNK))
        if size > _FINGERPRINT_CHUNK:
            f.seek(max(_FINGERPRINT_CHUNK, size - _FINGERPRINT_CHUNK))
            h.update(f.read())
    return h.hexdigest()[:12]


@dataclass
class _Heads:
    categories: tuple[str, ...]
    weight: np.ndarray  # [C, D]
    bias: np.ndarray  # [C]
    fingerprint: str


def _load_heads(path: Path, embed_dim: int) -> _Heads:
    with np.load(path, allow_pickle=False) as data:
        missing = {"categories", "weight", "bias"} - set(data.files)
        if missing:
            raise ValueError(f"heads file {path} lacks array(s) {sorted(missing)}")
        categories = tuple(str(c) for c in data["categories"])
        weight = np.asarray(data["weight"], dtype=np.float32)
        bias = np.asarray(data["bias"], dtype=np.float32)
    if weight.shape != (len(categories), embed_dim) or bias.shape != (len(categories),):
        raise ValueError(
            f"heads file {path}: weight must be [{len(categories)}, {embed_dim}] and bias [{len(categories)}], "
            f"got {weight.shape} and {bias.shape}"
        )
    return _Heads(categories, weight, bias, _fingerprint(path))


@dataclass
class _PromptBank:
    """Embedded category and benign descriptions for one policy version."""

    categories: tuple[str, ...]
    descriptions: list[np.ndarray]  # per category: [n_c, D], L2-normalised
    benign: list[np.ndarray]  # per category: [n_b, D]


class ClipClassifier:
    def __init__(self, config: ClipConfig | None = None):
        self.config = config or ClipConfig()
        self._lock = threading.Lock()
        # open_clip's model, image transform and tokenizer (untyped)
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._heads: _Heads | None = None
        self._banks: dict[str, _PromptBank] = {}
        self._error = ""
        self._version = ""
        self._scale = 100.0

    # --- status ------------------------------------------------------------------------

    def status(self) -> tuple[bool, str]:
        """(usable, reason if not), without loading anything."""
        cfg = self.config
        if self._error:
            return False, self._error
        if not cfg.model_name or not cfg.weights_path:
            return False, "no CLIP model weights configured (set a model name and a local weights file)"
        if not Path(cfg.weights_path).is_file():
            return False, f"CLIP weights file not found: {cfg.weights_path}"
        if cfg.heads_path and not Path(cfg.heads_path).is_file():
            return False, f"CLIP heads file not found: {cfg.heads_path}"
        return True, ""

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def version(self) -> str:
        return self._version

    def describe(self) -> dict[str, Any]:
        ok, reason = self.status()
        return {
            "name": "clip",
            "active": ok,
            "loaded": self.loaded,
            "model": self.config.model_name,
            "version": self._version,
            "reason_if_inactive": reason,
        }

    # --- loading -----------------------------------------------------------------------

    def load(self) -> bool:
        """Load the model now (normally lazy). Returns whether it is usable."""
        with self._lock:
            if self._model is not None:
                return True
            ok, _ = self.status()
            if not ok:
                return False
            cfg = self.config
            assert cfg.weights_path is not None  # status() checked it
            try:
                import open_clip
                import torch

                model, _, preprocess = open_clip.create_model_and_transforms(
                    cfg.model_name, pretrained=str(cfg.weights_path), device=cfg.device
                )
                model.eval()
                tokenizer = open_clip.get_tokenizer(cfg.model_name)
                heads = None
                if cfg.heads_path:
                    with torch.inference_mode():
                        embed_dim = int(model.encode_text(tokenizer(["x"]).to(cfg.device)).shape[-1])
                    heads = _load_heads(Path(cfg.heads_path), embed_dim)
                scale = float(model.logit_scale.exp().item()) if hasattr(model, "logit_scale") else 100.0
            except Exception as exc:  # a broken model is an inactive signal, not a crash
                self._error = f"CLIP model failed to load: {type(exc).__name__}: {exc}"
                return False
            version = f"{cfg.model_name}@{_fingerprint(Path(cfg.weights_path))}"
            if heads is not None:
                version += f"+heads@{heads.fingerprint}"
            self._model, self._preprocess, self._tokenizer, self._heads = model, preprocess, tokenizer, heads
            self._scale = min(scale, 100.0)
            self._version = version
            return True

    # --- embeddings --------------------------------------------------------------------

    def _embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            tokens = self._tokenizer(list(texts)).to(self.config.device)
            emb = self._model.encode_text(tokens).float()
            emb = emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return emb.cpu().numpy()

    def _embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch
        from PIL import Image

        with torch.inference_mode():
            batch = torch.stack([self._preprocess(Image.fromarray(img)) for img in images]).to(self.config.device)
            emb = self._model.encode_image(batch).float()
            emb = emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return emb.cpu().numpy()

    def _bank(self, policy: Policy) -> _PromptBank:
        bank = self._banks.get(policy.digest)
        if bank is not None:
            return bank
        # Categories without descriptions (e.g. the language-coverage one) are not for CLIP.
        names = tuple(n for n, c in policy.categories.items() if c.enabled and c.clip_descriptions)
        descriptions, benign = [], []
        cache: dict[tuple[str, ...], np.ndarray] = {}
        for n in names:
            c = policy.categories[n]
            descriptions.append(self._embed_texts(c.clip_descriptions))
            key = tuple(c.clip_benign)
            if key not in cache:
                cache[key] = self._embed_texts(key)
            benign.append(cache[key])
        bank = _PromptBank(names, descriptions, benign)
        self._banks = {policy.digest: bank}  # only the policy in force is kept
        return bank

    def _zero_shot(self, emb: np.ndarray, bank: _PromptBank) -> np.ndarray:
        """[N, C] category probabilities against the benign descriptions."""
        out = np.zeros((emb.shape[0], len(bank.categories)), dtype=np.float64)
        for j, (desc, benign) in enumerate(zip(bank.descriptions, bank.benign, strict=True)):
            pos = (emb @ desc.T).max(axis=1, keepdims=True)
            logits = self._scale * np.concatenate([pos, emb @ benign.T], axis=1)
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            out[:, j] = p[:, 0] / p.sum(axis=1)
        return out

    def score_texts(self, policy: Policy, texts: Sequence[str]) -> list[dict[str, float]] | None:
        if not self.load():
            return None
        bank = self._bank(policy)
        probs = self._zero_shot(self._embed_texts(texts), bank)
        return [{c: float(p) for c, p in zip(bank.categories, row, strict=True)} for row in probs]

    def score_images(self, policy: Policy, images: Sequence[np.ndarray]) -> list[dict[str, float]] | None:
        if not self.load():
            return None
        bank = self._bank(policy)
        emb = self._embed_images(images)
        probs = self._zero_shot(emb, bank)
        rows = [{c: float(p) for c, p in zip(bank.categories, row, strict=True)} for row in probs]
        if self._heads is not None:
            head = 1.0 / (1.0 + np.exp(-(emb @ self._heads.weight.T + self._heads.bias)))
            for row, values in zip(rows, head, strict=True):
                for c, v in zip(self._heads.categories, values, strict=True):
                    if c in row:
                        row[c] = float(v)
        return rows

    # --- signals -----------------------------------------------------------------------

    def _inactive(self, name: str, stage: str) -> SignalOutput:
        _, reason = self.status()
        return SignalOutput(
            SignalReport(name=name, active=False, stage=stage, reason_if_inactive=reason or "CLIP model unavailable")
        )

    def run_text(self, policy: Policy, text: str) -> SignalOutput:
        started = time.perf_counter()
        if not self.status()[0]:
            return self._inactive("clip_text", "prompt")
        rows = self.score_texts(policy, [text])
        if rows is None:
            return self._inactive("clip_text", "prompt")
        return self._output("clip_text", "prompt", rows, None, started)

    def run_images(
        self, policy: Policy, images: Sequence[np.ndarray], *, stage: str, frames: Sequence[int] | None = None
    ) -> SignalOutput:
        started = time.perf_counter()
        if not self.status()[0]:
            return self._inactive("clip_image", stage)
        rows = self.score_images(policy, images)
        if rows is None:
            return self._inactive("clip_image", stage)
        return self._output("clip_image", stage, rows, frames, started)

    def _output(
        self, name: str, stage: str, rows: list[dict[str, float]], frames: Sequence[int] | None, started: float
    ) -> SignalOutput:
        hits: dict[str, SignalHit] = {}
        scores: dict[str, float] = {}
        for c in rows[0]:
            values = [r[c] for r in rows]
            i = int(np.argmax(values))
            score = round(values[i], 4)
            scores[c] = score
            hits[c] = SignalHit(
                score=score,
                evidence=[
                    Evidence(
                        signal=name,
                        kind="model_score",
                        value=c,
                        score=score,
                        frame=frames[i] if frames is not None else -1,
                    )
                ],
            )
        report = SignalReport(
            name=name,
            active=True,
            version=self._version,
            stage=stage,
            scores=scores,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return SignalOutput(report, hits)
