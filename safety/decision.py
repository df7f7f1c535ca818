"""Screening results and the rule that turns signal scores into a decision.

A decision is data: which categories were flagged, by which signals, on what evidence,
which signals could not run and why, under which policy and model versions. The public
view (`Screening.public_view`) carries only the decision and the flagged categories; the
full record is for the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from .policy import Policy

__all__ = [
    "ACTIONS",
    "CategoryResult",
    "Evidence",
    "Screening",
    "SignalHit",
    "SignalOutput",
    "SignalReport",
    "decide",
    "effective_action",
    "severity",
]

# Ordered from least to most severe; a decision is the most severe action any category asks for.
ACTIONS = ("allow", "allow_with_label", "review", "block")
_SEVERITY = {a: i for i, a in enumerate(ACTIONS)}


def severity(action: str) -> int:
    return _SEVERITY[action]


def _most_severe(actions: Iterable[str], default: str = "allow") -> str:
    return max(actions, key=severity, default=default)


class Evidence(msgspec.Struct, omit_defaults=True, frozen=True):
    """One thing a signal saw: a matched term or name, a detected face, a model score."""

    signal: str
    kind: str  # term | pattern | name | obfuscation | face | model_score
    value: str  # matched text, or the model's label
    detail: str = ""  # group and term, person's role/country, rule name, ...
    language: str = ""
    frame: int = -1  # output screening: which frame (-1: not a frame)
    score: float = -1.0  # -1: not applicable


class SignalReport(msgspec.Struct, omit_defaults=True):
    """Whether a signal ran, with what, and what it scored per category."""

    name: str
    active: bool
    version: str = ""
    reason_if_inactive: str = ""
    stage: str = ""  # prompt | image | output
    scores: dict[str, float] = {}
    elapsed_ms: float = 0.0


class CategoryResult(msgspec.Struct, omit_defaults=True):
    category: str
    score: float  # highest score any signal gave this category, 0..1
    triggered: bool  # a signal reached the category's trigger threshold
    action: str  # what this category asks for ("allow" when not flagged)
    signals: list[str] = []  # signals that reached a threshold (trigger or review)
    evidence: list[Evidence] = []

    @property
    def flagged(self) -> bool:
        return self.action != "allow"


class Screening(msgspec.Struct, omit_defaults=True):
    """The outcome of screening a prompt, an image, a request, or output frames."""

    decision: str  # allow | allow_with_label | review | block
    stage: str  # prompt | image | request | output
    policy_version: str
    categories: list[CategoryResult] = []
    signals: list[SignalReport] = []
    model_versions: dict[str, str] = {}
    obfuscations: list[str] = []  # tricks undone while normalising the prompt
    frames_screened: list[int] = []  # output screening: indices of the sampled frames
    elapsed_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    @property
    def needs_review(self) -> bool:
        return self.decision == "review"

    @property
    def requires_label(self) -> bool:
        return self.decision == "allow_with_label"

    @property
    def flagged_categories(self) -> list[str]:
        """Flagged categories, most severe first."""
        flagged = [c for c in self.categories if c.flagged]
        flagged.sort(key=lambda c: (-severity(c.action), -c.score, c.category))
        return [c.category for c in flagged]

    def category(self, name: str) -> CategoryResult | None:
        return next((c for c in self.categories if c.category == name), None)

    def public_view(self) -> dict[str, Any]:
        """What a client may see: the decision and the flagged categories, no scores or thresholds."""
        return {"decision": self.decision, "categories": self.flagged_categories}

    def to_record(self, *, redact_text: bool = False) -> dict[str, Any]:
        """The full result as plain JSON-able data, for the audit log.

        With `redact_text`, evidence that quotes the prompt (matched terms and names) keeps
        what matched (group, term, person) but not the user's words, for deployments that
        store prompts only as a hash.
        """
        record = msgspec.to_builtins(self)
        if redact_text:
            for category in record.get("categories", []):
                for e in category.get("evidence", []):
                    if e.get("kind") in ("term", "pattern", "name"):
                        e["value"] = "[redacted]"
        return record

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Screening:
        return msgspec.convert(record, cls)


class SignalHit(msgspec.Struct):
    """A signal's verdict on one category (internal, before thresholds are applied)."""

    score: float
    action: str | None = None  # rule-level override of the category action
    evidence: list[Evidence] = []


class SignalOutput(msgspec.Struct):
    report: SignalReport
    hits: dict[str, SignalHit] = {}


def _review_band_action(action: str) -> str:
    # Below the trigger threshold a category is only ever held for a human, never blocked.
    return action if severity(action) <= severity("review") else "review"


def effective_action(score: float, trigger: float, review: float | None, action: str) -> str:
    """What a score asks for under a signal's thresholds: the action, review, or allow."""
    if score >= trigger:
        return action
    if review is not None and score >= review:
        return _review_band_action(action)
    return "allow"


def decide(
    policy: Policy,
    outputs: Iterable[SignalOutput],
    *,
    stage: str,
    obfuscations: Iterable[str] = (),
    frames_screened: Iterable[int] = (),
    elapsed_ms: float = 0.0,
) -> Screening:
    """Apply the policy's per-category, per-signal thresholds to signal outputs."""
    outputs = list(outputs)
    merged: dict[str, dict[str, list[SignalHit]]] = {}
    for out in outputs:
        if not out.report.active:
            continue
        for category_name, hit in out.hits.items():
            merged.setdefault(category_name, {}).setdefault(out.report.name, []).append(hit)

    results: list[CategoryResult] = []
    for name, category in policy.categories.items():
        if not category.enabled:
            continue
        by_signal = merged.get(name, {})
        score = 0.0
        triggered = False
        actions: list[str] = []
        fired: list[str] = []
        evidence: list[Evidence] = []
        for signal, hits in by_signal.items():
            hit = max(hits, key=lambda h: (h.score, severity(h.action or "allow")))
            score = max(score, hit.score)
            threshold = category.signals.get(signal)
            if threshold is None:
                continue
            action = effective_action(
                hit.score, threshold.trigger, threshold.review, hit.action or threshold.action or category.action
            )
            if action == "allow" and hit.score < threshold.trigger:
                continue
            triggered = triggered or hit.score >= threshold.trigger
            actions.append(action)
            fired.append(signal)
            for h in hits:
                evidence.extend(h.evidence)
        results.append(
            CategoryResult(
                category=name,
                score=round(score, 4),
                triggered=triggered,
                action=_most_severe(actions),
                signals=sorted(fired),
                evidence=evidence,
            )
        )

    decision = _most_severe([policy.default_decision, *(r.action for r in results)])
    model_versions = {o.report.name: o.report.version for o in outputs if o.report.active and o.report.version}
    return Screening(
        decision=decision,
        stage=stage,
        policy_version=policy.version,
        categories=results,
        signals=[o.report for o in outputs],
        model_versions=model_versions,
        obfuscations=sorted(set(obfuscations)),
        frames_screened=list(frames_screened),
        elapsed_ms=round(elapsed_ms, 3),
    )
