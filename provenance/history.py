"""What a manifest store's history says: which manifests declare AI, and which were altered.

A file's Content Credentials are a chain: the active manifest, and the manifests of its
ingredients (an app that *opened* an AI image carries the generator's manifest as a ``parentOf``
ingredient; a composite carries ``componentOf`` ones). A file is AI-generated when any action of
any *validated* manifest in that chain, or any validated ``parentOf``/``componentOf`` ingredient,
carries an AI digital source type — not only the first ``c2pa.created`` of the active manifest.
``inputTo`` ingredients (a photo a model was conditioned on) are not part of the asset's content
and are not followed for the AI label, but their alteration is still reported.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from provenance.status_codes import is_tamper_code

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# relationships whose ingredient is (part of) the asset's own content
CONTENT_RELATIONSHIPS = ("parentOf", "componentOf")
ACTIVE = "active"


class AiSourceKind(enum.Enum):
    """The IPTC digital source types that say an algorithm made (part of) the media."""

    TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = "compositeWithTrainedAlgorithmicMedia"
    ALGORITHMIC_MEDIA = "algorithmicMedia"

    @property
    def wording(self) -> str:
        # IPTC's own distinctions: algorithmicMedia is made by an algorithm that was *not* trained
        # on sampled content, so it is not called "generative AI"
        return {
            AiSourceKind.TRAINED_ALGORITHMIC_MEDIA: "created by a generative AI model",
            AiSourceKind.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA: "edited or composited with generative AI",
            AiSourceKind.ALGORITHMIC_MEDIA: "created by an algorithm (not a trained model)",
        }[self]


def ai_source_kind(digital_source_type: str | None) -> AiSourceKind | None:
    """The AI kind of an IPTC source type, given as the full URL or the bare term."""
    if not digital_source_type:
        return None
    term = str(digital_source_type).rstrip("/").rsplit("/", 1)[-1]
    try:
        return AiSourceKind(term)
    except ValueError:
        return None


class AiEvidence(msgspec.Struct, kw_only=True):
    """One place in the history that declares AI: which manifest, reached how, and which action."""

    manifest: str | None
    relationship: str  # "active", or the ingredient relationships leading to it ("parentOf", ...)
    signer: str | None
    claim_generator: str | None
    action: str | None  # None: the ingredient itself declares the source type
    digital_source_type: str
    kind: AiSourceKind
    wording: str


class HistoryFailure(msgspec.Struct, kw_only=True):
    """An ingredient whose own Content Credentials fail validation."""

    ingredient: str | None
    manifest: str | None
    relationship: str | None
    codes: list[str]
    tampered: bool


def _base_label(assertion: dict[str, Any]) -> str:
    return str(assertion.get("label", "")).split("__", 1)[0]


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for assertion in manifest.get("assertions") or []
        if _base_label(assertion) in ("c2pa.actions", "c2pa.actions.v2")
        for item in (assertion.get("data") or {}).get("actions", [])
        if isinstance(item, dict)
    ]


def _signer(manifest: dict[str, Any]) -> str | None:
    signature = manifest.get("signature_info") or {}
    return signature.get("common_name") or signature.get("issuer")


def _generator(manifest: dict[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return str(manifest["claim_generator"])
    info = [g for g in manifest.get("claim_generator_info") or [] if isinstance(g, dict)]
    if not info or not info[0].get("name"):
        return None
    return "/".join(str(info[0][k]) for k in ("name", "version") if info[0].get(k))


def _ingredient_codes(ingredient: dict[str, Any]) -> list[str]:
    results = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
    codes = [str(item.get("code", "")) for item in results.get("failure", [])]
    codes += [
        str(item.get("code", ""))
        for item in ingredient.get("validation_status") or []
        if str(item.get("code", "")) not in codes and is_tamper_code(str(item.get("code", "")))
    ]
    return codes


def ai_evidence(store: dict[str, Any], active_is_valid: bool) -> list[AiEvidence]:
    """Every AI declaration in validated manifests reachable from the active one."""
    manifests: dict[str, Any] = store.get("manifests") or {}
    found: list[AiEvidence] = []
    seen: set[str] = set()

    def visit(label: str | None, path: str) -> None:
        if label is None or label in seen or label not in manifests:
            return
        seen.add(label)
        manifest = manifests[label]
        for action in _actions(manifest):
            kind = ai_source_kind(action.get("digitalSourceType"))
            if kind is not None:
                found.append(
                    AiEvidence(
                        manifest=label,
                        relationship=path,
                        signer=_signer(manifest),
                        claim_generator=_generator(manifest),
                        action=str(action.get("action", "")),
                        digital_source_type=str(action["digitalSourceType"]),
                        kind=kind,
                        wording=kind.wording,
                    )
                )
        for ingredient in manifest.get("ingredients") or []:
            relationship = ingredient.get("relationship")
            if relationship not in CONTENT_RELATIONSHIPS:
                continue
            if any(is_tamper_code(code) for code in _ingredient_codes(ingredient)):
                continue  # an altered manifest is no evidence of anything
            step = relationship if path == ACTIVE else f"{path}/{relationship}"
            kind = ai_source_kind(ingredient.get("digitalSourceType") or ingredient.get("digital_source_type"))
            if kind is not None:
                found.append(
                    AiEvidence(
                        manifest=ingredient.get("active_manifest"),
                        relationship=step,
                        signer=None,
                        claim_generator=None,
                        action=None,
                        digital_source_type=str(
                            ingredient.get("digitalSourceType") or ingredient.get("digital_source_type")
                        ),
                        kind=kind,
                        wording=kind.wording,
                    )
                )
            visit(ingredient.get("active_manifest"), step)

    if active_is_valid:
        visit(store.get("active_manifest"), ACTIVE)
    return found


def history_failures(store: dict[str, Any]) -> list[HistoryFailure]:
    """Ingredients anywhere in the history whose own manifests fail validation (as signed, or since)."""
    manifests: dict[str, Any] = store.get("manifests") or {}
    deltas: dict[str, list[str]] = {}
    for delta in (store.get("validation_results") or {}).get("ingredientDeltas", []) or []:
        codes = [str(item.get("code", "")) for item in (delta.get("validationDeltas") or {}).get("failure", [])]
        if codes:
            deltas[str(delta.get("uri", ""))] = codes
    failures: list[HistoryFailure] = []
    seen: set[str] = set()

    def visit(label: str | None) -> None:
        if label is None or label in seen or label not in manifests:
            return
        seen.add(label)
        for ingredient in manifests[label].get("ingredients") or []:
            codes = _ingredient_codes(ingredient)
            if ingredient.get("active_manifest") and codes:
                failures.append(
                    HistoryFailure(
                        ingredient=ingredient.get("title"),
                        manifest=ingredient.get("active_manifest"),
                        relationship=ingredient.get("relationship"),
                        codes=codes,
                        tampered=any(is_tamper_code(code) for code in codes),
                    )
                )
            visit(ingredient.get("active_manifest"))

    visit(store.get("active_manifest"))
    # what changed since signing (c2pa's ingredient deltas), named by the ingredient's URI
    for uri, codes in deltas.items():
        failures.append(
            HistoryFailure(
                ingredient=uri,
                manifest=None,
                relationship=None,
                codes=codes,
                tampered=any(is_tamper_code(code) for code in codes),
            )
        )
    return failures
