"""Text normalisation that undoes the usual tricks for slipping words past a filter.

Every prompt goes through `normalize_text` before any rule looks at it. The output is a
list of tokens in a canonical form: NFKC, case-folded, diacritics removed, Cyrillic/Greek
lookalikes folded to Latin, invisible characters dropped, and obfuscated words
("n4ked", "n*de", "N.U.D.E", "n a k e d", "nu de") rebuilt.

Rebuilding an obfuscated word needs to know which words are worth rebuilding: "4k" must
stay "4k", "s3xy" must become "sexy". That knowledge comes from a `Vocabulary` (the
policy's compiled term lists and names); without one, only the unambiguous steps run.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import regex

__all__ = [
    "NormalizedText",
    "Token",
    "Vocabulary",
    "fold_text",
    "fold_word",
    "is_cased",
    "normalize_text",
]


def is_cased(word: str) -> bool:
    """Written in a script with capital letters (Latin, Cyrillic, Greek...), judged by its first letter."""
    return bool(word) and word[:1].lower() != word[:1].upper()


class Vocabulary(Protocol):
    """The words a policy cares about, used to decide which obfuscations to undo."""

    def knows(self, word: str) -> bool: ...

    def knows_exact(self, word: str) -> bool: ...

    def words_of_length(self, length: int) -> Iterable[str]: ...

    def correct(self, word: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # canonical form that rules match against
    surface: str  # what the user wrote, for evidence
    capitalized: bool  # first letter upper-case in the original (names like "Trump")
    spaced: bool  # starts a whitespace-separated chunk (vs. after a hyphen/apostrophe)
    corrected: bool = False  # a misspelling read as the vocabulary word in `text` (see fuzzy.py)


@dataclass(frozen=True)
class NormalizedText:
    original: str
    tokens: tuple[Token, ...]
    tricks: frozenset[str] = field(default_factory=frozenset)

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)


# Lookalikes that render like Latin letters in common fonts. Upper- and lower-case are
# listed separately because several only look Latin in one case (Cyrillic "Н" vs "н").
_CONFUSABLES = {
    # Cyrillic
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ѕ": "S",
    "І": "I",
    "Ј": "J",
    "Ԁ": "D",
    "Ү": "Y",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ӏ": "I",
    "Ё": "E",
    "Ї": "I",
    "а": "a",
    "в": "b",
    "е": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ј": "j",
    "ԁ": "d",
    "һ": "h",
    "ӏ": "l",
    "ԛ": "q",
    "ԝ": "w",
    "ү": "y",
    "ь": "b",
    "ѵ": "v",
    "ё": "e",
    "ї": "i",
    "г": "r",
    "п": "n",
    "л": "n",
    # Greek
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ς": "s",
    "μ": "u",
    "ω": "w",
    # Latin-script lookalikes outside ASCII that NFKC leaves alone
    "ɑ": "a",
    "ɡ": "g",
    "ı": "i",
    "ȷ": "j",
    "ʟ": "l",
    "ɴ": "n",
    "ʀ": "r",
    "ꜱ": "s",
}

# Letters that diacritic stripping (NFD + drop marks) does not decompose.
_LIGATURES = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "ħ": "h",
        "ŀ": "l",
        "ı": "i",
        "ĸ": "k",
    }
)

# Characters people put inside words in place of letters. Several are ambiguous
# ("1" is "i" in "k1ll" and "l" in "b1ood"); every reading is tried against the vocabulary.
_LEET = {
    "0": "o",
    "1": "il",
    "!": "il",
    "|": "li",
    "3": "e",
    "4": "a",
    "@": "ao",
    "5": "s",
    "$": "s",
    "7": "t",
    "+": "t",
    "8": "b",
    "9": "g",
    "6": "gb",
    "€": "e",
    "2": "z",
    "¡": "i",
}
# Characters that hide exactly one letter ("p*rn", "n#de").
_WILDCARDS = frozenset("*#?%")
# Characters that glue parts of one word together ("jean-luc", "l'homme", "n.u.d.e").
_JOINERS = "-'’_.·•~^"

_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0\u180e\u2800")

_HARD_SPLIT = regex.compile(
    r"[^\p{L}\p{M}\p{N}" + regex.escape(_JOINERS + "".join(_LEET) + "".join(_WILDCARDS)) + r"]+"
)
_SOFT_SPLIT = regex.compile(r"[" + regex.escape(_JOINERS) + r"]+")
# A chunk made only of single characters separated by punctuation: "N.U.D.E", "n-u-d-e".
_SPELLED = regex.compile(r"^[\p{L}\p{N}@$](?:[" + regex.escape(_JOINERS + "*|+/") + r"]+[\p{L}\p{N}@$])+$")
_STRIP_EDGES = "'’-_.·•~^!?*#%|+"

_MAX_LEET_READINGS = 256
_MAX_SPACED_RUN = 24
# "nu de", "por no": a word split into short pieces. Longer pieces are real words.
_MAX_FRAGMENT = 4


def _script(ch: str) -> str:
    if not ch.isalpha():
        return ""
    if ch.isascii():
        return "latin"
    name = unicodedata.name(ch, "")
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script.lower()
    return "other"


def _fold_confusables(chunk: str, text_is_latin: bool) -> tuple[str, bool]:
    """Fold lookalikes in a mixed-script chunk, or in an all-lookalike chunk of Latin text.

    A Russian or Greek prompt is left alone: folding real Cyrillic words would garble them.
    """
    scripts = {_script(c) for c in chunk} - {""}
    if not scripts & {"cyrillic", "greek"}:
        return chunk, False
    mixed = "latin" in scripts
    all_lookalike = all(c in _CONFUSABLES or not c.isalpha() for c in chunk)
    if mixed or (text_is_latin and all_lookalike):
        folded = "".join(_CONFUSABLES.get(c, c) for c in chunk)
        return folded, folded != chunk
    return chunk, False


def fold_word(word: str) -> str:
    """Case- and diacritic-fold one word the way prompts are folded."""
    word = word.casefold().translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFD", word)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def fold_text(text: str) -> str:
    """NFKC + invisible-character removal + case/diacritic folding, without tokenising."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if not _is_invisible(c))
    return fold_word(text)


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA


def _latin_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if _script(c) == "latin") / len(letters)


def _has_letter(s: str) -> bool:
    return any(c.isalpha() for c in s)


def _readings(word: str) -> Iterable[str] | None:
    """All letter readings of a word with leet characters, or None if there are too many."""
    options = [_LEET.get(c, c) for c in word]
    count = 1
    for o in options:
        count *= len(o)
        if count > _MAX_LEET_READINGS:
            return None
    return ("".join(p) for p in itertools.product(*options))


def _resolve_obfuscated(word: str, vocabulary: Vocabulary | None) -> tuple[str, str | None]:
    """Return (canonical word, trick name or None) for a word with leet or masked letters."""
    has_wild = any(c in _WILDCARDS for c in word)
    has_leet = any(c in _LEET for c in word)
    if not (has_wild or has_leet) or vocabulary is None or not _has_letter(word):
        return word, None
    if has_wild:
        pattern = "".join(
            "[a-z]" if c in _WILDCARDS else ("[" + regex.escape(_LEET[c]) + "]" if c in _LEET else regex.escape(c))
            for c in word
        )
        compiled = regex.compile(pattern)
        for candidate in vocabulary.words_of_length(len(word)):
            if compiled.fullmatch(candidate):
                return candidate, "masked_letters"
        return word, None
    readings = _readings(word)
    if readings is not None:
        for candidate in readings:
            if candidate != word and vocabulary.knows(candidate):
                return candidate, "leetspeak"
    # "naked123": a real word with a number tacked on.
    head = word.rstrip("0123456789")
    if head != word and len(head) >= 3 and vocabulary.knows(head):
        return head, "leetspeak"
    return word, None


def _split_chunk(chunk: str, vocabulary: Vocabulary | None, tricks: set[str]) -> list[tuple[str, str, bool]]:
    """Split one whitespace-delimited chunk into (canonical, surface, starts_chunk) parts."""
    stripped = chunk.strip(_STRIP_EDGES)
    if not stripped:
        return []
    folded = fold_word(stripped)
    if _SPELLED.match(folded) and len(folded) >= 3:
        letters = "".join(c for c in folded if c.isalnum() or c in "@$")
        word, trick = _resolve_obfuscated(letters, vocabulary)
        if vocabulary is not None and vocabulary.knows(word):
            tricks.add("punctuated_letters")
            if trick:
                tricks.add(trick)
            return [(word, stripped, True)]
        # "s*x" is a masked letter, not the letters s and x.
        masked, trick = _resolve_obfuscated(folded, vocabulary)
        if trick:
            tricks.add(trick)
            return [(masked, stripped, True)]
        return [(word, stripped, True)]
    parts = [p for p in _SOFT_SPLIT.split(folded) if p]
    surfaces = [p for p in _SOFT_SPLIT.split(stripped) if p]
    if len(surfaces) != len(parts):  # folding changed the joiners; keep surfaces coarse
        surfaces = parts
    out = []
    for i, (part, surface) in enumerate(zip(parts, surfaces, strict=True)):
        part = part.strip(_STRIP_EDGES) or part
        if not _has_letter(part) and not part.isdigit() and not any(c in _LEET for c in part):
            continue
        word, trick = _resolve_obfuscated(part, vocabulary)
        if trick:
            tricks.add(trick)
        elif any(c in _WILDCARDS for c in word):
            word = "".join(c for c in word if c not in _WILDCARDS) or word
        out.append((word, surface, i == 0))
    return out


def _join_spaced_letters(tokens: list[Token], vocabulary: Vocabulary, tricks: set[str]) -> list[Token]:
    """Rebuild words typed one letter at a time: "n a k e d" -> "naked"."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j].text) == 1 and tokens[j].spaced and j - i < _MAX_SPACED_RUN:
            j += 1
        if j - i >= 3:
            run = tokens[i:j]
            k = 0
            while k < len(run):
                matched = False
                for end in range(len(run), k + 2, -1):  # longest word first, 3+ letters
                    letters = "".join(t.text for t in run[k:end])
                    word, _ = _resolve_obfuscated(letters, vocabulary)
                    if vocabulary.knows(word):
                        surface = " ".join(t.surface for t in run[k:end])
                        out.append(Token(word, surface, run[k].capitalized, True))
                        tricks.add("spaced_letters")
                        k = end
                        matched = True
                        break
                if not matched:
                    out.append(run[k])
                    k += 1
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def _join_fragments(tokens: list[Token], vocabulary: Vocabulary, tricks: set[str]) -> list[Token]:
    """Rebuild words split into short pieces: "nu de" -> "nude", "por no" -> "porno".

    Only whitespace-separated pieces are joined: "John's ex" must not become "sex".
    """
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        joined = None
        for width in (3, 2):
            piece = tokens[i : i + width]
            if len(piece) < width or not all(
                t.spaced and t.text.isalpha() and len(t.text) <= _MAX_FRAGMENT for t in piece
            ):
                continue
            word = "".join(t.text for t in piece)
            # "de la" is two function words, not a split "dela"; only vocabularies that know
            # their languages' function words can tell.
            function_word = getattr(vocabulary, "is_function_word", None)
            if function_word is not None and all(function_word(t.text) for t in piece):
                continue
            if (
                len(word) >= 4
                and vocabulary.knows_exact(word)
                and not all(vocabulary.knows_exact(t.text) for t in piece)
            ):
                joined = (width, Token(word, " ".join(t.surface for t in piece), piece[0].capitalized, True))
                break
        if joined:
            out.append(joined[1])
            tricks.add("split_word")
            i += joined[0]
        else:
            out.append(tokens[i])
            i += 1
    return out


def _written_with_diacritics(surface: str) -> bool:
    """A Latin-script word carrying a letter beyond ASCII ("kılan", "kanapén") was written in a
    language that has that letter: it is a word of that language, not a typo of a term (its
    exact folded form is still looked up). Other scripts are not affected."""
    return any(not ch.isascii() and ch.isalpha() and "LATIN" in unicodedata.name(ch, "") for ch in surface)


def _is_given_name(vocabulary: Vocabulary, word: str) -> bool:
    check = getattr(vocabulary, "is_given_name", None)
    return bool(check is not None and check(word))


def _correct_misspellings(tokens: list[Token], vocabulary: Vocabulary, tricks: set[str]) -> list[Token]:
    """ "Zuckerburg" -> "zuckerberg": words as written (not already de-obfuscated) that the
    vocabulary does not know but lie one or two edits from exactly one word it does."""
    correct = getattr(vocabulary, "correct", None)
    if correct is None:
        return tokens
    out = []
    for tok in tokens:
        if (
            tok.text == fold_word(tok.surface)
            and not vocabulary.knows(tok.text)
            and not _written_with_diacritics(tok.surface)
        ):
            word = correct(tok.text)
            # Asked only of a word that would be corrected: the name lists load on first use.
            if word is not None and not (tok.capitalized and _is_given_name(vocabulary, tok.text)):
                tricks.add("misspelling")
                tok = Token(word, tok.surface, tok.capitalized, tok.spaced, corrected=True)
        out.append(tok)
    return out


def normalize_text(text: str, vocabulary: Vocabulary | None = None) -> NormalizedText:
    """Normalise a prompt into canonical tokens, undoing obfuscation where it hides a known word."""
    if not isinstance(text, str):
        raise TypeError(f"prompt must be a str, not {type(text).__name__}")
    tricks: set[str] = set()
    nfkc = unicodedata.normalize("NFKC", text)
    if nfkc != unicodedata.normalize("NFC", text):
        tricks.add("compatibility_forms")
    visible = "".join(c for c in nfkc if not _is_invisible(c))
    if len(visible) != len(nfkc):
        tricks.add("invisible_characters")
    text_is_latin = _latin_ratio(visible) >= 0.5

    tokens: list[Token] = []
    for chunk in _HARD_SPLIT.split(visible):
        if not chunk:
            continue
        chunk, changed = _fold_confusables(chunk, text_is_latin)
        if changed:
            tricks.add("confusable_letters")
        capitalized = chunk[:1].isupper()
        for word, surface, starts in _split_chunk(chunk, vocabulary, tricks):
            tokens.append(Token(word, surface, capitalized if starts else surface[:1].isupper(), starts))

    if vocabulary is not None:
        tokens = _join_spaced_letters(tokens, vocabulary, tricks)
        tokens = _join_fragments(tokens, vocabulary, tricks)
        tokens = _correct_misspellings(tokens, vocabulary, tricks)
    return NormalizedText(original=text, tokens=tuple(tokens), tricks=frozenset(tricks))
