"""Is a word an ordinary word of some language? (the guard that keeps surnames from firing on "store").

Sources, best first:
- `wordfreq` (optional extra `wordlists`: its code is Apache-2.0 but its data is CC BY-SA 4.0,
  so it is not a default dependency): a word with a Zipf frequency >= `MIN_ZIPF` in any of the
  listed languages is common;
- Faker's per-locale lorem word lists (MIT, a default dependency): a few thousand everyday
  words in about 30 languages, with a plural/inflection strip for the Latin-script ones.
Loaded once, lazily; lookups are cached.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import threading

from .normalize import fold_word

__all__ = ["MIN_ZIPF", "WORDFREQ_LANGUAGES", "CommonWords", "common_words"]

MIN_ZIPF = 2.5  # about 0.3 per million words: "store", "meloni", "tusk"
# Chinese, Japanese and Korean need wordfreq's tokenizer extras; surnames that collide with
# ordinary words are a problem of the spaced scripts anyway.
WORDFREQ_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl", "pl", "tr", "ru", "uk", "ar", "hi")
_SUFFIXES = ("s", "es", "i", "e", "a", "en", "er", "n")


class CommonWords:
    def __init__(self) -> None:
        self._faker: frozenset[str] | None = None
        self._lock = threading.Lock()
        try:
            self._zipf = importlib.import_module("wordfreq").zipf_frequency
        except ImportError:
            self._zipf = None

    @property
    def source(self) -> str:
        return "wordfreq+faker-lorem" if self._zipf is not None else "faker-lorem"

    def _faker_words(self) -> frozenset[str]:
        with self._lock:
            if self._faker is None:
                words: set[str] = set()
                try:
                    lorem = importlib.import_module("faker.providers.lorem")
                    for mod in pkgutil.iter_modules(lorem.__path__):
                        provider = getattr(
                            importlib.import_module(f"faker.providers.lorem.{mod.name}"), "Provider", None
                        )
                        for w in getattr(provider, "word_list", ()) or ():
                            words.add(fold_word(w))
                except ImportError:
                    pass
                self._faker = frozenset(words)
            return self._faker

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - bounded, and the one instance lives for the process
    def zipf(self, word: str) -> float:
        """Highest Zipf frequency of the word over the languages (0 without wordfreq)."""
        if self._zipf is None:
            return 0.0
        w = fold_word(word)
        return max(self._zipf(w, lang) for lang in WORDFREQ_LANGUAGES)

    def in_lorem(self, word: str) -> bool:
        return fold_word(word) in self._faker_words()

    def ordinary(self, word: str, names: frozenset[str]) -> bool:
        """An ordinary word rather than a name: frequency data counts names too ("Jensen",
        "Huang" occur often in text), so a word on the name lists needs to be very frequent
        ("Rose", "May") to count as ordinary."""
        if self.in_lorem(word):
            return True
        z = self.zipf(word)
        return z >= 4.5 or (z >= 3.0 and fold_word(word) not in names)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - bounded, and the one instance lives for the process
    def __call__(self, word: str) -> bool:
        w = fold_word(word)
        if self._zipf is not None:
            forms = [w] + [w[: -len(s)] for s in ("s", "es") if w.endswith(s) and len(w) - len(s) >= 3]
            for lang in WORDFREQ_LANGUAGES:
                if any(self._zipf(f, lang) >= MIN_ZIPF for f in forms):
                    return True
        words = self._faker_words()
        if w in words:
            return True
        return any(w.endswith(s) and len(w) - len(s) >= 3 and w[: -len(s)] in words for s in _SUFFIXES)


_shared: CommonWords | None = None


def common_words() -> CommonWords:
    global _shared
    if _shared is None:
        _shared = CommonWords()
    return _shared
