"""Signing C2PA manifests into generated media, and reading them back with their validation.

``sign_mp4`` (and ``sign_image`` for PNG/JPEG stills) embeds a manifest whose claim says: this
asset was *created* (intent create) by a trained algorithm (``trainedAlgorithmicMedia``), by this
service and model, then watermarked. Every assertion the service writes is one of the claim's
*created* assertions; the actions assertion says ``allActionsIncluded``; custom action parameters
carry the ``com.originframe.`` prefix; ``claim_generator_info`` names the spec version. The
watermark and the fingerprint are referenced in our own ``com.originframe.watermark`` and
``com.originframe.fingerprint`` assertions; a ``c2pa.soft-binding`` assertion (and the
``c2pa.watermarked.bound`` action) is written only for an algorithm on the C2PA soft-binding
algorithm list (see docs/provenance.md for why and for the registration path). A custom
``com.originframe.generation`` assertion records the generation, policy decision and parameters
digest; the input image, if any, is an ``inputTo`` ingredient whose own manifest is carried along.
Model names are hub ids or model names and revisions, never server paths.

``read_manifest`` returns a ``ManifestReport``: the validation state and status codes exactly as
c2pa reports them, plus the fields a verifier needs: a ``tampered`` flag for a manifest whose
signature or content hash no longer matches, the AI declarations anywhere in the file's history
(``ai_evidence``), ingredients whose credentials were altered (``history_tampered``), and the
container's structural problems. A truncated, padded or re-boxed container is still validated by
c2pa (its hash then no longer matches); only bytes c2pa cannot read at all raise ``ManifestError``.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import struct
from typing import Any

import c2pa
import msgspec

from provenance.credentials import SigningCredentials
from provenance.errors import ManifestError, SigningError
from provenance.history import (
    IPTC_PREFIX,
    AiEvidence,
    AiSourceKind,
    HistoryFailure,
    ai_evidence,
    ai_source_kind,
    history_failures,
)
from provenance.status_codes import (  # TAMPER_CODES re-exported: callers imported it from here
    ADDITIONAL_EXCLUSION_CODES,
    CONTENT_HASH_MATCH_CODES,
    CONTENT_HASH_MISMATCH_CODES,
    OUTSIDE_VALIDITY_CODES,
    TAMPER_CODES,  # noqa: F401
    is_tamper_code,
)
from provenance.trust import TrustConfiguration

# What our own c2pa.created says; which source types count as AI is history.AiSourceKind
TRAINED_ALGORITHMIC_MEDIA = IPTC_PREFIX + AiSourceKind.TRAINED_ALGORITHMIC_MEDIA.value

# The C2PA specification version our claims follow (claim_generator_info.specVersion, spec 2.4 §10.2.3.2)
SPEC_VERSION = "2.4"
GENERATION_ASSERTION_LABEL = "com.originframe.generation"
WATERMARK_ASSERTION_LABEL = "com.originframe.watermark"
FINGERPRINT_ASSERTION_LABEL = "com.originframe.fingerprint"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
INPUT_IMAGE_INGREDIENT_LABEL = "input-image"
# Custom action parameters must be namespaced (spec 2.2 §18.14.4.7)
PARAMETER_PREFIX = "com.originframe."
# Algorithms of ours that are on the C2PA Soft Binding Algorithm List
# (c2pa-org/softbinding-algorithm-list). Only these are written as c2pa.soft-binding: validators
# answer algorithm.unsupported for any other name. Empty until originframe.wm.v1 is registered.
REGISTERED_SOFT_BINDING_ALGORITHMS: frozenset[str] = frozenset()

# Our code (c2pa has none; it refuses such a file): the container holds more than one manifest store
MULTIPLE_STORES_CODE = "com.originframe.manifestStore.multiple"

VALIDATION_TRUSTED = "Trusted"
VALIDATION_VALID = "Valid"
VALIDATION_INVALID = "Invalid"


class WatermarkActionLabel(enum.Enum):
    # c2pa.watermarked is deprecated (spec 2.2 §18.14.11): .bound needs a c2pa.soft-binding
    # assertion for the mark; .unbound says the mark is not one
    BOUND = "c2pa.watermarked.bound"
    UNBOUND = "c2pa.watermarked.unbound"


# Formats this module will sign; c2pa reads many more.
SIGNABLE_TYPES = ("video/mp4", "video/quicktime", "image/png", "image/jpeg")


# -- what goes in -------------------------------------------------------------------------------


class InputImage(msgspec.Struct, kw_only=True):
    """The image a clip was generated from; it becomes an ``inputTo`` ingredient."""

    data: bytes
    mime: str
    title: str = "input image"


class ManifestInfo(msgspec.Struct, kw_only=True):
    """Everything the manifest says about one generation.

    ``prompt`` is recorded only when set: the caller decides (by setting) whether prompt text
    may leave the service inside the file.
    """

    generation_id: str
    model_id: str  # a hub id ("Lightricks/LTX-Video") or a model name ("tiny"), never a server path
    model_version: str  # the model's revision
    parameters_digest: str
    policy_version: str
    decision_id: str
    output_settings: dict[str, str] | None = (
        None  # generation settings that shape the pixels (dtype, step cache, fp8 weights)
    )
    watermark_algorithm: str | None = None
    watermark_value: str | None = None
    fingerprint_algorithm: str | None = None
    fingerprint_value: str | None = None
    prompt: str | None = None
    input_image: InputImage | None = None
    created_at: dt.datetime | None = None
    title: str | None = None
    service_name: str = "Originframe"
    service_version: str | None = None  # None: the installed package's version


# -- what comes out -------------------------------------------------------------------------------


class ValidationEntry(msgspec.Struct, kw_only=True):
    code: str
    url: str | None = None
    explanation: str | None = None


class SignerInfo(msgspec.Struct, kw_only=True):
    issuer: str | None
    common_name: str | None
    algorithm: str | None
    certificate_serial_number: str | None


class ActionRecord(msgspec.Struct, kw_only=True):
    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    when: str | None = None
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class SoftBindingRecord(msgspec.Struct, kw_only=True):
    algorithm: str | None
    values: list[str]
    name: str | None = None


class WatermarkReference(msgspec.Struct, kw_only=True):
    """The ``com.originframe.watermark`` assertion: which mark is in the frames, with which value."""

    algorithm: str
    value: str
    soft_binding: bool = False  # also written as a c2pa.soft-binding (registered algorithms only)


class FingerprintReference(msgspec.Struct, kw_only=True):
    """The ``com.originframe.fingerprint`` assertion: the perceptual fingerprint registered for
    this clip, and the key under which the service's fingerprint registry holds it."""

    algorithm: str
    value: str


class IngredientRecord(msgspec.Struct, kw_only=True):
    title: str | None
    format: str | None
    relationship: str | None
    has_manifest: bool
    manifest_label: str | None = None
    signer: SignerInfo | None = None
    digital_source_type: str | None = None
    failure_codes: list[str] = msgspec.field(default_factory=list)


class GenerationAssertion(msgspec.Struct, kw_only=True):
    """The ``com.originframe.generation`` assertion."""

    generation_id: str
    model_id: str
    model_version: str
    parameters_digest: str
    policy_version: str
    decision_id: str
    created_at: str | None = None
    prompt: str | None = None
    output_settings: dict[str, str] | None = None


class ManifestReport(msgspec.Struct, kw_only=True):
    """What the C2PA manifest of an asset says, and whether it still holds.

    ``validation_state`` and the codes are c2pa's own (``Trusted``/``Valid``/``Invalid``;
    ``signingCredential.untrusted``, ``assertion.bmffHash.mismatch``, ...).
    """

    present: bool
    format: str | None = None
    format_supported: bool = True
    trust_anchors_configured: bool = False
    validation_state: str | None = None
    trusted: bool = False
    signature_valid: bool | None = None
    content_hash_intact: bool | None = None
    tampered: bool = False
    failures: list[ValidationEntry] = msgspec.field(default_factory=list)
    failure_codes: list[str] = msgspec.field(default_factory=list)
    success_codes: list[str] = msgspec.field(default_factory=list)
    informational_codes: list[str] = msgspec.field(default_factory=list)
    active_manifest: str | None = None
    manifest_count: int = 0
    title: str | None = None
    signer: SignerInfo | None = None
    signing_time: str | None = None
    claim_generator: str | None = None
    claim_generator_info: list[dict[str, Any]] = msgspec.field(default_factory=list)
    actions: list[ActionRecord] = msgspec.field(default_factory=list)
    digital_source_type: str | None = None
    ai_generated: bool = False
    # every AI declaration in a validated manifest of the history: which manifest, which action
    ai_evidence: list[AiEvidence] = msgspec.field(default_factory=list)
    ingredients: list[IngredientRecord] = msgspec.field(default_factory=list)
    ingredient_failure_codes: list[str] = msgspec.field(default_factory=list)
    # ingredients (at any depth) whose own credentials fail; tampered when one was altered
    history_failures: list[HistoryFailure] = msgspec.field(default_factory=list)
    history_tampered: bool = False
    soft_bindings: list[SoftBindingRecord] = msgspec.field(default_factory=list)
    watermark_reference: WatermarkReference | None = None
    fingerprint_reference: FingerprintReference | None = None
    generation: GenerationAssertion | None = None
    assertion_labels: list[str] = msgspec.field(default_factory=list)
    # the container as found: truncated, bytes after the last box, a second manifest store, ...
    structure_problems: list[str] = msgspec.field(default_factory=list)
    # top-level boxes c2pa left out of the hash besides the manifest (free/skip), with their sizes
    unhashed_boxes: list[str] = msgspec.field(default_factory=list)
    timestamped: bool = False  # an RFC 3161 timestamp token was validated
    timestamp_trusted: bool = False
    # why a manifest whose signature matches still does not validate (say, an expired certificate)
    validity_problem: str | None = None


# -- signing --------------------------------------------------------------------------------------


def sign_mp4(
    video: bytes,
    info: ManifestInfo,
    credentials: SigningCredentials,
    *,
    thumbnails: bool = False,
) -> bytes:
    """Return ``video`` (an MP4) with a signed C2PA manifest embedded."""
    return sign_asset(video, "video/mp4", info, credentials, thumbnails=thumbnails)


def sign_image(
    image: bytes,
    mime: str,
    info: ManifestInfo,
    credentials: SigningCredentials,
    *,
    thumbnails: bool = False,
) -> bytes:
    """Return a PNG or JPEG still with a signed C2PA manifest embedded."""
    if not mime.startswith("image/"):
        raise SigningError(f"sign_image signs images; got {mime!r} (use sign_mp4 for video)")
    return sign_asset(image, mime, info, credentials, thumbnails=thumbnails)


def sign_asset(
    data: bytes,
    mime: str,
    info: ManifestInfo,
    credentials: SigningCredentials,
    *,
    thumbnails: bool = False,
) -> bytes:
    """Embed a signed manifest describing ``info`` into ``data`` of media type ``mime``.

    Thumbnails (of the asset and of the input image) are off by default: they add about 100 KB
    and reveal nothing a verifier needs.
    """
    if mime not in SIGNABLE_TYPES:
        raise SigningError(f"cannot sign {mime!r}; signable types are {', '.join(SIGNABLE_TYPES)}")
    detected = detect_media_type(data)
    if detected is None or _family(detected) != _family(mime):
        raise SigningError(f"the bytes to sign are not {mime} (they look like {detected or 'unknown data'})")
    problems = structure_problems(data, detected)
    if problems:
        raise SigningError(f"refusing to sign a malformed {detected}: {problems[0]}")
    if (info.watermark_algorithm is None) != (info.watermark_value is None):
        raise SigningError("give both watermark_algorithm and watermark_value, or neither")
    if (info.fingerprint_algorithm is None) != (info.fingerprint_value is None):
        raise SigningError("give both fingerprint_algorithm and fingerprint_value, or neither")
    _check_public_model_id(info.model_id)

    context = c2pa.Context.from_dict(
        {
            "builder": {
                "thumbnail": {"enabled": thumbnails},
                # hash free/skip boxes too: data appended inside one must break the hash, not
                # pass as an "additional exclusion"
                "bmff_hash_exclude_free_and_skip_boxes": False,
            },
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        }
    )
    output = io.BytesIO()
    try:
        with context, c2pa.Builder(_manifest_definition(info, mime), context=context) as builder:
            builder.set_intent(c2pa.C2paBuilderIntent.CREATE, c2pa.C2paDigitalSourceType.TRAINED_ALGORITHMIC_MEDIA)
            if info.input_image is not None:
                ingredient = {
                    "title": info.input_image.title,
                    "relationship": "inputTo",
                    "label": INPUT_IMAGE_INGREDIENT_LABEL,
                }
                builder.add_ingredient(ingredient, info.input_image.mime, io.BytesIO(info.input_image.data))
            with credentials.c2pa_signer() as signer:
                builder.sign(signer, mime, io.BytesIO(data), output)
    except c2pa.C2paError as error:
        raise SigningError(f"C2PA signing failed: {error}") from error
    return output.getvalue()


def _check_public_model_id(model_id: str) -> None:
    """A manifest leaves the service: it names the model, never where the server keeps it."""
    looks_like_path = (
        model_id.startswith(("/", "./", "../", "~", "\\"))
        or "\\" in model_id
        or (len(model_id) > 2 and model_id[1] == ":" and model_id[2] in "/\\")
        or model_id.count("/") > 1
    )
    if not model_id or looks_like_path:
        raise SigningError(
            f"model_id {model_id!r} looks like a filesystem path; give the hub id or the model name "
            "(and its revision as model_version)"
        )


def _service_version(info: ManifestInfo) -> str:
    if info.service_version:
        return info.service_version
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("originframe")
    except PackageNotFoundError:
        return "0+unknown"


def _manifest_definition(info: ManifestInfo, mime: str) -> dict[str, Any]:
    service_version = _service_version(info)
    agent = {"name": info.service_name, "version": service_version}
    when = (info.created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat()
    source = "an input image" if info.input_image is not None else "a text prompt"
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": agent,
        "when": when,
        "description": f"{'Video' if mime.startswith('video/') else 'Image'} generated by the model {info.model_id} from {source}",
        "parameters": {
            f"{PARAMETER_PREFIX}model": info.model_id,
            f"{PARAMETER_PREFIX}model_revision": info.model_version,
        },
    }
    if info.input_image is not None:
        created["parameters"]["ingredientIds"] = [INPUT_IMAGE_INGREDIENT_LABEL]
    actions = [created]
    # Everything below is made by this service, so it is a *created* assertion (spec §10.2.3.2);
    # c2pa puts an assertion among the gathered ones unless told otherwise.
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "created": True, "data": {"allActionsIncluded": True, "actions": actions}}
    ]
    if info.watermark_algorithm is not None and info.watermark_value is not None:
        registered = info.watermark_algorithm in REGISTERED_SOFT_BINDING_ALGORITHMS
        actions.append(
            {
                "action": (WatermarkActionLabel.BOUND if registered else WatermarkActionLabel.UNBOUND).value,
                "softwareAgent": agent,
                "description": f"Invisible watermark {info.watermark_algorithm} carrying this generation's identifier",
            }
        )
        reference = WatermarkReference(
            algorithm=info.watermark_algorithm, value=info.watermark_value, soft_binding=registered
        )
        assertions.append({"label": WATERMARK_ASSERTION_LABEL, "created": True, "data": msgspec.to_builtins(reference)})
        if registered:
            assertions.append(_soft_binding(info.watermark_algorithm, info.watermark_value))
    if info.fingerprint_algorithm is not None and info.fingerprint_value is not None:
        fingerprint = FingerprintReference(algorithm=info.fingerprint_algorithm, value=info.fingerprint_value)
        assertions.append(
            {"label": FINGERPRINT_ASSERTION_LABEL, "created": True, "data": msgspec.to_builtins(fingerprint)}
        )
    generation = GenerationAssertion(
        generation_id=info.generation_id,
        model_id=info.model_id,
        model_version=info.model_version,
        parameters_digest=info.parameters_digest,
        policy_version=info.policy_version,
        decision_id=info.decision_id,
        created_at=when,
        prompt=info.prompt,
        output_settings=info.output_settings,
    )
    generation_data = {k: v for k, v in msgspec.to_builtins(generation).items() if v is not None}
    assertions.append({"label": GENERATION_ASSERTION_LABEL, "created": True, "data": generation_data})
    return {
        "claim_generator_info": [{"name": info.service_name, "version": service_version, "specVersion": SPEC_VERSION}],
        "title": info.title or f"{info.generation_id}",
        "assertions": assertions,
    }


def _soft_binding(algorithm: str, value: str) -> dict[str, Any]:
    # A registered algorithm's value is its own encoding of the mark; the spec models it as bytes
    # (base64 text in the manifest definition). Only ever written for REGISTERED_SOFT_BINDING_ALGORITHMS.
    return {
        "label": SOFT_BINDING_LABEL,
        "created": True,
        "data": {"alg": algorithm, "blocks": [{"scope": {}, "value": value}]},
    }


# -- reading --------------------------------------------------------------------------------------


def read_manifest(
    data: bytes,
    mime: str | None = None,
    trust_anchors_pem: str | None = None,
    *,
    trust: TrustConfiguration | None = None,
) -> ManifestReport:
    """Read and validate the C2PA manifest in ``data``.

    The container is recognised from the bytes (``mime`` is only a hint, since uploads often
    carry a wrong type). Without trust anchors a well-formed manifest from an unknown signer
    reads back ``Valid`` with ``signingCredential.untrusted``; with the service's anchors, its own
    manifests read back ``Trusted``. ``trust`` adds signer anchors (the C2PA trust list) and TSA
    anchors to ``trust_anchors_pem``. Never fetches anything over the network.

    A container with structural problems (cut short, bytes after its last box, extra boxes, a
    second manifest store) is still validated by c2pa — its problems are listed in
    ``structure_problems`` and a hash that no longer matches makes it ``tampered``. Raises
    ``ManifestError`` for bytes that are not a recognisable image or video, and for a container
    so damaged that c2pa cannot read its manifest store.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    detected = detect_media_type(data)
    if detected is None:
        hint = f" (declared {mime})" if mime else ""
        raise ManifestError(f"unrecognised media format{hint}: not MP4/MOV, PNG, JPEG, GIF, WebP, TIFF or WebM")
    trust = (trust or TrustConfiguration()).with_signer_anchors(trust_anchors_pem or "")
    problems = structure_problems(data, detected)
    if detected not in _C2PA_READABLE:
        return ManifestReport(
            present=False,
            format=detected,
            format_supported=False,
            trust_anchors_configured=trust.configured,
            structure_problems=problems,
        )

    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust.c2pa_trust_settings():
        settings["trust"] = trust.c2pa_trust_settings()
    extra_stores = _extra_bmff_stores(data, detected)
    try:
        store = _read_store(data, detected, settings)
    except c2pa.C2paError as error:
        if not extra_stores:
            damaged = f" ({problems[0]})" if problems else ""
            raise ManifestError(f"cannot read C2PA data from this {detected}{damaged}: {error}") from error
        # c2pa refuses a file with a second manifest store outright. Read the first one with the
        # others blanked out, so what it says stays visible, and call the file what it is: altered.
        try:
            store = _read_store(_blank_boxes(data, extra_stores), detected, settings)
        except c2pa.C2paError as second:
            raise ManifestError(f"cannot read C2PA data from this {detected} ({problems[0]}): {second}") from second
        if store is None:
            raise ManifestError(f"cannot read C2PA data from this {detected} ({problems[0]}): {error}") from error
        entry = ValidationEntry(code=MULTIPLE_STORES_CODE, explanation=f"{problems[-1]}; c2pa: {error}")
        results = store.setdefault("validation_results", {}).setdefault("activeManifest", {})
        results.setdefault("failure", []).append(msgspec.to_builtins(entry))
        store["validation_state"] = VALIDATION_INVALID
    except ValueError as error:  # json
        raise ManifestError(f"c2pa returned an unreadable manifest store: {error}") from error
    if store is None:
        return ManifestReport(
            present=False, format=detected, trust_anchors_configured=trust.configured, structure_problems=problems
        )
    report = _report(store, detected, trust.configured)
    report.structure_problems = problems
    if any(code in ADDITIONAL_EXCLUSION_CODES for code in report.informational_codes):
        report.unhashed_boxes = unhashed_boxes(data, detected)
    return report


def _read_store(data: bytes, media_type: str, settings: dict[str, Any]) -> dict[str, Any] | None:
    with c2pa.Context.from_dict(settings) as context:
        reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), context=context)
        if reader is None:
            return None
        with reader:
            return json.loads(reader.json())


def _report(store: dict[str, Any], media_type: str, trust_anchors_configured: bool) -> ManifestReport:
    manifests: dict[str, Any] = store.get("manifests") or {}
    label = store.get("active_manifest")
    active: dict[str, Any] = (manifests.get(label) if label is not None else None) or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [_entry(item) for item in results.get("failure", [])]
    if not results:  # older c2pa: only the flat list of failures
        failures = [_entry(item) for item in store.get("validation_status", [])]
    # What changed in ingredients since signing; with the problems they were signed with, these
    # make the *history* tampered, not this asset.
    ingredient_failure_codes = [
        str(item.get("code", ""))
        for delta in (store.get("validation_results") or {}).get("ingredientDeltas", [])
        for item in (delta.get("validationDeltas") or {}).get("failure", [])
    ]
    failure_codes = [entry.code for entry in failures]
    success_codes = [item.get("code", "") for item in results.get("success", [])]
    informational_codes = [item.get("code", "") for item in results.get("informational", [])]

    if any(code in CONTENT_HASH_MISMATCH_CODES for code in failure_codes):
        content_hash_intact: bool | None = False
    elif any(code in CONTENT_HASH_MATCH_CODES for code in success_codes):
        content_hash_intact = True
    else:
        content_hash_intact = None
    signature_valid = "claimSignature.validated" in success_codes and not any(
        code.startswith("claimSignature.") for code in failure_codes
    )
    # Decided by explicit failure codes only: an expired or unknown signer is not tampering.
    tampered = bool(active) and any(is_tamper_code(code) for code in failure_codes)
    history = history_failures(store)
    for failure in history:
        ingredient_failure_codes += [code for code in failure.codes if code not in ingredient_failure_codes]
    evidence = ai_evidence(store, active_is_valid=bool(active) and not tampered)

    assertions = active.get("assertions") or []
    actions = [
        _action(item)
        for a in assertions
        if _base_label(a) in ("c2pa.actions", "c2pa.actions.v2")
        for item in (a.get("data") or {}).get("actions", [])
    ]
    source_type = _source_type(actions)
    generator_info = [g for g in active.get("claim_generator_info") or [] if isinstance(g, dict)]
    signature = active.get("signature_info") or {}
    validation_state = store.get("validation_state")
    return ManifestReport(
        present=True,
        format=media_type,
        trust_anchors_configured=trust_anchors_configured,
        validation_state=validation_state,
        trusted=validation_state == VALIDATION_TRUSTED,
        signature_valid=signature_valid,
        content_hash_intact=content_hash_intact,
        tampered=tampered,
        failures=failures,
        failure_codes=failure_codes,
        success_codes=success_codes,
        informational_codes=informational_codes,
        active_manifest=label,
        manifest_count=len(manifests),
        title=active.get("title"),
        signer=_signer(signature) if signature else None,
        signing_time=signature.get("time"),
        claim_generator=_claim_generator(active, generator_info),
        claim_generator_info=generator_info,
        actions=actions,
        digital_source_type=source_type,
        ai_generated=bool(evidence),
        ai_evidence=evidence,
        ingredients=[_ingredient(item, manifests) for item in active.get("ingredients") or []],
        ingredient_failure_codes=ingredient_failure_codes,
        history_failures=history,
        history_tampered=any(failure.tampered for failure in history),
        soft_bindings=[
            _soft_binding_record(a.get("data") or {}) for a in assertions if _base_label(a) == SOFT_BINDING_LABEL
        ],
        watermark_reference=_custom(assertions, WATERMARK_ASSERTION_LABEL, WatermarkReference),
        fingerprint_reference=_custom(assertions, FINGERPRINT_ASSERTION_LABEL, FingerprintReference),
        generation=_custom(assertions, GENERATION_ASSERTION_LABEL, GenerationAssertion),
        assertion_labels=[a.get("label", "") for a in assertions],
        timestamped="timeStamp.validated" in success_codes,
        timestamp_trusted="timeStamp.trusted" in success_codes,
        validity_problem=_validity_problem(failures, signature_valid, success_codes),
    )


def _validity_problem(failures: list[ValidationEntry], signature_valid: bool, success_codes: list[str]) -> str | None:
    expired = [entry for entry in failures if entry.code in OUTSIDE_VALIDITY_CODES]
    if not expired:
        return None
    if "timeStamp.validated" in success_codes:
        return f"the signing certificate was not valid at the time in the manifest's timestamp ({expired[0].code})"
    return (
        "the signing certificate is outside its validity period and the manifest carries no "
        "trusted RFC 3161 timestamp proving it was signed while the certificate was valid "
        f"({expired[0].code}: {expired[0].explanation or 'outside validity'})"
    )


def _entry(item: dict[str, Any]) -> ValidationEntry:
    return ValidationEntry(code=str(item.get("code", "")), url=item.get("url"), explanation=item.get("explanation"))


def _base_label(assertion: dict[str, Any]) -> str:
    # repeated assertions are stored as label__1, label__2, ...
    return str(assertion.get("label", "")).split("__", 1)[0]


def _signer(signature: dict[str, Any]) -> SignerInfo:
    return SignerInfo(
        issuer=signature.get("issuer"),
        common_name=signature.get("common_name"),
        algorithm=signature.get("alg"),
        certificate_serial_number=signature.get("cert_serial_number"),
    )


def _claim_generator(active: dict[str, Any], generator_info: list[dict[str, Any]]) -> str | None:
    if active.get("claim_generator"):
        return str(active["claim_generator"])
    if generator_info:
        first = generator_info[0]
        return "/".join(str(first[k]) for k in ("name", "version") if first.get(k))
    return None


def _action(item: dict[str, Any]) -> ActionRecord:
    agent = item.get("softwareAgent")
    if isinstance(agent, dict):
        agent = "/".join(str(agent[k]) for k in ("name", "version") if agent.get(k))
    parameters = item.get("parameters")
    return ActionRecord(
        action=str(item.get("action", "")),
        digital_source_type=item.get("digitalSourceType"),
        software_agent=agent if isinstance(agent, str) else None,
        when=item.get("when"),
        parameters=parameters if isinstance(parameters, dict) else {},
    )


def _source_type(actions: list[ActionRecord]) -> str | None:
    """The inception action's source type; failing that, the first AI one; failing that, any."""
    for wanted in ("c2pa.created", "c2pa.opened"):
        for action in actions:
            if action.action == wanted and action.digital_source_type:
                return action.digital_source_type
    ai = [a.digital_source_type for a in actions if ai_source_kind(a.digital_source_type) is not None]
    return ai[0] if ai else next((a.digital_source_type for a in actions if a.digital_source_type), None)


def _ingredient(item: dict[str, Any], manifests: dict[str, Any]) -> IngredientRecord:
    label = item.get("active_manifest")
    manifest = manifests.get(label) if label else None
    own = ((item.get("validation_results") or {}).get("activeManifest") or {}).get("failure", [])
    source_type = None
    if manifest:
        actions = [
            _action(a)
            for assertion in manifest.get("assertions") or []
            if _base_label(assertion) in ("c2pa.actions", "c2pa.actions.v2")
            for a in (assertion.get("data") or {}).get("actions", [])
        ]
        source_type = _source_type(actions)
    signature = (manifest or {}).get("signature_info") or {}
    return IngredientRecord(
        title=item.get("title"),
        format=item.get("format"),
        relationship=item.get("relationship"),
        has_manifest=manifest is not None,
        manifest_label=label,
        signer=_signer(signature) if signature else None,
        digital_source_type=source_type,
        failure_codes=[str(f.get("code", "")) for f in own],
    )


def _soft_binding_record(data: dict[str, Any]) -> SoftBindingRecord:
    values = [str(block.get("value", "")) for block in data.get("blocks", []) if isinstance(block, dict)]
    return SoftBindingRecord(algorithm=data.get("alg"), values=values, name=data.get("name"))


def _custom(assertions: list[dict[str, Any]], label: str, kind: type[Any]) -> Any:
    for assertion in assertions:
        if _base_label(assertion) == label:
            try:
                return msgspec.convert(assertion.get("data"), kind, strict=False)
            except msgspec.ValidationError:
                return None  # someone else's assertion under our label: not evidence of ours
    return None


# -- recognising containers -------------------------------------------------------------------------

_C2PA_READABLE = frozenset(
    {
        "video/mp4",
        "video/quicktime",
        "image/heif",
        "image/avif",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/tiff",
    }
)


def _family(mime: str) -> str:
    return "bmff" if mime in ("video/mp4", "video/quicktime", "image/heif", "image/avif") else mime


def detect_media_type(data: bytes) -> str | None:
    """The media type the bytes themselves declare (magic numbers, the MP4 brand), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[4:8] == b"ftyp" and len(data) >= 12:
        brand = data[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heif"
        if brand in (b"avif", b"avis"):
            return "image/avif"
        return "video/mp4"
    return None


C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")  # the uuid box of a C2PA manifest store


class Box(msgspec.Struct, frozen=True):
    kind: str
    offset: int
    size: int
    uuid: bytes | None = None


def _bmff_boxes(data: bytes) -> tuple[list[Box], list[str]]:
    """The top-level boxes, and what is wrong with the layout (never raises)."""
    boxes: list[Box] = []
    problems: list[str] = []
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < 8:
            problems.append(f"{end - offset} stray bytes after the last box (offset {offset})")
            break
        size, raw_kind = struct.unpack(">I4s", data[offset : offset + 8])
        kind = raw_kind.decode("latin-1")
        header = 8
        if size == 1:
            if end - offset < 16:
                problems.append(f"truncated: the header of box {kind!r} at offset {offset} is cut off")
                break
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
            header = 16
        elif size == 0:  # box runs to the end of the file
            size = end - offset
        if size < header or not kind.isprintable():
            problems.append(f"{end - offset} bytes at offset {offset} are not a box (type {kind!r})")
            break
        uuid = data[offset + header : offset + header + 16] if kind == "uuid" else None
        boxes.append(Box(kind=kind, offset=offset, size=min(size, end - offset), uuid=uuid))
        if offset + size > end:
            problems.append(
                f"truncated: box {kind!r} at offset {offset} declares {size} bytes, only {end - offset} remain"
            )
            break
        offset += size
    stores = [box for box in boxes if box.uuid == C2PA_BMFF_UUID]
    if len(stores) > 1:
        problems.append(
            f"{len(stores)} C2PA manifest stores (uuid boxes at offsets {', '.join(str(b.offset) for b in stores)})"
        )
    return boxes, problems


def _png_problems(data: bytes) -> list[str]:
    offset, end, stores = 8, len(data), 0
    while offset + 12 <= end:
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        stores += kind == b"caBX"
        offset += 12 + length
        if kind == b"IEND":
            if offset > end:
                break
            problems = [f"{end - offset} bytes after the IEND chunk"] if offset < end else []
            return problems + ([f"{stores} C2PA manifest stores (caBX chunks)"] if stores > 1 else [])
    return ["truncated: the image ends before its IEND chunk"]


def _extra_bmff_stores(data: bytes, media_type: str) -> list[Box]:
    if _family(media_type) != "bmff":
        return []
    return [box for box in _bmff_boxes(data)[0] if box.uuid == C2PA_BMFF_UUID][1:]


def _blank_boxes(data: bytes, boxes: list[Box]) -> bytes:
    """A copy with ``boxes`` turned into free boxes of the same size (no offset moves)."""
    copy = bytearray(data)
    for box in boxes:
        copy[box.offset + 4 : box.offset + 8] = b"free"
    return bytes(copy)


def structure_problems(data: bytes, media_type: str) -> list[str]:
    """What is wrong with the container's layout: cut short, padded, a second manifest store.

    Reported, never fatal: c2pa still validates what it can, and a hash over changed bytes then
    fails — the evidence a verifier needs is that mismatch, not a refusal to look."""
    if _family(media_type) == "bmff":
        return _bmff_boxes(data)[1]
    if media_type == "image/png":
        return _png_problems(data)
    return []


def unhashed_boxes(data: bytes, media_type: str) -> list[str]:
    """Top-level free/skip boxes: what c2pa leaves out of a BMFF hash by default, so their bytes
    can change without a mismatch (``assertion.bmffHash.additionalExclusionsPresent``)."""
    if _family(media_type) != "bmff":
        return []
    return [
        f"{box.kind} box of {box.size} bytes at offset {box.offset}"
        for box in _bmff_boxes(data)[0]
        if box.kind in ("free", "skip")
    ]
