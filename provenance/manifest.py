"""Signing C2PA manifests into generated media, and reading them back with their validation.

``sign_mp4`` (and ``sign_image`` for PNG/JPEG stills) embeds a manifest whose claim says: this
asset was *created* (intent create) by a trained algorithm (``trainedAlgorithmicMedia``), by this
service and model, then watermarked; a ``c2pa.soft-binding`` assertion names the watermark so a
copy stripped of its metadata can be tied back to the stored manifest; a custom
``com.originframe.generation`` assertion records the generation, policy decision and parameters
digest; the input image, if any, is an ``inputTo`` ingredient whose own manifest is carried along.

``read_manifest`` returns a ``ManifestReport``: the validation state and status codes exactly as
c2pa reports them, plus the fields a verifier needs, and a ``tampered`` flag for a manifest whose
signature or content hash no longer matches. Malformed or truncated bytes raise ``ManifestError``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
from typing import Any

import c2pa
import msgspec

from provenance.credentials import SigningCredentials
from provenance.errors import ManifestError, SigningError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
# Source types that say "a generative model made (part of) this"
AI_DIGITAL_SOURCE_TYPES = frozenset({TRAINED_ALGORITHMIC_MEDIA, COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA})

GENERATION_ASSERTION_LABEL = "com.originframe.generation"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
INPUT_IMAGE_INGREDIENT_LABEL = "input-image"

VALIDATION_TRUSTED = "Trusted"
VALIDATION_VALID = "Valid"
VALIDATION_INVALID = "Invalid"

# Hard-binding failures: the bytes no longer match what was signed
CONTENT_HASH_MISMATCH_CODES = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.collectionHash.mismatch",
    }
)
CONTENT_HASH_MATCH_CODES = frozenset(code.replace(".mismatch", ".match") for code in CONTENT_HASH_MISMATCH_CODES)
# Failures that mean the manifest or asset was altered after signing (not merely an unknown or
# expired signer): a broken claim signature, a changed or missing assertion, changed content.
TAMPER_CODES = CONTENT_HASH_MISMATCH_CODES | {
    "claimSignature.mismatch",
    "claimSignature.missing",
    "assertion.hashedURI.mismatch",
    "assertion.hashedURI.missing",
    "assertion.missing",
    "assertion.notRedacted",
    "assertion.selfRedacted",
    "claim.missing",
    "claim.multiple",
    "claim.hardBindings.missing",
    "ingredient.manifest.mismatch",
}

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
    model_id: str
    model_version: str
    parameters_digest: str
    policy_version: str
    decision_id: str
    output_settings: dict[str, str] | None = None  # generation settings that shape the pixels (dtype, step cache, fp8 weights)
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
    ingredients: list[IngredientRecord] = msgspec.field(default_factory=list)
    ingredient_failure_codes: list[str] = msgspec.field(default_factory=list)
    soft_bindings: list[SoftBindingRecord] = msgspec.field(default_factory=list)
    generation: GenerationAssertion | None = None
    assertion_labels: list[str] = msgspec.field(default_factory=list)


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
    _check_structure(data, detected)
    if (info.watermark_algorithm is None) != (info.watermark_value is None):
        raise SigningError("give both watermark_algorithm and watermark_value, or neither")
    if (info.fingerprint_algorithm is None) != (info.fingerprint_value is None):
        raise SigningError("give both fingerprint_algorithm and fingerprint_value, or neither")

    context = c2pa.Context.from_dict(
        {
            "builder": {"thumbnail": {"enabled": thumbnails}},
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        }
    )
    output = io.BytesIO()
    try:
        with context, c2pa.Builder(_manifest_definition(info), context=context) as builder:
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


def _service_version(info: ManifestInfo) -> str:
    if info.service_version:
        return info.service_version
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("originframe")
    except PackageNotFoundError:
        return "0+unknown"


def _manifest_definition(info: ManifestInfo) -> dict[str, Any]:
    service_version = _service_version(info)
    when = (info.created_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat()
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": info.service_name, "version": service_version},
        "when": when,
        "parameters": {"model": info.model_id, "model_version": info.model_version},
    }
    if info.input_image is not None:
        created["parameters"]["ingredientIds"] = [INPUT_IMAGE_INGREDIENT_LABEL]
    actions = [created]
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions.v2", "data": {"actions": actions}}]
    if info.watermark_algorithm is not None:
        actions.append(
            {
                "action": "c2pa.watermarked",
                "softwareAgent": {"name": info.service_name, "version": service_version},
                "parameters": {"description": f"invisible watermark {info.watermark_algorithm}"},
            }
        )
        assertions.append(_soft_binding(info.watermark_algorithm, info.watermark_value, "invisible watermark"))
    if info.fingerprint_algorithm is not None:
        assertions.append(_soft_binding(info.fingerprint_algorithm, info.fingerprint_value, "perceptual fingerprint"))
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
    assertions.append({"label": GENERATION_ASSERTION_LABEL, "data": generation_data})
    return {
        "claim_generator_info": [{"name": info.service_name, "version": service_version}],
        "title": info.title or f"{info.generation_id}",
        "assertions": assertions,
    }


def _soft_binding(algorithm: str, value: str, name: str) -> dict[str, Any]:
    # c2pa-rs's SoftBinding type requires `pad`; an empty one costs nothing
    return {
        "label": SOFT_BINDING_LABEL,
        "data": {"alg": algorithm, "name": name, "blocks": [{"scope": {}, "value": value}], "pad": []},
    }


# -- reading --------------------------------------------------------------------------------------


def read_manifest(data: bytes, mime: str | None = None, trust_anchors_pem: str | None = None) -> ManifestReport:
    """Read and validate the C2PA manifest in ``data``.

    The container is recognised from the bytes (``mime`` is only a hint, since uploads often
    carry a wrong type). Without ``trust_anchors_pem`` a well-formed manifest from an unknown
    signer reads back ``Valid`` with ``signingCredential.untrusted``; with the service's anchors,
    its own manifests read back ``Trusted``. Never fetches anything over the network.

    Raises ``ManifestError`` for bytes that are not a recognisable image or video, or are truncated.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    detected = detect_media_type(data)
    if detected is None:
        hint = f" (declared {mime})" if mime else ""
        raise ManifestError(f"unrecognised media format{hint}: not MP4/MOV, PNG, JPEG, GIF, WebP, TIFF or WebM")
    _check_structure(data, detected)
    trusted_anchors = bool(trust_anchors_pem and trust_anchors_pem.strip())
    if detected not in _C2PA_READABLE:
        return ManifestReport(
            present=False, format=detected, format_supported=False, trust_anchors_configured=trusted_anchors
        )

    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trusted_anchors:
        # user_anchors adds to c2pa's built-in list instead of replacing it
        settings["trust"] = {"user_anchors": trust_anchors_pem}
    try:
        with c2pa.Context.from_dict(settings) as context:
            reader = c2pa.Reader.try_create(detected, io.BytesIO(data), context=context)
            if reader is None:
                return ManifestReport(present=False, format=detected, trust_anchors_configured=trusted_anchors)
            with reader:
                store = json.loads(reader.json())
    except c2pa.C2paError as error:
        raise ManifestError(f"cannot read C2PA data from this {detected}: {error}") from error
    except ValueError as error:  # json
        raise ManifestError(f"c2pa returned an unreadable manifest store: {error}") from error
    return _report(store, detected, trusted_anchors)


def _report(store: dict[str, Any], media_type: str, trust_anchors_configured: bool) -> ManifestReport:
    manifests: dict[str, Any] = store.get("manifests") or {}
    label = store.get("active_manifest")
    active: dict[str, Any] = manifests.get(label) or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [_entry(item) for item in results.get("failure", [])]
    if not results:  # older c2pa: only the flat list of failures
        failures = [_entry(item) for item in store.get("validation_status", [])]
    # An ingredient's own problems (say, a user-supplied image whose manifest was already broken)
    # are reported apart: they do not make this asset tampered.
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
    tampered = bool(active) and any(code in TAMPER_CODES or code.endswith(".mismatch") for code in failure_codes)

    assertions = active.get("assertions") or []
    actions = [_action(item) for a in assertions if _base_label(a) in ("c2pa.actions", "c2pa.actions.v2")
               for item in (a.get("data") or {}).get("actions", [])]
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
        ai_generated=source_type in AI_DIGITAL_SOURCE_TYPES,
        ingredients=[_ingredient(item, manifests) for item in active.get("ingredients") or []],
        ingredient_failure_codes=ingredient_failure_codes,
        soft_bindings=[_soft_binding_record(a.get("data") or {}) for a in assertions
                       if _base_label(a) == SOFT_BINDING_LABEL],
        generation=_generation(assertions),
        assertion_labels=[a.get("label", "") for a in assertions],
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
    for wanted in ("c2pa.created", "c2pa.opened"):
        for action in actions:
            if action.action == wanted and action.digital_source_type:
                return action.digital_source_type
    return next((a.digital_source_type for a in actions if a.digital_source_type), None)


def _ingredient(item: dict[str, Any], manifests: dict[str, Any]) -> IngredientRecord:
    label = item.get("active_manifest")
    manifest = manifests.get(label) if label else None
    own = ((item.get("validation_results") or {}).get("activeManifest") or {}).get("failure", [])
    source_type = None
    if manifest:
        actions = [_action(a) for assertion in manifest.get("assertions") or []
                   if _base_label(assertion) in ("c2pa.actions", "c2pa.actions.v2")
                   for a in (assertion.get("data") or {}).get("actions", [])]
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


def _generation(assertions: list[dict[str, Any]]) -> GenerationAssertion | None:
    for assertion in assertions:
        if _base_label(assertion) == GENERATION_ASSERTION_LABEL:
            try:
                return msgspec.convert(assertion.get("data"), GenerationAssertion, strict=False)
            except msgspec.ValidationError:
                return None  # someone else's assertion under our label: not evidence of ours
    return None


# -- recognising containers -------------------------------------------------------------------------

_C2PA_READABLE = frozenset(
    {"video/mp4", "video/quicktime", "image/heif", "image/avif", "image/png", "image/jpeg", "image/gif",
     "image/webp", "image/tiff"}
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


def _check_structure(data: bytes, media_type: str) -> None:
    """Refuse truncated containers: c2pa would otherwise report a cut-off file as merely tampered."""
    if _family(media_type) == "bmff":
        _check_bmff(data)
    elif media_type == "image/png":
        _check_png(data)


def _check_bmff(data: bytes) -> None:
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < 8:
            raise ManifestError(f"truncated MP4: {end - offset} stray bytes after the last box at offset {offset}")
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        header = 8
        if size == 1:
            if end - offset < 16:
                raise ManifestError(f"truncated MP4: box header cut off at offset {offset}")
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
            header = 16
        elif size == 0:  # box runs to the end of the file
            size = end - offset
        if size < header:
            raise ManifestError(f"malformed MP4: box {kind!r} at offset {offset} declares {size} bytes")
        if offset + size > end:
            raise ManifestError(
                f"truncated MP4: box {kind.decode('latin-1')!r} at offset {offset} declares {size} bytes, "
                f"only {end - offset} remain"
            )
        offset += size


def _check_png(data: bytes) -> None:
    offset, end = 8, len(data)
    while offset + 12 <= end:
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        offset += 12 + length
        if kind == b"IEND":
            if offset > end:
                break
            return
    raise ManifestError("truncated PNG: the image ends before its IEND chunk")
