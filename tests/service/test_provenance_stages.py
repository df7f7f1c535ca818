"""Every clip the service produces carries its generation's watermark."""

from __future__ import annotations

import io

from provenance.media import decode_video
from provenance.watermark import Keyring, detect_watermark
from tests.service.conftest import wait_for


def test_every_generated_clip_is_watermarked_with_its_own_identifier(client, generate_key, settings):
    ids = [
        client.post(
            "/v1/generations", json={"prompt": f"a windmill {i}", "num_frames": 6}, headers=generate_key
        ).json()["id"]
        for i in range(2)
    ]
    for generation_id in ids:
        done = wait_for(client, generation_id, generate_key)
        keyring = Keyring.load(settings.resolved_watermark_keys_dir)
        stage = done["stages"]["watermark"]
        assert stage["active"] and stage["identifier"] == done["watermark"]["identifier"] and stage["frames"] == 6
        clip = decode_video(io.BytesIO(client.get(done["links"]["video"], headers=generate_key).content))
        detection = detect_watermark(clip.frames, keyring)
        assert detection.detected and detection.p_value < 1e-6
        assert f"{detection.identifier:016x}" == done["watermark"]["identifier"]
        assert detection.key_id == done["watermark"]["key_id"] == keyring.current.key_id
