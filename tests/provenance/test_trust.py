"""Trust configuration for reading other signers: the C2PA trust list and the TSA trust list as
local PEM bundles or in the C2PA JSON form; and the soft binding under strict algorithm checking."""

from __future__ import annotations

import base64
import io
import json

import c2pa
import numpy as np
import pytest
from PIL import Image

import provenance.manifest as manifest_module
from provenance.credentials import SigningCredentials
from provenance.errors import CredentialsError
from provenance.manifest import ManifestInfo, read_manifest, sign_mp4
from provenance.media import encode_mp4_bytes
from provenance.trust import TrustConfiguration, count_certificates, load_trust_list
from tests.provenance.foreign_signer import created, foreign_ca

TRUSTED = "http://c2pa.org/conformance/trust-list/trusted"
WITHDRAWN = "http://c2pa.org/conformance/trust-list/withdrawn"


def _json_list(entries: list[tuple[bytes, str]]) -> str:
    """A trust list shaped like the C2PA Conformance Program's (ETSI TS 119 602 LoTE)."""
    return json.dumps(
        {
            "LoTE": {
                "ListAndSchemeInformation": {
                    "LoTEVersionIdentifier": 1,
                    "SchemeName": [{"lang": "en", "value": "test list"}],
                },
                "TrustedEntitiesList": [
                    {
                        "TrustedEntityInformation": {"TEName": [{"lang": "en", "value": f"entity {i}"}]},
                        "TrustedEntityServices": [
                            {
                                "ServiceInformation": {
                                    "ServiceName": [{"lang": "en", "value": f"issuing CA {i}"}],
                                    "ServiceDigitalIdentity": {
                                        "X509Certificates": [{"val": base64.b64encode(der).decode()}]
                                    },
                                    "ServiceStatus": status,
                                }
                            }
                        ],
                    }
                    for i, (der, status) in enumerate(entries)
                ],
            }
        }
    )


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_json_trust_list_takes_trusted_issuers_and_skips_withdrawn_ones(tmp_path):
    listed, withdrawn = foreign_ca("Listed Lab"), foreign_ca("Withdrawn Lab")
    path = tmp_path / "C2PA-TRUST-LIST.json"
    path.write_text(_json_list([(listed.intermediate_der, TRUSTED), (withdrawn.intermediate_der, WITHDRAWN)]))
    trust = TrustConfiguration.from_files(path)
    assert count_certificates(trust.signer_anchors_pem) == 1

    # the list names issuing CAs, as the real one does: a leaf they issued reads Trusted
    assert read_manifest(created(_png(), "image/png", listed), trust=trust).validation_state == "Trusted"
    report = read_manifest(created(_png(), "image/png", withdrawn), trust=trust)
    assert report.validation_state == "Valid" and "signingCredential.untrusted" in report.failure_codes


def test_pem_bundle_trust_list_adds_to_the_anchors_given_directly(tmp_path):
    lab, other = foreign_ca("PEM Lab"), foreign_ca("Other Lab")
    (tmp_path / "list.pem").write_text(lab.root_pem)
    trust = TrustConfiguration.from_files(tmp_path / "list.pem", signer_anchors_pem=other.root_pem)
    assert count_certificates(trust.signer_anchors_pem) == 2
    assert read_manifest(created(_png(), "image/png", other), trust=trust).trusted
    assert read_manifest(created(_png(), "image/png", lab), trust=trust).trusted


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "neither a PEM bundle"),
        ('{"not": "a list"}', "not a C2PA trust list"),
        ("{broken", "not valid JSON"),
        (json.dumps({"LoTE": {"TrustedEntitiesList": []}}), "holds no trusted certificate"),
    ],
)
def test_a_bad_trust_list_is_refused_with_the_reason(tmp_path, content, message):
    (tmp_path / "list").write_text(content)
    with pytest.raises(CredentialsError, match=message):
        load_trust_list(tmp_path / "list")
    with pytest.raises(CredentialsError, match="cannot read"):
        load_trust_list(tmp_path / "missing.pem")


def test_the_service_reads_both_lists_from_its_settings(tmp_path):
    from service.key_material import load_trust
    from service.settings import load_settings

    lab = foreign_ca("Settings Lab")
    (tmp_path / "c2pa.json").write_text(_json_list([(lab.intermediate_der, TRUSTED)]))
    (tmp_path / "tsa.pem").write_text(foreign_ca("Settings TSA").root_pem)
    settings = load_settings(
        environ={
            "ORIGINFRAME_C2PA_TRUST_LIST": str(tmp_path / "c2pa.json"),
            "ORIGINFRAME_C2PA_TSA_TRUST_LIST": str(tmp_path / "tsa.pem"),
        }
    )
    trust = load_trust(settings)
    assert count_certificates(trust.signer_anchors_pem) == 1 and count_certificates(trust.tsa_anchors_pem) == 1
    assert (trust.summary().signer_anchors, trust.summary().tsa_anchors) == (1, 1)  # what /health reports
    assert load_trust(load_settings(environ={})).c2pa_trust_settings() == {}


# -- soft binding under strict algorithm checking ------------------------------------------------------

REGISTERED_LIST = ["com.digimarc.validate.1", "com.adobe.trustmark.P", "io.iscc.v0", "com.aiwatermark.videoseal.1"]
INFO = ManifestInfo(
    generation_id="gen_sb",
    model_id="tiny",
    model_version="1",
    parameters_digest="d",
    policy_version="p",
    decision_id="d",
    watermark_algorithm="originframe.wm.v1",
    watermark_value="1:00000000000000ff",
    fingerprint_algorithm="originframe.fp.v1",
    fingerprint_value="gen_sb",
)


def _strict_state(data: bytes, anchors: str) -> tuple[str, list[str]]:
    settings = {
        "verify": {"remote_manifest_fetch": False},
        "trust": {"user_anchors": anchors},
        "soft_binding": {"soft_binding_algorithms": REGISTERED_LIST},
    }
    with (
        c2pa.Context.from_dict(settings) as context,
        c2pa.Reader.try_create("video/mp4", io.BytesIO(data), context=context) as reader,
    ):
        results = json.loads(reader.json())["validation_results"]["activeManifest"]
        return reader.get_validation_state(), [item["code"] for item in results.get("failure", [])]


@pytest.fixture(scope="module")
def clip() -> bytes:
    base = np.random.default_rng(4).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    return encode_mp4_bytes(np.stack([np.roll(base, i, axis=1) for i in range(6)]), fps=6)


def test_our_clip_stays_trusted_with_strict_soft_binding_algorithms(clip, tmp_path):
    ours = SigningCredentials.load_or_create_development(tmp_path)
    signed = sign_mp4(clip, INFO, ours)
    state, failures = _strict_state(signed, ours.trust_anchors_pem())
    assert state == "Trusted" and failures == []
    report = read_manifest(signed, None, ours.trust_anchors_pem())
    assert report.soft_bindings == [] and report.watermark_reference.value == "1:00000000000000ff"
    assert report.fingerprint_reference.algorithm == "originframe.fp.v1"


def test_a_registered_algorithm_is_written_as_a_bound_soft_binding(clip, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_module, "REGISTERED_SOFT_BINDING_ALGORITHMS", frozenset({"com.adobe.trustmark.P"}))
    ours = SigningCredentials.load_or_create_development(tmp_path)
    info = ManifestInfo(
        **{
            **{f: getattr(INFO, f) for f in INFO.__struct_fields__},
            "watermark_algorithm": "com.adobe.trustmark.P",
            "watermark_value": "AAECAw==",
        }
    )
    signed = sign_mp4(clip, info, ours)
    state, failures = _strict_state(signed, ours.trust_anchors_pem())
    assert state == "Trusted" and failures == []  # no assertion.action.softBindingMissing
    report = read_manifest(signed, None, ours.trust_anchors_pem())
    assert [a.action for a in report.actions] == ["c2pa.created", "c2pa.watermarked.bound"]
    (binding,) = report.soft_bindings
    assert binding.algorithm == "com.adobe.trustmark.P" and report.watermark_reference.soft_binding
