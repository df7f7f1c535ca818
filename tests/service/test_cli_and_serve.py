"""What a newcomer runs: `originframe serve` answered with the README's curl commands, and
`originframe generate` writing an MP4 without a server."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import av
import pytest

from tests.service.conftest import png_bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir, models_dir, **more) -> dict:
    env = dict(os.environ, ORIGINFRAME_DATA_DIR=str(data_dir), ORIGINFRAME_MODELS_DIR=str(models_dir))
    env.update({f"ORIGINFRAME_{k.upper()}": str(v) for k, v in more.items()})
    return env


def frames_of(path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return len(frames), (frames[0].width, frames[0].height)


def curl(*arguments: str) -> str:
    return subprocess.run(
        ["curl", "-sS", "--fail-with-body", *arguments], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_answers_the_readme_curl_commands(tmp_path, models_dir):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=environment(tmp_path / "data", models_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key, output = None, []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            output.append(line)
            key = key or next(iter(re.findall(r"\bof_[A-Za-z0-9_-]{20,}", line)), None)
            if "Uvicorn running" in line:
                break
        assert key, "".join(output)
        base = f"http://127.0.0.1:{port}"
        auth = f"Authorization: Bearer {key}"
        created = json.loads(
            curl(
                "-H",
                auth,
                "-H",
                "Content-Type: application/json",
                "-d",
                '{"prompt": "a red fox walking through fresh snow"}',
                f"{base}/v1/generations",
            )
        )
        image = tmp_path / "photo.png"
        image.write_bytes(png_bytes(200, 150))
        from_image = json.loads(
            curl("-H", auth, "-F", f"image=@{image}", "-F", "num_frames=8", f"{base}/v1/generations")
        )
        for generation, expected_frames in ((created, 16), (from_image, 8)):
            deadline = time.monotonic() + 120
            while (status := json.loads(curl("-H", auth, f"{base}/v1/generations/{generation['id']}")))[
                "status"
            ] not in ("succeeded", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert status["status"] == "succeeded", status
            clip = tmp_path / f"{generation['id']}.mp4"
            curl("-H", auth, "-o", str(clip), f"{base}/v1/generations/{generation['id']}/video")
            assert frames_of(clip) == (expected_frames, (256, 256))
        assert json.loads(curl(f"{base}/health"))["ready"] is True
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_generate_command_writes_an_mp4_without_a_server(tmp_path, models_dir):
    output = tmp_path / "clip.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "generate",
            "--prompt",
            "a lighthouse in a storm",
            "--frames",
            "6",
            "--fps",
            "6",
            "--width",
            "320",
            "--height",
            "256",
            "--steps",
            "3",
            "--seed",
            "1",
            "-o",
            str(output),
        ],
        env=environment(tmp_path / "data", models_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert frames_of(output) == (6, (320, 256))
    assert re.search(r"^\s+generate\s+ran", result.stdout, re.M) and re.search(r"^\s+encode\s+ran", result.stdout, re.M)


def test_generate_command_refuses_bad_input_with_the_reason(tmp_path, models_dir):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "generate",
            "--prompt",
            "x",
            "--frames",
            "1000",
            "-o",
            str(tmp_path / "x.mp4"),
        ],
        env=environment(tmp_path / "data", models_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "num_frames must be between 1 and 129" in result.stderr


def test_keys_command_creates_a_key_that_authenticates(tmp_path, models_dir):
    from service.auth import authenticate
    from service.db import Database

    env = environment(tmp_path / "data", models_dir)
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "keys", "create", "--scope", "verify", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    caller = authenticate(Database(f"sqlite:///{tmp_path / 'data' / 'originframe.db'}"), result.stdout.strip())
    assert caller.scopes == {"verify"}
    bad = subprocess.run(
        [sys.executable, "-m", "service.cli", "keys", "create", "--scope", "god"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "unknown scope" in bad.stderr
