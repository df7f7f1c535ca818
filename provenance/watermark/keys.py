"""Watermark keys: a secret per key id, several held at once so old clips still verify."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SECRET_BYTES = 32
_KEY_FILE = re.compile(r"^watermark-key-(\d{1,9})\.secret$")


@dataclass(frozen=True)
class WatermarkKey:
    key_id: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.key_id < 10**9:
            raise ValueError(f"key_id must be a positive integer below 1e9, got {self.key_id}")
        if len(self.secret) < 16:
            raise ValueError("a watermark secret needs at least 16 bytes")

    @classmethod
    def generate(cls, key_id: int) -> WatermarkKey:
        return cls(key_id, secrets.token_bytes(SECRET_BYTES))

    def derive(self, label: str, length: int = 32) -> bytes:
        """Independent sub-key material per purpose, so no two uses of the secret can interact."""
        seed = hmac.new(self.secret, b"originframe.wm.v1/" + label.encode(), hashlib.sha256).digest()
        return hashlib.shake_256(seed).digest(length)


class Keyring:
    """The keys a detector tries, and the one new clips are marked with (`current`)."""

    def __init__(self, keys: list[WatermarkKey] | tuple[WatermarkKey, ...], current_id: int | None = None):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._keys = {key.key_id: key for key in keys}
        if len(self._keys) != len(keys):
            raise ValueError("key ids in a keyring must be unique")
        self._current_id = max(self._keys) if current_id is None else current_id
        if self._current_id not in self._keys:
            raise ValueError(f"current key {current_id} is not in the keyring")

    @property
    def current(self) -> WatermarkKey:
        return self._keys[self._current_id]

    @property
    def keys(self) -> list[WatermarkKey]:
        """Current key first: most clips a detector sees were marked with it."""
        others = sorted((k for k in self._keys.values() if k.key_id != self._current_id), key=lambda k: -k.key_id)
        return [self.current, *others]

    def get(self, key_id: int) -> WatermarkKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyError(f"no watermark key with id {key_id} in the keyring") from None

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    @classmethod
    def load(cls, directory: Path) -> Keyring:
        """Every `watermark-key-<id>.secret` in `directory`; the highest id is current."""
        keys = []
        for path in sorted(Path(directory).iterdir()):
            match = _KEY_FILE.match(path.name)
            if match:
                keys.append(WatermarkKey(int(match.group(1)), path.read_bytes()))
        if not keys:
            raise FileNotFoundError(f"no watermark keys in {directory}")
        return cls(keys)

    @classmethod
    def load_or_create(cls, directory: Path) -> Keyring:
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not any(_KEY_FILE.match(p.name) for p in directory.iterdir()):
            _write_key(directory, WatermarkKey.generate(1))
        return cls.load(directory)

    @classmethod
    def rotate(cls, directory: Path) -> Keyring:
        """Add a fresh key with the next id and make it current; older keys stay for detection."""
        ring = cls.load_or_create(directory)
        _write_key(Path(directory), WatermarkKey.generate(max(ring._keys) + 1))
        return cls.load(directory)


def _write_key(directory: Path, key: WatermarkKey) -> None:
    path = directory / f"watermark-key-{key.key_id}.secret"
    # O_EXCL: two workers starting together must not overwrite each other's fresh key
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.secret)
