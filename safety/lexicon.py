"""Multilingual term matching over normalised tokens.

Term syntax (one string per term in a policy term file):

- words are separated by spaces; hyphens and apostrophes count as spaces, as in prompts;
- a plain word also matches its regular inflections in the term's language
  ("naked" -> nakeds is harmless, "desnudo" -> desnuda/desnudos/desnudas, "nackt" -> nackte/nackten);
- ``=word`` matches exactly that word, no inflection;
- ``stem*`` matches any word starting with the stem (``pornograph*``), ``*part`` any word
  ending with it, ``*part*`` any word containing it (German compounds: ``*porno*``);
- ``a|b|c`` offers alternatives for one word slot (``kill himself|herself|themselves``);
- ``...`` skips up to three words (``se ... suicide`` covers "s'est suicidé");
- a leading ``!`` applies the term only when the prompt looks written in the term's language,
  for words that mean something harmless elsewhere (Spanish "nudo" is a knot, German "Kind"
  is English "kind");
- ``re:<regex>`` is a regular expression over the normalised text (words joined by single
  spaces), for things like ages ("12 year old").

Words may be in any script (Cyrillic, Arabic, Devanagari, Hangul, CJK). Chinese and Japanese
write no spaces, so a whole clause is one token: their term files use ``*part*`` (contains),
and for those scripts a two-character part is long enough (one Han character carries a word).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import regex

from .normalize import Token, fold_word

__all__ = ["Lexicon", "Term", "TermError", "TermMatch", "WordSlot", "inflections", "parse_term"]

MAX_GAP = 3
_TERM_SPLIT = re.compile(r"[\s\-'’.·]+")
_WORD_OK = regex.compile(r"^[\p{L}\p{M}\p{N}]+$")
# Scripts where two characters make a word: a wildcard stem of two is specific enough there.
_DENSE_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


class TermError(ValueError):
    """A term in a term list cannot be compiled."""


def _vowel(c: str) -> bool:
    return c in "aeiou"


def inflections(word: str, language: str) -> frozenset[str]:
    """Regular inflected forms of a folded word in a language (a generous superset)."""
    w = word
    forms = {w}
    if len(w) < 3:
        # Short words ("nu", "sex") inflect only by plural/gender suffixes.
        forms |= {w + "s", w + "e", w + "es"}
        return frozenset(forms)
    last = w[-1]
    if language == "en":
        forms |= {w + "s", w + "es", w + "ed", w + "ing", w + "er", w + "ers"}
        if last == "e":
            forms |= {w + "d", w + "r", w + "rs", w[:-1] + "ing"}
        if last == "y" and not _vowel(w[-2]):
            forms |= {w[:-1] + "ies", w[:-1] + "ied"}
        if not _vowel(last) and _vowel(w[-2]) and (len(w) < 3 or not _vowel(w[-3])) and last not in "wxy":
            forms |= {w + last + "ed", w + last + "ing", w + last + "er", w + last + "ers"}
    elif language == "fr":
        forms |= {w + "s", w + "e", w + "es", w + "x"}
        if last == "e":
            forms |= {w[:-1] + "es"}
        if w.endswith(("el", "en", "on", "et")):
            forms |= {w + last + "e", w + last + "es"}
        if w.endswith("eux"):
            forms |= {w[:-1] + "se", w[:-1] + "ses"}
        if w.endswith("if"):
            forms |= {w[:-1] + "ve", w[:-1] + "ves"}
        if w.endswith("er"):
            stem = w[:-2]
            forms |= {stem + s for s in ("e", "es", "ent", "ee", "ees", "es", "ant", "ez", "ons")}
    elif language in ("es", "pt"):
        forms |= {w + "s", w + "es"}
        if last in "ao":
            stem = w[:-1]
            forms |= {stem + s for s in ("a", "o", "as", "os")}
        elif last == "e":
            pass
        else:
            forms |= {w + "a", w + "as"}
        if language == "pt":
            if w.endswith("ao"):
                forms |= {w[:-2] + "oes", w[:-2] + "aes", w[:-2] + "aos"}
            if last == "l":
                forms |= {w[:-1] + "is"}
            if last == "m":
                forms |= {w[:-1] + "ns"}
        if language == "es" and last == "z":
            forms |= {w[:-1] + "ces"}
    elif language == "it":
        if last in "aeio":
            stem = w[:-1]
            forms |= {stem + s for s in ("a", "e", "i", "o")}
            if w.endswith(("co", "go")):
                forms |= {stem + "hi", stem + "he"}
        else:
            forms |= {w + "a", w + "e", w + "i", w + "o"}
    elif language == "de":
        forms |= {w + s for s in ("e", "en", "er", "es", "em", "n", "s", "ern", "ens")}
        if last == "e":
            forms |= {w + s for s in ("n", "r", "s", "m")}
    else:
        forms |= {w + "s"}
    return frozenset(forms)


@dataclass(frozen=True, slots=True)
class WordSlot:
    """One position in a term: a set of exact forms and/or affix patterns, or a gap."""

    forms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    infixes: tuple[str, ...] = ()
    gap: bool = False

    def matches(self, word: str) -> bool:
        if word in self.forms:
            return True
        for p in self.prefixes:
            if word.startswith(p):
                return True
        for s in self.suffixes:
            if word.endswith(s):
                return True
        return any(s in word for s in self.infixes)


@dataclass(frozen=True)
class Term:
    source: str  # the term as written in the policy
    group: str
    language: str
    slots: tuple[WordSlot, ...] = ()
    pattern: regex.Pattern | None = None
    language_gated: bool = False
    scope: str = ""  # exceptions: the category they protect ("" = every category)


@dataclass(frozen=True, slots=True)
class TermMatch:
    group: str
    language: str
    term: str
    start: int  # token index
    end: int  # token index, exclusive
    surface: str
    scope: str = ""


def _parse_alternative(alt: str, language: str, source: str) -> WordSlot:
    exact = alt.startswith("=")
    if exact:
        alt = alt[1:]
    lead = alt.startswith("*")
    trail = alt.endswith("*")
    core = fold_word(alt.strip("*"))
    if not core or not _WORD_OK.match(core):
        raise TermError(
            f"term {source!r}: word {alt!r} must be letters/digits (any script) after folding "
            "(use spaces between words; '*' only at the start or end of a word)"
        )
    if (lead or trail) and len(core) < (2 if _DENSE_SCRIPT.search(core) else 3):
        raise TermError(f"term {source!r}: wildcard stem {alt!r} is too short (3+ letters) and would match everything")
    if lead and trail:
        return WordSlot(infixes=(core,))
    if trail:
        return WordSlot(prefixes=(core,))
    if lead:
        return WordSlot(suffixes=(core,))
    return WordSlot(forms=frozenset({core}) if exact else inflections(core, language))


def _merge(slots: Sequence[WordSlot]) -> WordSlot:
    return WordSlot(
        forms=frozenset().union(*(s.forms for s in slots)),
        prefixes=tuple(p for s in slots for p in s.prefixes),
        suffixes=tuple(p for s in slots for p in s.suffixes),
        infixes=tuple(p for s in slots for p in s.infixes),
    )


def parse_term(source: str, group: str, language: str, scope: str = "") -> Term:
    if not isinstance(source, str) or not source.strip():
        raise TermError(f"group {group!r} ({language}): empty or non-string term {source!r}")
    text = source.strip()
    gated = text.startswith("!")
    if gated:
        text = text[1:].strip()
    if text.startswith("re:"):
        # Prompts are folded (case, diacritics, combining marks) before matching; fold the
        # pattern's own letters the same way, leaving ASCII syntax such as \\W untouched.
        source_re = regex.sub(r"[^\x00-\x7f]+", lambda m: fold_word(m.group(0)), text[3:])
        try:
            pattern = regex.compile(source_re)
        except regex.error as exc:
            raise TermError(f"group {group!r} ({language}): bad regex {text[3:]!r}: {exc}") from exc
        return Term(source, group, language, pattern=pattern, language_gated=gated, scope=scope)
    slots: list[WordSlot] = []
    words: list[str] = []
    for chunk in text.split():
        words.extend(["..."] if chunk == "..." else [w for w in _TERM_SPLIT.split(chunk) if w])
    for word in words:
        if word == "...":
            slots.append(WordSlot(gap=True))
            continue
        alternatives = list(word.split("|"))
        if any(not a for a in alternatives):
            raise TermError(f"term {source!r}: empty alternative in {word!r}")
        slots.append(_merge([_parse_alternative(a, language, source) for a in alternatives]))
    while slots and slots[-1].gap:
        slots.pop()
    if not slots or slots[0].gap:
        raise TermError(f"term {source!r}: needs at least one word and cannot start with '...'")
    return Term(source, group, language, slots=tuple(slots), language_gated=gated, scope=scope)


@dataclass
class _Index:
    by_form: dict[str, list[Term]] = field(default_factory=dict)
    by_prefix: dict[str, list[Term]] = field(default_factory=dict)
    scan: list[Term] = field(
        default_factory=list
    )  # first slot is a suffix/infix of ASCII letters: checked on every token
    # ...of other letters (CJK, Arabic contains-terms): checked only on tokens that have such letters
    scan_other: list[Term] = field(default_factory=list)
    scan_other_chars: frozenset[str] = frozenset()
    patterns: list[Term] = field(default_factory=list)


class Lexicon:
    """Compiled term lists: finds every term occurrence in a token sequence."""

    def __init__(self, terms: Iterable[Term]):
        self.terms: list[Term] = list(terms)
        self._index = _Index()
        forms: set[str] = set()
        prefixes: set[str] = set()
        other_chars: set[str] = set()
        for term in self.terms:
            if term.pattern is not None:
                self._index.patterns.append(term)
                continue
            first = term.slots[0]
            for f in first.forms:
                self._index.by_form.setdefault(f, []).append(term)
            for p in first.prefixes:
                self._index.by_prefix.setdefault(p, []).append(term)
            if first.suffixes or first.infixes:
                affixes = (*first.suffixes, *first.infixes)
                if all(a.isascii() for a in affixes):
                    self._index.scan.append(term)
                else:
                    self._index.scan_other.append(term)
                    other_chars.update(c for a in affixes for c in a if not c.isascii())
            for slot in term.slots:
                forms |= slot.forms
                prefixes.update(slot.prefixes)
        self._index.scan_other_chars = frozenset(other_chars)
        self.forms = frozenset(forms)
        self.prefixes = frozenset(prefixes)
        self._prefix_lengths = sorted({len(p) for p in self._index.by_prefix})

    def _candidates(self, word: str) -> Iterable[Term]:
        yield from self._index.by_form.get(word, ())
        for n in self._prefix_lengths:
            if n > len(word):
                break
            yield from self._index.by_prefix.get(word[:n], ())
        for term in self._index.scan:
            if term.slots[0].matches(word):
                yield term
        if not word.isascii() and not self._index.scan_other_chars.isdisjoint(word):
            for term in self._index.scan_other:
                if term.slots[0].matches(word):
                    yield term

    @staticmethod
    def _match_from(slots: tuple[WordSlot, ...], words: Sequence[str], si: int, ti: int) -> int:
        """Token index just past a match of slots[si:] starting at token ti, or -1."""
        if si == len(slots):
            return ti
        slot = slots[si]
        if slot.gap:
            for skip in range(0, MAX_GAP + 1):
                end = Lexicon._match_from(slots, words, si + 1, ti + skip)
                if end >= 0:
                    return end
            return -1
        if ti < len(words) and slot.matches(words[ti]):
            return Lexicon._match_from(slots, words, si + 1, ti + 1)
        return -1

    def find(self, tokens: Sequence[Token], languages: frozenset[str] | None = None) -> list[TermMatch]:
        """All term matches; language-gated terms only count for `languages` (None: all)."""
        words = [t.text for t in tokens]
        found: list[TermMatch] = []
        seen: set[tuple[str, str, int]] = set()
        for ti, word in enumerate(words):
            for term in self._candidates(word):
                if term.language_gated and languages is not None and term.language not in languages:
                    continue
                end = self._match_from(term.slots, words, 1, ti + 1)
                if end < 0:
                    continue
                key = (term.group, term.source, ti)
                if key in seen:
                    continue
                seen.add(key)
                surface = " ".join(t.surface for t in tokens[ti:end])
                found.append(TermMatch(term.group, term.language, term.source, ti, end, surface, term.scope))
        if self._index.patterns:
            joined, starts = _joined_with_offsets(words)
            for term in self._index.patterns:
                if term.language_gated and languages is not None and term.language not in languages:
                    continue
                assert term.pattern is not None  # only terms with a pattern are indexed here
                for m in term.pattern.finditer(joined):
                    start = _token_at(starts, m.start())
                    end = _token_at(starts, max(m.end() - 1, m.start())) + 1
                    found.append(TermMatch(term.group, term.language, term.source, start, end, m.group(0), term.scope))
        return found


def _joined_with_offsets(words: Sequence[str]) -> tuple[str, list[int]]:
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    return " ".join(words), starts


def _token_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo
