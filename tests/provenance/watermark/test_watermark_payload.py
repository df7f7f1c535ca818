"""Payload, keys and error correction: the parts that must be exact."""

import os
import stat

import numpy as np
import pytest

from provenance.watermark import IDENTIFIER_BITS, Keyring, WatermarkKey, ecc
from provenance.watermark.layout import CODED_BITS, layout_for
from provenance.watermark.payload import MESSAGE_BITS, decipher_message, encipher_identifier


@pytest.mark.parametrize("identifier", [0, 1, 0xDEADBEEF, 2**IDENTIFIER_BITS - 1])
def test_identifier_round_trips_through_the_cipher(identifier):
    key = WatermarkKey(5, b"s" * 32)
    message = encipher_identifier(identifier, key)
    assert 0 <= message < 2**MESSAGE_BITS
    assert decipher_message(message, key) == identifier


def test_identifier_out_of_range_is_refused():
    key = WatermarkKey(5, b"s" * 32)
    with pytest.raises(ValueError):
        encipher_identifier(2**IDENTIFIER_BITS, key)
    with pytest.raises(ValueError):
        encipher_identifier(-1, key)


def test_message_reveals_nothing_without_the_key():
    # consecutive identifiers give unrelated, balanced messages; another key gives another message
    key, other = WatermarkKey(1, b"a" * 32), WatermarkKey(1, b"b" * 32)
    messages = [encipher_identifier(i, key) for i in range(200)]
    ones = sum(bin(m).count("1") for m in messages) / (200 * MESSAGE_BITS)
    assert 0.45 < ones < 0.55
    assert encipher_identifier(42, key) != encipher_identifier(42, other)
    assert decipher_message(encipher_identifier(42, key), other) is None


def test_random_messages_do_not_verify():
    # the false-alarm bound rests on this: a message not made with the key passes w.p. 2**-32
    key = WatermarkKey(1, b"k" * 32)
    rng = np.random.default_rng(0)
    passed = sum(
        decipher_message(int(rng.integers(0, 2**62)) << 34 | int(rng.integers(0, 2**34)), key) is not None
        for _ in range(5000)
    )
    assert passed == 0


def test_viterbi_corrects_noisy_soft_bits():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, MESSAGE_BITS)
    coded = ecc.encode(bits)
    assert coded.size == CODED_BITS == ecc.coded_length(MESSAGE_BITS)
    soft = (2.0 * coded - 1.0) + rng.normal(0, 0.6, coded.size)
    assert np.array_equal(ecc.decode(soft, MESSAGE_BITS), bits)
    flipped = 2.0 * coded - 1.0
    flipped[rng.choice(coded.size, 20, replace=False)] *= -1  # 20 hard errors, spread out
    assert np.array_equal(ecc.decode(flipped, MESSAGE_BITS), bits)


def test_layout_is_keyed_and_balanced():
    a, b = layout_for(WatermarkKey(1, b"a" * 32)), layout_for(WatermarkKey(1, b"b" * 32))
    assert not np.array_equal(a.pilot, b.pilot)
    counts = np.bincount(a.bit_of_sample, minlength=CODED_BITS + 1)
    assert counts[:CODED_BITS].min() >= 2  # every coded bit is carried by at least two samples per tile
    assert abs(float(a.pilot.sum())) < 64  # pilot signs roughly balanced


def test_keyring_creates_a_private_key_once_and_rotates(tmp_path):
    directory = tmp_path / "keys"
    ring = Keyring.load_or_create(directory)
    assert len(ring) == 1 and ring.current.key_id == 1
    files = list(directory.iterdir())
    assert len(files) == 1 and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    again = Keyring.load_or_create(directory)
    assert again.current.secret == ring.current.secret
    rotated = Keyring.rotate(directory)
    assert rotated.current.key_id == 2 and 1 in rotated
    assert rotated.get(1).secret == ring.current.secret
    assert [k.key_id for k in rotated.keys] == [2, 1]


def test_key_validation():
    with pytest.raises(ValueError):
        WatermarkKey(0, b"x" * 32)
    with pytest.raises(ValueError):
        WatermarkKey(1, b"short")
    with pytest.raises(KeyError):
        Keyring([WatermarkKey(1, b"x" * 32)]).get(9)
    assert "xxxx" not in repr(WatermarkKey(1, b"x" * 32))  # secrets stay out of logs


def test_list_decoder_ranks_the_plain_decode_first_and_can_recover_more():
    rng = np.random.default_rng(2)
    recovered_plain = recovered_list = 0
    for _ in range(40):
        bits = rng.integers(0, 2, MESSAGE_BITS)
        soft = (2.0 * ecc.encode(bits) - 1.0) + rng.normal(0, 1.05, CODED_BITS)
        listed = ecc.decode_list(soft, MESSAGE_BITS, 8)
        assert np.array_equal(listed[0], ecc.decode(soft, MESSAGE_BITS))
        assert len({x.tobytes() for x in listed}) == len(listed)
        recovered_plain += np.array_equal(listed[0], bits)
        recovered_list += any(np.array_equal(x, bits) for x in listed)
    assert recovered_list >= recovered_plain and recovered_list >= 36
