"""The 96-bit message: a 64-bit generation identifier and 32 zero bits, enciphered under the key.

An 8-round Feistel network with HMAC-SHA256 round functions is a keyed pseudo-random
permutation of 96-bit blocks. Without the key the message bits look uniformly random
(so nobody can read the identifier, and the bits are balanced, which the detection
statistic relies on), and any block not produced by the key deciphers to 32 check bits
that are all zero only with probability 2**-32: that is the forgery and false-alarm bound.
"""

from __future__ import annotations

import hashlib
import hmac

from provenance.watermark.keys import WatermarkKey

IDENTIFIER_BITS = 64
CHECK_BITS = 32
MESSAGE_BITS = IDENTIFIER_BITS + CHECK_BITS
_HALF = MESSAGE_BITS // 2
_HALF_MASK = (1 << _HALF) - 1
_ROUNDS = 8


def _round_function(round_key: bytes, index: int, half: int) -> int:
    digest = hmac.new(round_key, bytes([index]) + half.to_bytes(_HALF // 8, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[: _HALF // 8], "big")


def encipher_identifier(identifier: int, key: WatermarkKey) -> int:
    if not 0 <= identifier < 1 << IDENTIFIER_BITS:
        raise ValueError(f"identifier must be in [0, 2**{IDENTIFIER_BITS}), got {identifier}")
    round_key = key.derive("payload-prp")
    block = identifier << CHECK_BITS
    left, right = block >> _HALF, block & _HALF_MASK
    for index in range(_ROUNDS):
        left, right = right, left ^ _round_function(round_key, index, right)
    return (left << _HALF) | right


def decipher_message(message: int, key: WatermarkKey) -> int | None:
    """The identifier if the check bits verify under `key`, else None."""
    round_key = key.derive("payload-prp")
    left, right = message >> _HALF, message & _HALF_MASK
    for index in reversed(range(_ROUNDS)):
        left, right = right ^ _round_function(round_key, index, left), left
    block = (left << _HALF) | right
    if block & ((1 << CHECK_BITS) - 1):
        return None
    return block >> CHECK_BITS


def int_to_bits(value: int, count: int) -> list[int]:
    return [(value >> (count - 1 - i)) & 1 for i in range(count)]


def bits_to_int(bits) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value
