"""Exact binomial tails (the coded word is at most a few hundred bits, so integers are exact)."""

from __future__ import annotations

import math
from functools import lru_cache


@lru_cache(maxsize=64)
def _tails(trials: int) -> tuple[float, ...]:
    """P[Binomial(trials, 1/2) >= k] for k = 0..trials+1."""
    counts = [math.comb(trials, k) for k in range(trials + 1)]
    tails = [0] * (trials + 2)
    for k in range(trials, -1, -1):
        tails[k] = tails[k + 1] + counts[k]
    total = 2**trials
    return tuple(t / total for t in tails)


def binomial_tail(successes: int, trials: int) -> float:
    """P[Binomial(trials, 1/2) >= successes]."""
    return _tails(trials)[min(max(successes, 0), trials + 1)]
