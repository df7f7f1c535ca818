"""Other generators' Content Credentials, built with c2pa-python and a foreign test CA, through
``provenance.verify_clip``: the AI label wherever it sits in the history, and structural damage
that must never hide the evidence."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from provenance.credentials import SigningCredentials
from provenance.history import AiSourceKind
from provenance.manifest import C2PA_BMFF_UUID, MULTIPLE_STORES_CODE, InputImage, ManifestInfo, read_manifest, sign_mp4
from provenance.media import encode_mp4_bytes
from provenance.trust import TrustConfiguration
from provenance.verdict import Verdict
from provenance.verify import verify_clip
from provenance.watermark import Keyring
from tests.provenance.foreign_signer import ai_edit, created, foreign_ca, opened_with_parent

GENERATED_ELSEWHERE_AI, GENERATED_HERE = Verdict.GENERATED_ELSEWHERE_AI, Verdict.GENERATED_HERE
NO_EVIDENCE, TAMPERED = Verdict.NO_EVIDENCE, Verdict.TAMPERED


@pytest.fixture(scope="module")
def lab():
    return foreign_ca("Foreign Generative Lab")


@pytest.fixture(scope="module")
def camera():
    return foreign_ca("Foreign Camera Co")


@pytest.fixture(scope="module")
def keyring(tmp_path_factory) -> Keyring:
    return Keyring.load_or_create(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> SigningCredentials:
    return SigningCredentials.load_or_create_development(tmp_path_factory.mktemp("ours"))


def _png(seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def clip() -> bytes:
    base = np.random.default_rng(7).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    return encode_mp4_bytes(np.stack([np.roll(base, 2 * i, axis=1) for i in range(8)]), fps=8)


def _verify(data: bytes, keyring: Keyring, anchors: str | None = None, **kwargs):
    return verify_clip(data, keyring=keyring, trust_anchors_pem=anchors, max_frames=8, **kwargs)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _store_box(data: bytes) -> bytes:
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"uuid" and data[offset + 8 : offset + 24] == C2PA_BMFF_UUID:
            return data[offset : offset + size]
        offset += size
    raise AssertionError("no C2PA store")


# -- the AI label anywhere in the history --------------------------------------------------------


def test_opened_image_with_an_ai_parent_ingredient_is_ai(lab, keyring):
    """How ChatGPT images are signed: c2pa.opened, the generator's manifest as parentOf."""
    parent = created(_png(), "image/png", lab, "trainedAlgorithmicMedia", "Foreign Image Model")
    chat = opened_with_parent(parent, "image/png", lab)
    report = _verify(chat, keyring)

    assert report.verdict == GENERATED_ELSEWHERE_AI and report.strongest_evidence == "manifest"
    manifest = report.manifest
    assert [a.action for a in manifest.actions] == ["c2pa.opened"]  # the active manifest says nothing of AI
    (evidence,) = manifest.ai_evidence
    assert evidence.relationship == "parentOf" and evidence.action == "c2pa.created"
    assert evidence.kind is AiSourceKind.TRAINED_ALGORITHMIC_MEDIA
    assert evidence.manifest != manifest.active_manifest and evidence.claim_generator == "Foreign Image Model/3.1"


@pytest.mark.parametrize("source_type", ["compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicMedia"])
def test_a_capture_followed_by_an_ai_edit_is_ai(camera, lab, keyring, source_type):
    capture = created(_png(2), "image/png", camera, "digitalCapture", "Foreign Camera")
    edited = opened_with_parent(
        capture, "image/png", lab, generator="Foreign Photo Editor", edits=[ai_edit(source_type)]
    )
    report = _verify(edited, keyring)

    assert report.verdict == GENERATED_ELSEWHERE_AI
    (evidence,) = report.manifest.ai_evidence
    assert evidence.relationship == "active" and evidence.action == "c2pa.edited"
    assert evidence.manifest == report.manifest.active_manifest
    assert evidence.digital_source_type.endswith(source_type)


def test_a_plain_capture_is_not_ai(camera, keyring):
    capture = opened_with_parent(created(_png(3), "image/png", camera, "digitalCapture"), "image/png", camera)
    report = _verify(capture, keyring)
    assert report.verdict == NO_EVIDENCE and report.manifest.ai_evidence == [] and not report.manifest.ai_generated


def test_algorithmic_media_is_labelled_in_its_own_words(lab, keyring):
    report = _verify(created(_png(4), "image/png", lab, "algorithmicMedia"), keyring)
    assert report.verdict == GENERATED_ELSEWHERE_AI
    (evidence,) = report.manifest.ai_evidence
    assert evidence.kind is AiSourceKind.ALGORITHMIC_MEDIA and "not a trained model" in evidence.wording


def test_an_ai_image_that_was_only_an_input_does_not_make_the_output_ai(lab, clip, keyring, ours):
    """inputTo is what a model was conditioned on, not part of the asset; our own clip says AI anyway,
    so check the rule on the history walk directly."""
    ai_image = created(_png(5), "image/png", lab)
    signed = sign_mp4(
        clip,
        ManifestInfo(
            generation_id="g",
            model_id="tiny",
            model_version="1",
            parameters_digest="d",
            policy_version="p",
            decision_id="d",
            input_image=InputImage(data=ai_image, mime="image/png"),
        ),
        ours,
    )
    report = read_manifest(signed, None, ours.trust_anchors_pem())
    assert [e.relationship for e in report.ai_evidence] == ["active"]  # only our own c2pa.created


def test_a_configured_trust_list_makes_the_foreign_signer_trusted(lab, keyring, tmp_path):
    parent = created(_png(6), "image/png", lab)
    chat = opened_with_parent(parent, "image/png", lab)
    untrusted = _verify(chat, keyring)
    assert (
        untrusted.manifest.validation_state == "Valid"
        and "signingCredential.untrusted" in untrusted.manifest.failure_codes
    )
    (tmp_path / "trust.pem").write_text(lab.root_pem)
    trusted = _verify(chat, keyring, trust=TrustConfiguration.from_files(tmp_path / "trust.pem"))
    assert trusted.manifest.validation_state == "Trusted" and trusted.verdict == GENERATED_ELSEWHERE_AI


# -- a tampered history -----------------------------------------------------------------------------


def test_a_tampered_ingredient_says_the_history_was_tampered_and_is_no_evidence_of_ai(lab, keyring):
    parent = bytearray(created(_png(7), "image/png", lab, generator="Foreign Image Model"))
    at = parent.find(b"Foreign Image Model")
    parent[at + 2] ^= 0x01  # the parent's claim no longer matches its signature
    child = opened_with_parent(bytes(parent), "image/png", lab)
    report = _verify(child, keyring)

    manifest = report.manifest
    assert manifest.validation_state == "Valid" and not manifest.tampered  # the top signer's claim holds
    assert manifest.history_tampered
    (failure,) = [f for f in manifest.history_failures if f.tampered]
    assert "claimSignature.mismatch" in failure.codes and failure.relationship == "parentOf"
    assert manifest.ai_evidence == []  # an altered manifest's AI label is no evidence
    assert report.verdict == NO_EVIDENCE
    assert "history was tampered with" in report.summary and "claimSignature.mismatch" in report.summary


# -- structural damage never hides evidence -------------------------------------------------------------


@pytest.mark.parametrize("appended", [b"abc", b"\x00" * 1000], ids=["3 bytes", "1000 bytes"])
def test_bytes_appended_to_a_foreign_ai_video_make_it_tampered(lab, clip, keyring, appended):
    video = created(clip, "video/mp4", lab)
    assert _verify(video, keyring).verdict == GENERATED_ELSEWHERE_AI
    report = _verify(video + appended, keyring)
    assert report.verdict == TAMPERED and report.manifest_error is None
    assert "assertion.bmffHash.mismatch" in report.manifest.failure_codes
    assert report.manifest.structure_problems


def test_a_second_manifest_store_makes_it_tampered_and_the_first_store_stays_readable(lab, clip, keyring):
    video = created(clip, "video/mp4", lab)
    report = _verify(video + _store_box(video), keyring)
    assert report.verdict == TAMPERED and report.manifest_error is None
    assert MULTIPLE_STORES_CODE in report.manifest.failure_codes
    assert report.manifest.claim_generator == "Foreign Video Model/3.1"
    assert any("2 C2PA manifest stores" in problem for problem in report.manifest.structure_problems)


def test_a_free_box_of_attacker_data_is_shown_where_the_signer_left_free_boxes_unhashed(lab, clip, keyring):
    video = created(clip, "video/mp4", lab)  # c2pa's default: free/skip boxes excluded from the hash
    report = _verify(video + _box(b"free", b"A" * 1024), keyring)
    manifest = report.manifest
    assert not manifest.tampered and "assertion.bmffHash.additionalExclusionsPresent" in manifest.informational_codes
    assert f"free box of 1032 bytes at offset {len(video)}" in manifest.unhashed_boxes


@pytest.mark.parametrize("kind", [b"free", b"skip"])
def test_a_free_or_skip_box_added_to_our_clip_is_tampering(clip, keyring, ours, kind):
    info = ManifestInfo(
        generation_id="gen_free",
        model_id="tiny",
        model_version="1",
        parameters_digest="d",
        policy_version="p",
        decision_id="d",
    )
    signed = sign_mp4(clip, info, ours)
    clean = _verify(signed, keyring, ours.trust_anchors_pem(), own_roots_pem=ours.own_roots_pem)
    assert clean.verdict == GENERATED_HERE
    assert "assertion.bmffHash.additionalExclusionsPresent" not in clean.manifest.informational_codes
    padded = _verify(
        signed + _box(kind, b"A" * 1024), keyring, ours.trust_anchors_pem(), own_roots_pem=ours.own_roots_pem
    )
    assert padded.verdict == TAMPERED and "assertion.bmffHash.mismatch" in padded.manifest.failure_codes


def test_our_clip_cut_short_still_decodes_and_reads_tampered(keyring, ours):
    base = np.random.default_rng(8).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    clip = encode_mp4_bytes(np.stack([np.roll(base, 3 * i, axis=0) for i in range(24)]), fps=8)
    info = ManifestInfo(
        generation_id="gen_cut",
        model_id="tiny",
        model_version="1",
        parameters_digest="d",
        policy_version="p",
        decision_id="d",
    )
    signed = sign_mp4(clip, info, ours)
    report = _verify(
        signed[: int(len(signed) * 0.8)], keyring, ours.trust_anchors_pem(), own_roots_pem=ours.own_roots_pem
    )
    assert report.media.frames_analysed > 0
    assert report.verdict == TAMPERED and report.manifest.generation.generation_id == "gen_cut"
    assert any(problem.startswith("truncated") for problem in report.manifest.structure_problems)


def test_the_summary_says_where_the_ai_label_was_found(lab, keyring):
    chat = opened_with_parent(created(_png(9), "image/png", lab, generator="Foreign Image Model"), "image/png", lab)
    summary = _verify(chat, keyring).summary
    assert "c2pa.created in the parentOf ingredient's manifest (Foreign Image Model/3.1)" in summary
    assert "created by a generative AI model" in summary


def test_a_box_inserted_ahead_of_the_media_breaks_decoding_but_the_manifest_still_says_tampered(lab, clip, keyring):
    video = created(clip, "video/mp4", lab)
    ftyp = struct.unpack(">I", video[:4])[0]
    report = _verify(video[:ftyp] + _box(b"free", b"A" * 1024) + video[ftyp:], keyring)  # chunk offsets now miss
    assert report.verdict == TAMPERED and "assertion.bmffHash.mismatch" in report.manifest.failure_codes
    # nothing that did not run is reported as run
    assert report.watermark is None and report.fingerprint is None and report.media.frames_analysed == 0
    assert "no watermark or fingerprint check ran" in report.summary


def test_undecodable_bytes_without_credentials_are_still_refused(clip, keyring):
    from provenance.errors import UnreadableMedia

    ftyp = struct.unpack(">I", clip[:4])[0]
    with pytest.raises(UnreadableMedia):
        _verify(clip[:ftyp] + _box(b"free", b"A" * 1024) + clip[ftyp:], keyring)


def test_a_component_that_declares_ai_makes_the_composite_ai(lab, camera, keyring):
    from tests.provenance.foreign_signer import IPTC, sign

    capture = created(_png(10), "image/png", camera, "digitalCapture")
    actions = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
        {"action": "c2pa.placed", "parameters": {"ingredientIds": ["sticker", "badge"]}},
    ]
    definition = {
        "claim_generator_info": [{"name": "Compositor", "version": "1"}],
        "assertions": [
            {"label": "c2pa.actions.v2", "created": True, "data": {"allActionsIncluded": True, "actions": actions}}
        ],
    }
    composite = sign(
        capture,
        "image/png",
        definition,
        lab,
        [
            ({"title": "parent", "relationship": "parentOf", "label": "parent"}, "image/png", capture),
            # an element with its own AI credentials, and one that only declares its source type
            (
                {"title": "sticker", "relationship": "componentOf", "label": "sticker"},
                "image/png",
                created(_png(11), "image/png", lab, generator="Sticker Model"),
            ),
            (
                {
                    "title": "badge",
                    "relationship": "componentOf",
                    "label": "badge",
                    "digital_source_type": IPTC + "compositeWithTrainedAlgorithmicMedia",
                },
                "image/png",
                _png(12),
            ),
        ],
    )
    report = _verify(composite, keyring)
    assert report.verdict == GENERATED_ELSEWHERE_AI
    found = {(e.relationship, e.action, e.kind) for e in report.manifest.ai_evidence}
    assert found == {
        ("componentOf", "c2pa.created", AiSourceKind.TRAINED_ALGORITHMIC_MEDIA),
        ("componentOf", None, AiSourceKind.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA),
    }


def test_a_picture_below_the_size_limit_is_refused_even_with_altered_credentials(lab, keyring):
    from provenance.errors import UnreadableMedia

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buffer, "PNG")
    with pytest.raises(UnreadableMedia, match="at least"):
        _verify(created(buffer.getvalue(), "image/png", lab) + b"abc", keyring)
