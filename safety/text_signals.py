"""Prompt signals: the policy's lexical rules and public-figure names.

Both run on the normalised prompt (see `normalize.py`). The lexical signal evaluates each
category's rules over the term groups found in the prompt (and, for rules that ask for
it, in the negative prompt), after masking benign phrases ("killer whale").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from .decision import Evidence, SignalHit, SignalOutput, SignalReport, effective_action, severity
from .lexicon import TermMatch
from .normalize import NormalizedText, normalize_text
from .policy import Policy, Rule

__all__ = ["LEXICAL_VERSION", "PERSONS_VERSION", "PreparedText", "prepare_text", "run_lexical", "run_persons"]

# Bumped when matching semantics change, so audit records say which matcher decided.
LEXICAL_VERSION = "lexical-1"
PERSONS_VERSION = "persons-1"


@dataclass(frozen=True)
class PreparedText:
    """A normalised text with its term matches and benign-phrase masks, computed once."""

    normalized: NormalizedText
    matches: tuple[TermMatch, ...]
    masked: dict[str, frozenset[int]]  # category ("" = all) -> token indices inside a benign phrase

    def groups_for(self, category: str) -> dict[str, list[TermMatch]]:
        blocked = self.masked.get("", frozenset()) | self.masked.get(category, frozenset())
        out: dict[str, list[TermMatch]] = {}
        for m in self.matches:
            if blocked and any(i in blocked for i in range(m.start, m.end)):
                continue
            out.setdefault(m.group, []).append(m)
        return out


def prepare_text(policy: Policy, text: str) -> PreparedText:
    normalized = normalize_text(text, policy.vocabulary)
    languages = policy.guess_languages(normalized.tokens)
    matches = tuple(policy.lexicon.find(normalized.tokens, languages))
    masked: dict[str, set[int]] = {}
    for m in policy.exceptions.find(normalized.tokens, languages):
        masked.setdefault(m.scope, set()).update(range(m.start, m.end))
    return PreparedText(normalized, matches, {k: frozenset(v) for k, v in masked.items()})


def _rule_fires(rule: Rule, groups: dict[str, list[TermMatch]]) -> bool:
    if any(g in groups for g in rule.unless):
        return False
    return all(any(g in groups for g in alternatives) for alternatives in rule.when)


def _evidence(rule: Rule, groups: dict[str, list[TermMatch]], field: str, tricks: frozenset[str]) -> list[Evidence]:
    out = []
    wanted = frozenset().union(*rule.when)
    for g in sorted(wanted):
        for m in groups.get(g, ()):
            out.append(
                Evidence(
                    signal="lexical",
                    kind="pattern" if m.term.lstrip("!").startswith("re:") else "term",
                    value=m.surface,
                    detail=f"{rule.name}: {g} '{m.term}'"
                    + (" (negative prompt)" if field == "negative_prompt" else ""),
                    language=m.language,
                )
            )
    if tricks and out:
        out.append(Evidence(signal="lexical", kind="obfuscation", value=", ".join(sorted(tricks))))
    return out


def run_lexical(policy: Policy, prompt: PreparedText, negative: PreparedText | None = None) -> SignalOutput:
    started = time.perf_counter()
    hits: dict[str, SignalHit] = {}
    for name, category in policy.categories.items():
        if not category.enabled or not category.rules:
            continue
        by_field = {"prompt": prompt.groups_for(name)}
        if negative is not None:
            by_field["negative_prompt"] = negative.groups_for(name)
        threshold = category.signals["lexical"]
        best: tuple[int, float, Rule] | None = None
        for rule in category.rules:
            groups = by_field.get(rule.field)
            if groups is None or not _rule_fires(rule, groups):
                continue
            # The rule that asks for the most once thresholds apply, not simply the highest
            # score: a review-band rule outranks a higher-scoring label-only rule.
            action = effective_action(
                rule.score, threshold.trigger, threshold.review, rule.action or threshold.action or category.action
            )
            key = (severity(action), rule.score)
            if best is None or key > best[:2]:
                best = (key[0], key[1], rule)
        if best is None:
            continue
        rule = best[2]
        field = rule.field
        text = prompt if field == "prompt" else negative
        assert text is not None  # a negative_prompt rule fires only when by_field has the negative prompt
        hits[name] = SignalHit(
            score=rule.score,
            action=rule.action,
            evidence=_evidence(rule, by_field[field], field, text.normalized.tricks),
        )
    report = SignalReport(
        name="lexical",
        active=True,
        version=f"{LEXICAL_VERSION}+policy-{policy.version}",
        stage="prompt",
        scores={k: v.score for k, v in hits.items()},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return SignalOutput(report=report, hits=hits)


def run_persons(policy: Policy, prompt: PreparedText) -> SignalOutput:
    started = time.perf_counter()
    category = policy.person_category
    if category is None or not len(policy.figures):
        report = SignalReport(
            name="persons",
            active=False,
            stage="prompt",
            reason_if_inactive="the policy has no public-figures list",
        )
        return SignalOutput(report=report)
    hits: dict[str, SignalHit] = {}
    # A kind the policy gives no score (e.g. no `common_word` entry) does not count.
    found = policy.figures.find(prompt.normalized.tokens)
    # A surname that is also an ordinary word, shown speaking or acting ("Meloni announces...",
    # "duda says"), is the person after all: it scores as a surname.
    acts = policy.unlisted.act_groups if policy.unlisted is not None else frozenset()
    if acts and any(p.how.startswith("common_word") for p in found):
        groups = prompt.groups_for(category)
        if any(g in groups for g in acts):
            found = [replace(p, how="surname") if p.how.startswith("common_word") else p for p in found]
    found = [p for p in found if policy.person_scores.get(p.how, 0.0) > 0]
    if found:
        evidence = [
            Evidence(
                signal="persons",
                kind="name",
                value=p.surface,
                detail=f"{p.name} ({p.role.replace('_', ' ')}, {p.country}; matched by {p.how.replace('_', ' ')})",
                score=policy.person_scores[p.how],
            )
            for p in found
        ]
        hits[category] = SignalHit(score=max(policy.person_scores[p.how] for p in found), evidence=evidence)
    report = SignalReport(
        name="persons",
        active=True,
        version=f"{PERSONS_VERSION}+{len(policy.figures)}-figures",
        stage="prompt",
        scores={k: v.score for k, v in hits.items()},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return SignalOutput(report=report, hits=hits)
