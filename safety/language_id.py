"""Which language and script a prompt is written in, and whether any text signal can read it.

A prompt that no term list (and no multilingual learned classifier) covers must not pass
silently: the `language` signal flags it and the policy decides (default: hold for review).

Two checks, the cheap one first:
- script: letters of a script no covered language uses (Greek, Hebrew, Thai...) are unread
  text whatever the language;
- language: for scripts shared by many languages (Latin, Cyrillic, Arabic), an offline
  n-gram identifier (`lingua-language-detector`, models inside the wheel) names the language.
  It loads once, lazily (~0.6 s, ~150 MB in low-accuracy mode, which is what short prompts
  need least of: its errors on a few words are covered by the confidence rule below).
Without lingua installed only the script check runs, and the signal says so in its version.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .decision import Evidence, SignalHit, SignalOutput, SignalReport

__all__ = ["LANGUAGE_SCRIPTS", "LanguageGuess", "LanguageIdentifier", "run_language", "script_of", "scripts_in"]

LANGUAGE_ID_VERSION = "language-1"

# Scripts each supported language is written in (what a term list for it can read).
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{lang: frozenset({"latin"}) for lang in ("en", "fr", "es", "de", "it", "pt", "pl", "nl", "tr")},
    "ru": frozenset({"cyrillic"}),
    "uk": frozenset({"cyrillic"}),
    "ar": frozenset({"arabic"}),
    "hi": frozenset({"devanagari"}),
    "zh": frozenset({"han"}),
    "ja": frozenset({"han", "hiragana", "katakana"}),
    "ko": frozenset({"hangul", "han"}),
}

# Letters beyond a-z that each Latin-script supported language writes. A prompt with two or
# more words holding Latin letters that no covered language writes (Danish ø, Czech ř,
# Hungarian ő, Romanian ș...) is in a language no term list reads, whatever the identifier
# guessed on a few words; one such word is a foreign name ("Dvořák") and counts for nothing.
LANGUAGE_LETTERS: dict[str, str] = {
    "en": "",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "es": "áéíñóúü",
    "de": "äöüß",
    "it": "àèéìíîòóùú",
    "pt": "áâãàçéêíóôõú",
    "pl": "ąćęłńóśźż",
    "nl": "áéèëïóöüĳ",
    "tr": "âçğıîöşûü",
}
MIN_FOREIGN_LETTER_WORDS = 2

_SCRIPT_PREFIXES = (
    ("LATIN", "latin"),
    ("CYRILLIC", "cyrillic"),
    ("GREEK", "greek"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
    ("DEVANAGARI", "devanagari"),
    ("BENGALI", "bengali"),
    ("TAMIL", "tamil"),
    ("TELUGU", "telugu"),
    ("GUJARATI", "gujarati"),
    ("GURMUKHI", "gurmukhi"),
    ("KANNADA", "kannada"),
    ("MALAYALAM", "malayalam"),
    ("THAI", "thai"),
    ("LAO", "lao"),
    ("KHMER", "khmer"),
    ("MYANMAR", "myanmar"),
    ("GEORGIAN", "georgian"),
    ("ARMENIAN", "armenian"),
    ("ETHIOPIC", "ethiopic"),
    ("SINHALA", "sinhala"),
    ("TIBETAN", "tibetan"),
    ("HANGUL", "hangul"),
    ("HIRAGANA", "hiragana"),
    ("KATAKANA", "katakana"),
    ("CJK", "han"),
    ("IDEOGRAPHIC", "han"),  # 々 (iteration mark), 〆, 〇: written inside Japanese and Chinese words
    ("MONGOLIAN", "mongolian"),
)


def script_of(ch: str) -> str:
    """The script of one letter ('' for non-letters), from its Unicode name."""
    if not ch.isalpha():
        return ""
    if ch.isascii():
        return "latin"
    name = unicodedata.name(ch, "")
    for prefix, script in _SCRIPT_PREFIXES:
        if name.startswith(prefix):
            return script
    if name.startswith("MODIFIER LETTER"):
        return ""  # ʼ (the Ukrainian apostrophe), ˈ, ʰ: marks that any script's text may carry
    if name.startswith("HALFWIDTH KATAKANA"):
        return "katakana"
    if name.startswith("FULLWIDTH LATIN"):
        return "latin"
    return "other"


def scripts_in(text: str) -> dict[str, int]:
    """Letter counts per script."""
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return counts


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # ISO 639-1, lower case; "" when unknown
    confidence: float  # 0..1 from the identifier


class LanguageIdentifier:
    """Lazily loaded lingua detector; `guess` returns ranked languages or None without lingua."""

    def __init__(self) -> None:
        self._detector: Any = None
        self._confirmers: dict[tuple[str, frozenset[str]], Any] = {}
        self._lock = threading.Lock()
        self._error = ""

    def status(self) -> tuple[bool, str]:
        try:
            import lingua  # noqa: F401
        except ImportError:
            return False, "lingua-language-detector is not installed (only the script check runs)"
        return (False, self._error) if self._error else (True, "")

    def _load(self) -> Any:
        with self._lock:
            if self._detector is None and not self._error:
                try:
                    from lingua import LanguageDetectorBuilder
                except ImportError:
                    self._error = "lingua-language-detector is not installed"
                    return None
                self._detector = (
                    LanguageDetectorBuilder.from_all_languages()
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build()
                )
            return self._detector

    def confirm(self, text: str, candidate: str, covered: frozenset[str]) -> float | None:
        """High-accuracy second opinion: the candidate's confidence against the covered languages.

        The low-accuracy pass reads short English as Tagalog or Latin; the high-accuracy
        models are right on those but cost ~1.2 GB for all languages, so they load lazily,
        only for the candidate and the covered languages (lingua caches models process-wide).
        """
        if self._load() is None:
            return None
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        key = (candidate, covered)
        with self._lock:
            detector = self._confirmers.get(key)
            if detector is None:
                langs = []
                for code in {candidate, *covered}:
                    iso = getattr(IsoCode639_1, code.upper(), None)
                    if iso is not None:
                        langs.append(Language.from_iso_code_639_1(iso))
                if len(langs) < 2:
                    return None
                detector = LanguageDetectorBuilder.from_languages(*langs).build()
                self._confirmers[key] = detector
        for v in detector.compute_language_confidence_values(text):
            if v.language.iso_code_639_1.name.lower() == candidate:
                return float(v.value)
        return 0.0

    def guess(self, text: str, top: int = 3) -> list[LanguageGuess] | None:
        detector = self._load()
        if detector is None:
            return None
        values = detector.compute_language_confidence_values(text)[:top]
        return [LanguageGuess(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]


@dataclass(frozen=True)
class Coverage:
    """What the active text signals can read, and how sure the identifier must be."""

    languages: frozenset[str]
    min_confidence: float = 0.6  # the uncovered language's confidence before it counts
    max_covered: float = 0.2  # summed confidence of covered languages under which the prompt is unread
    min_letters: int = 12  # shorter texts are too little for a language guess (scripts still count)

    @property
    def scripts(self) -> frozenset[str]:
        return frozenset().union(*(LANGUAGE_SCRIPTS.get(lang, frozenset()) for lang in self.languages))


def _same_script(coverage: Coverage, counts: dict[str, int]) -> frozenset[str]:
    """Covered languages written in the prompt's scripts: the candidate's only competitors."""
    scripts = set(counts)
    return frozenset(lang for lang in coverage.languages if LANGUAGE_SCRIPTS.get(lang, frozenset()) & scripts)


def _unread_scripts(counts: dict[str, int], coverage: Coverage) -> list[str]:
    return sorted(s for s in counts if s not in coverage.scripts)


def _foreign_letter_words(text: str, coverage: Coverage) -> list[str]:
    """Words with a Latin letter that no covered Latin-script language writes."""
    known = set("".join(LANGUAGE_LETTERS.get(lang, "") for lang in coverage.languages if lang in LANGUAGE_LETTERS))
    if not any(lang in LANGUAGE_LETTERS for lang in coverage.languages):
        return []
    words = []
    for word in text.split():
        for ch in unicodedata.normalize("NFC", word.lower()):
            if not ch.isascii() and ch.isalpha() and script_of(ch) == "latin" and ch not in known:
                words.append(word)
                break
    return words


def run_language(
    identifier: LanguageIdentifier, text: str, coverage: Coverage, categories: Iterable[str], stopword_hits: int = 0
) -> SignalOutput:
    """Flag `categories` when the prompt is in a script or language no covered language reads.

    `stopword_hits` is how many function words of the best-matching covered language the
    prompt has: two or more ("a ... in ...", "de ... la") outweigh an n-gram guess on a
    few words, which is where a low-accuracy identifier errs.
    """
    started = time.perf_counter()
    categories = list(categories)
    counts = scripts_in(text)
    evidence: list[Evidence] = []
    unread = _unread_scripts(counts, coverage)
    letters = sum(counts.values())
    if unread:
        share = sum(counts[s] for s in unread) / max(letters, 1)
        evidence.append(
            Evidence(
                signal="language",
                kind="script",
                value=",".join(unread),
                detail=f"script(s) {', '.join(unread)} not read by any active text signal",
                score=round(share, 3),
            )
        )
    foreign = _foreign_letter_words(text, coverage)
    if not unread and len(foreign) >= MIN_FOREIGN_LETTER_WORDS:
        evidence.append(
            Evidence(
                signal="language",
                kind="letters",
                value=" ".join(foreign[:5]),
                detail="letters that no covered language writes",
                score=1.0,
            )
        )
    # Plain ASCII with three or more function words of one covered language ("a ... in the
    # ...") is read; the identifier (the costly part) runs on everything else, on at most
    # the first 300 characters (a language does not change mid-prompt often enough to pay more).
    plainly_covered = text.isascii() and stopword_hits >= 3
    guesses = identifier.guess(text[:300]) if letters >= coverage.min_letters and not plainly_covered else None
    top = guesses[0] if guesses else None
    # Function words outweigh a hesitant guess, not a sure one (Vietnamese "an", "co", "den").
    if top is not None and not unread and not (stopword_hits >= 2 and top.confidence < 0.9):
        assert guesses is not None  # top came from it
        covered = sum(g.confidence for g in guesses if g.language in coverage.languages)
        confirmed = None
        if (
            top.language not in coverage.languages
            and top.confidence >= coverage.min_confidence
            and covered <= coverage.max_covered
        ):
            confirmed = identifier.confirm(text[:300], top.language, _same_script(coverage, counts))
        if confirmed is not None and confirmed >= coverage.min_confidence:
            evidence.append(
                Evidence(
                    signal="language",
                    kind="language",
                    value=top.language,
                    language=top.language,
                    detail=f"language {top.language} has no term list and no multilingual classifier is active",
                    score=round(top.confidence, 3),
                )
            )
    if evidence and top is not None:
        evidence.append(
            Evidence(
                signal="language",
                kind="language_guess",
                value=top.language,
                language=top.language,
                score=round(top.confidence, 3),
            )
        )
    ok, _ = identifier.status()
    report = SignalReport(
        name="language",
        active=True,
        stage="prompt",
        version=f"{LANGUAGE_ID_VERSION}+{'lingua' if ok else 'scripts-only'}+{'.'.join(sorted(coverage.languages))}",
        scores=dict.fromkeys(categories, 1.0) if evidence else {},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    hits = {c: SignalHit(score=1.0, evidence=list(evidence)) for c in categories} if evidence else {}
    return SignalOutput(report=report, hits=hits)
