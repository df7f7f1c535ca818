"""C2PA manifests signed into real MP4s (PyAV) and read back with real c2pa validation."""

from __future__ import annotations

import io
import struct

import msgspec
import numpy as np
import pytest
from PIL import Image

from provenance.credentials import SigningCredentials
from provenance.errors import ManifestError, SigningError
from provenance.manifest import (
    GENERATION_ASSERTION_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
    InputImage,
    ManifestInfo,
    ManifestReport,
    read_manifest,
    sign_image,
    sign_mp4,
)
from provenance.media import encode_mp4_bytes


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> SigningCredentials:
    return SigningCredentials.load_or_create_development(tmp_path_factory.mktemp("ours"))


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> SigningCredentials:
    return SigningCredentials.load_or_create_development(tmp_path_factory.mktemp("other"), organisation="Other AI Lab")


@pytest.fixture(scope="module")
def clip() -> bytes:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    frames = np.stack([np.roll(base, 2 * i, axis=1) for i in range(8)])
    return encode_mp4_bytes(frames, fps=8)


@pytest.fixture(scope="module")
def info() -> ManifestInfo:
    return ManifestInfo(
        generation_id="gen_0123",
        model_id="originframe/tiny-video",
        model_version="2025.1",
        parameters_digest="sha256:9f2c",
        policy_version="policy-7",
        decision_id="dec_42",
        watermark_algorithm="originframe.wm.v1",
        watermark_value="k3:5a1f09c2",
    )


@pytest.fixture(scope="module")
def signed(clip, info, ours) -> bytes:
    return sign_mp4(clip, info, ours)


def _png(seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _mdat_payload_offset(data: bytes) -> int:
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            return offset + 8
        offset += size
    raise AssertionError("no mdat box")


def test_signed_clip_reads_back_trusted_with_our_anchors(signed, ours, info):
    report = read_manifest(signed, "video/mp4", ours.trust_anchors_pem())

    assert report.present and report.validation_state == "Trusted" and report.trusted
    assert report.signature_valid and report.content_hash_intact and not report.tampered
    assert report.failure_codes == []
    assert "signingCredential.trusted" in report.success_codes
    assert "assertion.bmffHash.match" in report.success_codes
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA and report.ai_generated
    assert report.signer.common_name == ours.summary().subject_common_name
    assert report.claim_generator.startswith("Originframe/")


def test_without_anchors_the_same_clip_is_valid_but_untrusted(signed):
    report = read_manifest(signed, "video/mp4", None)

    assert report.validation_state == "Valid" and not report.trusted
    assert report.failure_codes == ["signingCredential.untrusted"]
    assert report.signature_valid and report.content_hash_intact and not report.tampered


def test_manifest_records_actions_watermark_reference_and_generation(signed, ours, info):
    report = read_manifest(signed, "video/mp4", ours.trust_anchors_pem())

    created, watermarked = report.actions
    assert created.action == "c2pa.created"
    assert created.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert created.software_agent.startswith("Originframe/")
    assert created.parameters["com.originframe.model"] == info.model_id
    assert created.parameters["com.originframe.model_revision"] == info.model_version
    # not on the C2PA soft-binding list: an unbound mark, referenced in our own assertion
    assert watermarked.action == "c2pa.watermarked.unbound"
    assert report.soft_bindings == []
    reference = report.watermark_reference
    assert (reference.algorithm, reference.value, reference.soft_binding) == ("originframe.wm.v1", "k3:5a1f09c2", False)
    assert GENERATION_ASSERTION_LABEL in report.assertion_labels
    generation = report.generation
    assert (generation.generation_id, generation.decision_id, generation.policy_version) == (
        "gen_0123",
        "dec_42",
        "policy-7",
    )
    assert generation.parameters_digest == "sha256:9f2c" and generation.model_id == info.model_id
    assert generation.prompt is None  # not unless the caller sets it


def test_prompt_is_recorded_only_when_given(clip, info, ours):
    report = read_manifest(sign_mp4(clip, msgspec.structs.replace(info, prompt="a red kite"), ours), "video/mp4")
    assert report.generation.prompt == "a red kite"


def test_report_is_json_serialisable(signed, ours):
    report = read_manifest(signed, "video/mp4", ours.trust_anchors_pem())
    decoded = msgspec.json.decode(msgspec.json.encode(report), type=ManifestReport)
    assert decoded == report


def test_flipping_bytes_in_the_video_data_is_tampering(signed, ours):
    corrupted = bytearray(signed)
    start = _mdat_payload_offset(signed)
    for index in range(start + 100, start + 108):
        corrupted[index] ^= 0xFF
    report = read_manifest(bytes(corrupted), "video/mp4", ours.trust_anchors_pem())

    assert report.present and report.tampered
    assert report.validation_state == "Invalid"
    assert "assertion.bmffHash.mismatch" in report.failure_codes
    assert report.content_hash_intact is False
    assert report.generation.generation_id == "gen_0123"  # the claim is still readable evidence


def test_input_image_ingredient_carries_its_manifest_forward(clip, info, ours, elsewhere):
    upstream = sign_image(_png(), "image/png", msgspec.structs.replace(info, generation_id="upstream"), elsewhere)
    with_input = msgspec.structs.replace(
        info, input_image=InputImage(data=upstream, mime="image/png", title="input.png")
    )
    report = read_manifest(sign_mp4(clip, with_input, ours), "video/mp4", ours.trust_anchors_pem())

    assert report.validation_state == "Trusted" and not report.tampered
    (ingredient,) = report.ingredients
    assert ingredient.relationship == "inputTo" and ingredient.title == "input.png"
    assert ingredient.has_manifest and ingredient.signer.issuer == "Other AI Lab"
    assert ingredient.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.manifest_count == 2
    assert report.actions[0].parameters["ingredients"]  # the created action points at it


def test_plain_input_image_is_an_ingredient_without_manifest(clip, info, ours):
    with_input = msgspec.structs.replace(info, input_image=InputImage(data=_png(3), mime="image/png"))
    report = read_manifest(sign_mp4(clip, with_input, ours), "video/mp4", ours.trust_anchors_pem())
    (ingredient,) = report.ingredients
    assert ingredient.relationship == "inputTo" and not ingredient.has_manifest
    assert report.manifest_count == 1


def test_ingredient_thumbnails_are_off_unless_asked_for(clip, info, ours):
    rgb = np.random.default_rng(9).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95)
    with_input = msgspec.structs.replace(info, input_image=InputImage(data=buffer.getvalue(), mime="image/jpeg"))
    plain = sign_mp4(clip, with_input, ours)
    with_thumbnails = sign_mp4(clip, with_input, ours, thumbnails=True)
    assert len(with_thumbnails) > len(plain) + 10_000


def test_another_signers_ai_clip_is_recognised_but_not_trusted(clip, info, ours, elsewhere):
    theirs = sign_mp4(clip, info, elsewhere)
    report = read_manifest(theirs, "video/mp4", ours.trust_anchors_pem())

    assert report.present and not report.trusted and not report.tampered
    assert report.validation_state == "Valid"
    assert "signingCredential.untrusted" in report.failure_codes
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA and report.ai_generated
    assert report.signer.issuer == "Other AI Lab"


def test_still_images_sign_and_verify(info, ours):
    rgb = np.random.default_rng(5).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG")
    report = read_manifest(sign_image(buffer.getvalue(), "image/jpeg", info, ours), None, ours.trust_anchors_pem())
    assert report.format == "image/jpeg" and report.validation_state == "Trusted"


def test_unsigned_media_has_no_manifest(clip):
    report = read_manifest(clip, "video/mp4")
    assert not report.present and report.validation_state is None and not report.tampered


def test_mime_hint_is_not_trusted_over_the_bytes(signed, ours):
    assert read_manifest(signed, "image/png", ours.trust_anchors_pem()).validation_state == "Trusted"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 64, b"not a video at all" * 20, b"\x00\x00\x00\x20ftypisom"],
    ids=["empty", "zeros", "text", "cut-header"],
)
def test_garbage_raises_the_domain_error(data):
    with pytest.raises(ManifestError):
        read_manifest(data, "video/mp4")


def test_clip_cut_inside_its_manifest_raises_the_domain_error(signed):
    with pytest.raises(ManifestError, match="truncated"):
        read_manifest(signed[: signed.find(b"c2pa.signature") + 20], "video/mp4")


@pytest.mark.parametrize("fraction", [0.5, 0.95])
def test_clip_cut_after_its_manifest_is_still_validated_and_reads_tampered(signed, ours, fraction):
    report = read_manifest(signed[: int(len(signed) * fraction)], "video/mp4", ours.trust_anchors_pem())
    assert report.present and report.tampered and report.validation_state == "Invalid"
    assert "assertion.bmffHash.mismatch" in report.failure_codes
    assert any("truncated" in problem for problem in report.structure_problems)
    assert report.generation.generation_id == "gen_0123"  # the evidence survives the cut


def test_truncated_png_that_c2pa_cannot_parse_raises_the_domain_error_with_the_reason(info, ours):
    png = sign_image(_png(), "image/png", info, ours)
    with pytest.raises(ManifestError, match="truncated: the image ends before its IEND chunk"):
        read_manifest(png[: len(png) - 20], "image/png")


def test_signing_refuses_bytes_that_are_not_the_declared_type(info, ours):
    with pytest.raises(SigningError):
        sign_mp4(_png(), info, ours)
    with pytest.raises(SigningError):
        sign_mp4(b"garbage", info, ours)


def test_watermark_fields_come_in_pairs(clip, info, ours):
    with pytest.raises(SigningError, match="both"):
        sign_mp4(clip, msgspec.structs.replace(info, watermark_value=None), ours)


def test_editing_an_assertion_inside_the_manifest_is_tampering(signed, ours):
    edited = bytearray(signed)
    at = signed.find(b"dec_42")
    edited[at + 4] = ord("9")  # dec_42 -> dec_92 in the generation assertion
    report = read_manifest(bytes(edited), "video/mp4", ours.trust_anchors_pem())
    assert report.tampered and report.validation_state == "Invalid"
    assert "assertion.hashedURI.mismatch" in report.failure_codes


@pytest.mark.parametrize(
    "model_id", ["/srv/models/ltx", "./weights", "~/models/svd", "C:\\models\\svd", "data/models/tiny/v1"]
)
def test_a_server_path_never_goes_into_a_manifest(clip, info, ours, model_id):
    with pytest.raises(SigningError, match="filesystem path"):
        sign_mp4(clip, msgspec.structs.replace(info, model_id=model_id), ours)
