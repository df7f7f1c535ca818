"""Where each bit lives in the watermark tile, derived from the key.

The mark is one square tile of TILE x TILE samples repeated over the whole frame. A keyed
permutation assigns every tile sample either to the pilot (known signs, used to find the
tile's position, scale and orientation in a suspect frame) or to one coded payload bit,
and gives each sample a keyed random sign. The random signs are what make the detection
statistic exact: without the key, the soft value of every coded bit is a sum of content
samples with independent fair signs, so its sign is a fair coin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from provenance.watermark import ecc
from provenance.watermark.keys import WatermarkKey
from provenance.watermark.payload import MESSAGE_BITS

TILE = 32
PILOT_SAMPLES = 256
CODED_BITS = ecc.coded_length(MESSAGE_BITS)


@dataclass(frozen=True)
class TileLayout:
    pilot: np.ndarray  # (TILE, TILE) float32: pilot signs, 0 on payload samples
    payload_signs: np.ndarray  # (TILE, TILE) float32: signs on payload samples, 0 on pilot samples
    bit_of_sample: np.ndarray  # (TILE*TILE,) int: coded bit index per sample, CODED_BITS on pilot samples

    def tile_from_symbols(self, symbols: np.ndarray) -> np.ndarray:
        """The ±1 tile carrying the pilot and `symbols` (±1 per coded bit)."""
        padded = np.append(np.asarray(symbols, np.float32), np.float32(0.0))
        return self.pilot + self.payload_signs * padded[self.bit_of_sample].reshape(TILE, TILE)


def _stream(key: WatermarkKey, label: str, count: int) -> np.ndarray:
    # Our own stream rather than numpy's Generator: its outputs may change between numpy
    # releases, and a clip marked today must still verify after an upgrade.
    return np.frombuffer(key.derive(label, 8 * count), dtype=">u8").astype(np.uint64)


@lru_cache(maxsize=16)
def layout_for(key: WatermarkKey) -> TileLayout:
    samples = TILE * TILE
    order = np.argsort(_stream(key, "layout-order", samples), kind="stable")
    signs = np.where(_stream(key, "layout-signs", samples) & np.uint64(1), 1.0, -1.0).astype(np.float32)
    pilot_positions = order[:PILOT_SAMPLES]
    payload_positions = order[PILOT_SAMPLES:]
    bit_of_sample = np.full(samples, CODED_BITS, dtype=np.int64)
    # payload samples take coded bits round-robin in keyed order, so each bit's samples are scattered
    bit_of_sample[payload_positions] = np.arange(payload_positions.size) % CODED_BITS
    pilot = np.zeros(samples, np.float32)
    pilot[pilot_positions] = signs[pilot_positions]
    payload_signs = np.zeros(samples, np.float32)
    payload_signs[payload_positions] = signs[payload_positions]
    return TileLayout(pilot.reshape(TILE, TILE), payload_signs.reshape(TILE, TILE), bit_of_sample)
