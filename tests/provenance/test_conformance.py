"""Our manifests against the statements of the C2PA Conformance Program's asset rubrics
(conformance 0.2 for spec 2.4, and integrity), written as plain checks of the crJSON that
c2pa-python's ``Reader.crjson()`` produces — for text-to-video, image-to-video and signed stills.

The rubric evaluator itself needs ``json-formula`` (not on PyPI); docs/provenance.md records a
run of it on the same outputs. These checks say the same things in Python.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import c2pa
import msgspec
import numpy as np
import pytest
from PIL import Image

from provenance.credentials import SigningCredentials
from provenance.manifest import (
    REGISTERED_SOFT_BINDING_ALGORITHMS,
    SPEC_VERSION,
    InputImage,
    ManifestInfo,
    sign_image,
    sign_mp4,
)
from provenance.media import encode_mp4_bytes

# C2PA 2.2 §18.14: the standard actions, and those deprecated since (App. C.1)
STANDARD_ACTIONS = {
    "c2pa.addedText",
    "c2pa.adjustedColor",
    "c2pa.changedSpeed",
    "c2pa.converted",
    "c2pa.created",
    "c2pa.cropped",
    "c2pa.deleted",
    "c2pa.drawing",
    "c2pa.dubbed",
    "c2pa.edited",
    "c2pa.edited.metadata",
    "c2pa.enhanced",
    "c2pa.filtered",
    "c2pa.mastered",
    "c2pa.mixed",
    "c2pa.opened",
    "c2pa.orientation",
    "c2pa.placed",
    "c2pa.published",
    "c2pa.redacted",
    "c2pa.remixed",
    "c2pa.removed",
    "c2pa.repackaged",
    "c2pa.resized",
    "c2pa.resized.proportional",
    "c2pa.transcoded",
    "c2pa.translated",
    "c2pa.trimmed",
    "c2pa.unknown",
    "c2pa.watermarked.bound",
    "c2pa.watermarked.unbound",
}
DEPRECATED_ACTIONS = {
    "c2pa.copied",
    "c2pa.formatted",
    "c2pa.version_updated",
    "c2pa.printed",
    "c2pa.managed",
    "c2pa.produced",
    "c2pa.saved",
    "c2pa.color_adjustments",
    "c2pa.watermarked",
}
INCEPTION_ACTIONS = ("c2pa.created", "c2pa.opened")
# actions that change nothing a viewer perceives, so need no digitalSourceType
NON_EDITORIAL_ACTIONS = {
    "c2pa.converted",
    "c2pa.published",
    "c2pa.repackaged",
    "c2pa.transcoded",
    "c2pa.resized.proportional",
    "c2pa.enhanced",
    "c2pa.edited.metadata",
    "c2pa.watermarked.bound",
    "c2pa.watermarked.unbound",
    "c2pa.redacted",
    "c2pa.placed",
}
# the action parameters the spec itself defines (§18.14.4); anything else needs a namespace
STANDARD_PARAMETERS = {
    "redacted",
    "ingredients",
    "ingredient",
    "description",
    "relatedAssertions",
    "sourceLanguage",
    "targetLanguage",
    "multipleInstances",
    "ranges",
    "weight",
    "width",
    "italic",
    "slant",
    "optical-size",
}
STANDARD_ASSERTIONS = {
    "c2pa.hash.data",
    "c2pa.hash.data.part",
    "c2pa.actions.v2",
    "c2pa.ingredient.v3",
    "c2pa.hash.boxes",
    "c2pa.hash.bmff.v3",
    "c2pa.hash.collection.data",
    "c2pa.soft-binding",
    "c2pa.cloud-data",
    "c2pa.embedded-data",
    "c2pa.metadata",
    "c2pa.certificate-status",
    "c2pa.asset-ref",
    "c2pa.asset-type.v2",
    "c2pa.hash.multi-asset",
    "c2pa.thumbnail.claim",
    "c2pa.thumbnail.ingredient",
    "c2pa.icon",
    "c2pa.time-stamp",
    "c2pa.ai-disclosure",
}
DEPRECATED_ASSERTIONS = {
    "c2pa.claim",
    "c2pa.hash.bmff.v2",
    "c2pa.asset-type",
    "c2pa.ingredient",
    "c2pa.ingredient.v2",
    "c2pa.actions",
}
# failure codes that make an asset malformed or no longer match (the integrity rubric's lists, in part)
INTEGRITY_FAILURES = re.compile(r"\.(malformed|mismatch|missing|invalid|multiple\w*|unknownBox)$|^claim\.|^manifest\.")
TRUST_FAILURES = {
    "claimSignature.mismatch",
    "claimSignature.outsideValidity",
    "signingCredential.invalid",
    "signingCredential.ocsp.revoked",
    "signingCredential.untrusted",
}


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> SigningCredentials:
    return SigningCredentials.load_or_create_development(tmp_path_factory.mktemp("conformance"))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> SigningCredentials:
    return SigningCredentials.load_or_create_development(tmp_path_factory.mktemp("upstream"), organisation="Upstream")


def _info(**changes: Any) -> ManifestInfo:
    info = ManifestInfo(
        generation_id="gen_rubric",
        model_id="Lightricks/LTX-Video",
        model_version="0.9.1",
        parameters_digest="sha256:00",
        policy_version="policy-1",
        decision_id="dec_1",
        watermark_algorithm="originframe.wm.v1",
        watermark_value="1:00000000deadbeef",
        fingerprint_algorithm="originframe.fp.v1",
        fingerprint_value="gen_rubric",
    )
    return msgspec.structs.replace(info, **changes)


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _clip() -> bytes:
    base = np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    return encode_mp4_bytes(np.stack([np.roll(base, i, axis=0) for i in range(6)]), fps=6)


def _crjson(data: bytes, mime: str, anchors: str) -> dict[str, Any]:
    settings = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}, "trust": {"user_anchors": anchors}}
    with c2pa.Context.from_dict(settings) as context:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=context)
        assert reader is not None
        with reader:
            return json.loads(reader.crjson())


@pytest.fixture(
    scope="module",
    params=["text-to-video", "image-to-video", "image-to-video-with-credentials", "png-still", "jpeg-still"],
)
def output(request, ours, upstream) -> dict[str, Any]:
    kind = request.param
    if kind == "text-to-video":
        signed, mime = sign_mp4(_clip(), _info(), ours), "video/mp4"
    elif kind == "image-to-video":
        signed, mime = (
            sign_mp4(_clip(), _info(input_image=InputImage(data=_png(1), mime="image/png")), ours),
            "video/mp4",
        )
    elif kind == "image-to-video-with-credentials":
        credentialed = sign_image(_png(2), "image/png", _info(generation_id="upstream"), upstream)
        signed = sign_mp4(_clip(), _info(input_image=InputImage(data=credentialed, mime="image/png")), ours)
        mime = "video/mp4"
    elif kind == "png-still":
        signed, mime = sign_image(_png(4), "image/png", _info(), ours), "image/png"
    else:
        buffer = io.BytesIO()
        Image.open(io.BytesIO(_png(5))).save(buffer, "JPEG", quality=90)
        signed, mime = sign_image(buffer.getvalue(), "image/jpeg", _info(), ours), "image/jpeg"
    return _crjson(signed, mime, ours.trust_anchors_pem() + upstream.trust_anchors_pem())


def _active(crjson: dict[str, Any]) -> dict[str, Any]:
    return crjson["manifests"][0]


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        action
        for value in manifest["assertions"].values()
        if isinstance(value, dict)
        for action in value.get("actions", [])
    ]


def _base(label: str) -> str:
    return label.split("__", 1)[0]


def test_the_inception_action_opens_the_first_created_actions_assertion(output):
    manifest = _active(output)
    created = [ref["url"] for ref in manifest["claim.v2"]["created_assertions"]]
    first_actions = next(url for url in created if "c2pa.actions" in url)
    assert first_actions.endswith("c2pa.actions.v2")
    assert manifest["assertions"]["c2pa.actions.v2"]["actions"][0]["action"] in INCEPTION_ACTIONS
    # all our own assertions are created ones; only ingredients are gathered
    gathered = [ref["url"] for ref in manifest["claim.v2"].get("gathered_assertions", [])]
    assert all("c2pa.ingredient" in url for url in gathered), gathered


def test_every_actions_assertion_says_whether_all_actions_are_included(output):
    assertions = [
        value for value in _active(output)["assertions"].values() if isinstance(value, dict) and "actions" in value
    ]
    assert assertions and all("allActionsIncluded" in value for value in assertions)


def test_claim_generator_names_the_spec_version(output):
    info = _active(output)["claim.v2"]["claim_generator_info"]
    info = info[0] if isinstance(info, list) else info
    assert isinstance(info.get("specVersion"), str)
    assert info["specVersion"].split(".")[:2] == SPEC_VERSION.split(".")[:2] == ["2", "4"]
    assert "specVersion" not in _active(output)["claim.v2"]  # the deprecated place for it


def test_actions_are_standard_and_not_deprecated(output):
    names = [action["action"] for action in _actions(_active(output))]
    assert not set(names) & DEPRECATED_ACTIONS
    assert all(name in STANDARD_ACTIONS or (not name.startswith("c2pa.") and "." in name) for name in names), names


def test_action_parameters_are_standard_or_namespaced_and_description_is_not_a_parameter(output):
    for action in _actions(_active(output)):
        parameters = action.get("parameters") or {}
        strays = [key for key in parameters if key not in STANDARD_PARAMETERS and "." not in key]
        assert not strays, (action["action"], strays)
        assert "description" not in parameters and "ingredient" not in parameters, action


def test_source_types_where_the_spec_wants_them(output):
    for action in _actions(_active(output)):
        name = action["action"]
        if name == "c2pa.created":
            assert action.get("digitalSourceType"), action
        elif name == "c2pa.opened":
            assert "digitalSourceType" not in action
        elif name.startswith("c2pa.") and name not in NON_EDITORIAL_ACTIONS:
            assert action.get("digitalSourceType"), f"perceptible {name} without a digitalSourceType"


def test_assertion_labels_are_standard_or_namespaced(output):
    labels = list(_active(output)["assertions"])
    for label in labels:
        base = _base(label)
        assert base not in DEPRECATED_ASSERTIONS and not base.startswith("stds.")
        if base.startswith("c2pa."):
            assert base in STANDARD_ASSERTIONS, label
        else:
            assert "." in base, label


def test_soft_bindings_only_for_registered_algorithms(output):
    for label, value in _active(output)["assertions"].items():
        if _base(label) == "c2pa.soft-binding":
            assert value["alg"] in REGISTERED_SOFT_BINDING_ALGORITHMS
    names = [action["action"] for action in _actions(_active(output))]
    if "c2pa.watermarked.bound" in names:
        assert any(_base(label) == "c2pa.soft-binding" for label in _active(output)["assertions"])


def test_ingredients_are_well_formed(output):
    for label, value in _active(output)["assertions"].items():
        if not _base(label).startswith("c2pa.ingredient"):
            continue
        assert value["relationship"] in ("parentOf", "componentOf", "inputTo")
        if value.get("activeManifest") is not None:
            assert value.get("validationResults") is not None and "digitalSourceType" not in value
        else:
            assert value.get("validationResults") is None


def test_manifest_label_is_a_c2pa_urn_and_hash_assertions_carry_no_url(output):
    manifest = _active(output)
    assert manifest["label"].startswith("urn:c2pa:")
    for label in ("c2pa.hash.data", "c2pa.hash.bmff.v3"):
        assert "url" not in manifest["assertions"].get(label, {})


def test_integrity_well_formed_valid_and_trusted(output):
    results = _active(output).get("validationResults")
    assert results is not None
    failures = [item["code"] for item in results.get("failure", [])]
    assert not [code for code in failures if INTEGRITY_FAILURES.search(code)], failures
    assert not set(failures) & TRUST_FAILURES, failures


def test_no_server_path_anywhere_in_the_manifest(output):
    def strings(value: Any):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    ours_only = {
        label: value
        for label, value in _active(output)["assertions"].items()
        if not _base(label).startswith("c2pa.hash.")
    }  # the hash's box paths (/uuid, /ftyp) are no files
    for text in strings(ours_only):
        assert not re.match(r"^(/|~|[A-Za-z]:\\|\./)", text), text
