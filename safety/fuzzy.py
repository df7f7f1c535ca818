"""Misspelled names and terms: the closest word of the policy's vocabulary within a small edit distance.

"Zuckerburg", "Obamma", "beheadng": a word the policy does not know, that is not an ordinary
word of any supported language, and that lies within `max_distance(len)` edits (optimal
string alignment: substitutions, insertions, deletions, adjacent transpositions) of exactly
one vocabulary word, is read as that word. The index is a deletion neighbourhood (each
vocabulary word and every copy of it with one letter deleted), built once per policy, so a
lookup is a few dictionary probes plus the distance to a handful of candidates, not a scan.

Guards against reading an ordinary word as a name or a term:
- short words (< `MIN_LENGTH` letters) are never corrected; 5-7 letters by at most one edit,
  longer words by at most two;
- the word itself must not be ordinary (`common_word`: wordfreq / Faker's word lists): "bidden"
  stays "bidden", "Nacht" stays "Nacht";
- the closest word must be unique: two candidates at the same distance mean no correction;
- digits, mixed scripts and dense scripts (Chinese, Japanese, Korean: a letter there is a word)
  are left alone.
A corrected token keeps what the user wrote as its surface and is marked `corrected`, so the
person matcher still treats a lowercase misspelling of a common-word surname as that word.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import regex

__all__ = ["MIN_LENGTH", "FuzzyIndex", "max_distance", "osa_distance"]

MIN_LENGTH = 5
_CACHE_SIZE = 65536
_LETTERS = regex.compile(r"^[\p{L}\p{M}]+$")
_DENSE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}]")


def max_distance(length: int) -> int:
    """How many edits a word of this length may carry: none below MIN_LENGTH, 1 up to 7, then 2."""
    if length < MIN_LENGTH:
        return 0
    return 1 if length <= 7 else 2


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or limit + 1 as soon as it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class FuzzyIndex:
    """Deletion-neighbourhood index over a vocabulary; built on first use (or `build()`)."""

    def __init__(
        self,
        words: Iterable[str],
        common_word: Callable[[str], bool] | None = None,
        excluded: Iterable[str] = (),
        prefixes: Iterable[str] = (),
    ):
        excluded = frozenset(excluded)

        def usable(w: str, shortest: int) -> bool:
            return len(w) >= shortest and w not in excluded and bool(_LETTERS.match(w)) and not _DENSE.search(w)

        self._words = tuple(sorted(w for w in set(words) if usable(w, MIN_LENGTH - 1)))
        # Term stems ("decapitat*"): a misspelt stem at the start of a word ("decapitaton").
        self._prefixes = tuple(sorted(p for p in set(prefixes) if usable(p, MIN_LENGTH)))
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._known = frozenset(self._words)
        self._known_prefixes = frozenset(self._prefixes)
        self.common_word = common_word
        self._index: dict[str, tuple[str, ...]] | None = None
        self._prefix_index: dict[str, tuple[str, ...]] = {}
        self._cache: dict[str, str | None] = {}  # prompts repeat words; bounded below
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._words)

    def build(self) -> None:
        with self._lock:
            if self._index is not None:
                return
            for words, target in ((self._prefixes, "_prefix_index"), (self._words, "_index")):
                index: dict[str, list[str]] = {}
                for w in words:
                    for key in (w, *_deletions(w)):
                        index.setdefault(key, []).append(w)
                setattr(self, target, {k: tuple(v) for k, v in index.items()})

    def correct(self, word: str) -> str | None:
        """The one vocabulary word within the allowed distance of `word` (folded), or None."""
        if word in self._cache:
            return self._cache[word]
        result = self._correct(word)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[word] = result
        return result

    def _correct(self, word: str) -> str | None:
        limit = max_distance(len(word))
        if not limit or word in self._known or not _LETTERS.match(word) or _DENSE.search(word):
            return None
        if any(word[:n] in self._known_prefixes for n in self._prefix_lengths):
            return None
        if self.common_word is not None and self.common_word(word):
            return None
        if self._index is None:
            self.build()
        assert self._index is not None
        best = self._closest(word, self._index, limit)
        if best is not None:
            return best
        return self._closest_stem(word)

    @staticmethod
    def _closest(word: str, index: dict[str, tuple[str, ...]], limit: int) -> str | None:
        candidates: set[str] = set()
        for key in (word, *_deletions(word)):
            candidates.update(index.get(key, ()))
        found: dict[int, list[str]] = {}
        for candidate in candidates:
            d = osa_distance(word, candidate, limit)
            if d <= limit:
                found.setdefault(d, []).append(candidate)
        if not found:
            return None
        tied = sorted(found[min(found)], key=len)
        # "trumpp": "trump" and its possessive "trumps" are one word, not a tie.
        if all(other.startswith(tied[0]) for other in tied[1:]):
            return tied[0]
        return None

    def _closest_stem(self, word: str) -> str | None:
        """A stem one edit from the start of the word: "decapitaton" -> "decapitat" + "on"."""
        for length in self._prefix_lengths:
            for cut in (length - 1, length, length + 1):
                if cut < MIN_LENGTH or cut > len(word):
                    continue
                head = word[:cut]
                stem = self._closest(head, self._prefix_index, 1)
                if stem is not None and len(stem) == length:
                    return stem + word[cut:]
        return None
