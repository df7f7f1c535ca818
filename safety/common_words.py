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

__all__ = ["CommonWords", "common_words", "MIN_ZIPF", "WORDFREQ_LANGUAGES"]

MIN_ZIPF = 3.0  # about once per million words: "store", "melon", "tusk", not "Macron"
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
                        provider = getattr(importlib.import_module(f"faker.providers.lorem.{mod.name}"), "Provider", None)
                        for w in getattr(provider, "word_list", ()) or ():
                            words.add(fold_word(w))
                except ImportError:
                    pass
                self._faker = frozenset(words)
            return self._faker

    @functools.lru_cache(maxsize=65536)
    def __call__(self, word: str) -> bool:
        w = fold_word(word)
        if self._zipf is not None:
            for lang in WORDFREQ_LANGUAGES:
                if self._zipf(w, lang) >= MIN_ZIPF:
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
