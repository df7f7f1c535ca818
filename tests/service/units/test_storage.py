"""service/storage.py's local store without HTTP: keys, ranges, atomic writes, private files."""

from __future__ import annotations

import stat

import pytest

from service.storage import LocalStorage, make_private, validate_key


def test_round_trip_sizes_and_ranges(tmp_path):
    store = LocalStorage(tmp_path / "media")
    store.put("videos/a.mp4", b"0123456789")
    assert store.exists("videos/a.mp4") and store.get("videos/a.mp4") == b"0123456789"
    assert store.size("videos/a.mp4") == 10 and store.read_range("videos/a.mp4", 2, 5) == b"2345"
    store.put("videos/a.mp4", b"new")  # replaced whole
    assert store.get("videos/a.mp4") == b"new"
    store.delete("videos/a.mp4")
    assert not store.exists("videos/a.mp4") and store.size("videos/a.mp4") is None
    store.delete("videos/a.mp4")  # deleting what is gone is not an error


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "", "a\\b"])
def test_keys_that_could_leave_the_root_are_refused(tmp_path, key):
    store = LocalStorage(tmp_path / "media")
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        store.put(key, b"x")
    assert not any((tmp_path / "media").rglob("*"))  # nothing written anywhere


def test_stored_files_are_private(tmp_path):
    store = LocalStorage(tmp_path / "media")
    store.put("inputs/x", b"secret")
    path = store.path("inputs/x")
    assert path is not None and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    other = tmp_path / "db.sqlite"
    other.write_bytes(b"")
    make_private(other)
    assert stat.S_IMODE(other.stat().st_mode) == 0o600
