"""People who are not on the public-figures list: given name + surname patterns.

Faker (MIT) ships common given names and surnames for ~80 locales, native scripts included.
A pair of adjacent capitalised words where the first is a known given name and the second a
known surname (or an uncommon word), or an uncommon word followed by a known surname, reads
as a person's name ("Jensen Huang", "Greta Thunberg", "Лиза Су"). Ordinary words are kept out
by the common-word guard (`common_words.py`): "Rose Garden", "Ellis Island" do not match.
Scripts without letter case (Arabic, Devanagari) need both parts on the lists.

The policy decides what a name means (`persons.unlisted`): with a depicted statement or act
(`speech_act` terms: "saying", "interview", "arrested") a fabricated statement, otherwise a
person in a neutral scene.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common_words import common_words
from .decision import Evidence, SignalHit, SignalOutput, SignalReport
from .normalize import Token, fold_word, is_cased

if TYPE_CHECKING:
    from .policy import Policy
    from .text_signals import PreparedText

__all__ = ["NAMES_VERSION", "NameIndex", "NameMatch", "run_names", "shared_name_index"]

NAMES_VERSION = "names-1"
_MIN_LEN = 2
# Pairs too weak to mean a person alone: they count only next to a depicted act, and the
# ones in HELD_PAIRS then only ask for review.
HELD_PAIRS = frozenset({"given+surname, both ordinary words", "given+capitalised"})
WEAK_PAIRS = HELD_PAIRS | {"uncommon+uncommon"}
# "son/daughter of" between two names: "Mohammed bin Salman", "محمد بن سلمان", "Ibn Saud".
_PATRONYMIC = frozenset({"bin", "ibn", "bint", "بن", "ابن", "بنت"})
# Arabic writes "for/and/with/the" into the next word ("لمحمد" = "for Mohammed"): one-letter
# proclitics and the article are stripped before a name is looked up.
_ARABIC_PROCLITICS = ("وال", "بال", "لل", "ال", "و", "ل", "ب", "ف", "ك")


def _bare(word: str, names: frozenset[str]) -> str:
    """The word, or the word without an Arabic proclitic when only that form is a name."""
    if word in names or not word or not ("\u0600" <= word[0] <= "\u06ff"):
        return word
    for prefix in _ARABIC_PROCLITICS:
        if word.startswith(prefix) and word[len(prefix) :] in names:
            return word[len(prefix) :]
    return word


@dataclass(frozen=True, slots=True)
class NameMatch:
    surface: str
    start: int
    end: int
    how: str  # given+surname | given+uncommon | uncommon+surname


def _values(names: object) -> list[str]:
    if isinstance(names, dict):
        return list(names)
    if isinstance(names, (list, tuple)):
        return [n for n in names if isinstance(n, str)]
    return []


class NameIndex:
    """Given names and surnames from Faker's person providers, loaded once on first use."""

    def __init__(self) -> None:
        self._given: frozenset[str] | None = None
        self._surnames: frozenset[str] = frozenset()
        self._names: frozenset[str] | None = None
        self._lock = threading.Lock()
        self.locales = 0

    @property
    def version(self) -> str:
        return f"{NAMES_VERSION}+faker-{self.locales or 'lazy'}-locales+{common_words().source}"

    def status(self) -> tuple[bool, str]:
        try:
            importlib.import_module("faker.providers.person")
        except ImportError:
            return False, "Faker is not installed: no name lists"
        return True, ""

    def load(self) -> bool:
        with self._lock:
            if self._given is not None:
                return bool(self._given)
            given: set[str] = set()
            surnames: set[str] = set()
            try:
                person = importlib.import_module("faker.providers.person")
            except ImportError:
                self._given = frozenset()
                return False
            for mod in pkgutil.iter_modules(person.__path__):
                provider = getattr(importlib.import_module(f"faker.providers.person.{mod.name}"), "Provider", None)
                if provider is None:
                    continue
                self.locales += 1
                for attr in ("first_names", "first_names_male", "first_names_female"):
                    given.update(fold_word(n) for n in _values(getattr(provider, attr, ())) if " " not in n)
                for attr in ("last_names", "last_names_male", "last_names_female"):
                    surnames.update(fold_word(n) for n in _values(getattr(provider, attr, ())) if " " not in n)
            self._given = frozenset(g for g in given if len(g) >= _MIN_LEN)
            self._surnames = frozenset(s for s in surnames if len(s) >= _MIN_LEN)
            return True

    def is_given_name(self, word: str) -> bool:
        """A given name of some locale (folded), loading the lists on first use."""
        return self.load() and word in (self._given or frozenset())

    def find(self, tokens: Sequence[Token]) -> list[NameMatch]:
        if not self.load():
            return []
        given, surnames, words = self._given or frozenset(), self._surnames, common_words()
        names = given | surnames if self._names is None else self._names
        self._names = names

        def common(w: str) -> bool:
            return words.ordinary(w, names)

        def rare(w: str) -> bool:  # looser: the pair only counts next to a depicted act
            return not words.in_lorem(w) and words.zipf(w) < 4.0

        out: list[NameMatch] = []
        i = 0
        while i < len(tokens) - 1:
            a, b = tokens[i], tokens[i + 1]
            # A given name, "bin/ibn/بن", then another name: Arabic and other patronymics,
            # where the second part is usually a given name too (the father's).
            if (
                b.text in _PATRONYMIC
                and not b.surface[:1].isupper()
                and i + 2 < len(tokens)
                and (a.surface[:1].isupper() or not is_cased(a.surface))
                and _bare(a.text, names) in given
                and _bare(tokens[i + 2].text, names) in names
            ):
                # No common-word test: the connector says these are names ("Salman" is frequent).
                out.append(NameMatch(f"{a.surface} {b.surface} {tokens[i + 2].surface}", i, i + 3, "given+patronymic"))
                i += 3
                continue
            cased = is_cased(a.surface)
            if cased and not (a.surface[:1].isupper() and b.surface[:1].isupper()):
                i += 1
                continue
            ta, tb = a.text, b.text
            how = ""
            if len(ta) < _MIN_LEN or len(tb) < _MIN_LEN or not ta.isalpha() or not tb.isalpha():
                how = ""
            elif ta in given and tb in surnames and not (common(ta) and common(tb)):
                how = "given+surname"
            elif cased and ta in given and not common(tb) and len(tb) >= 3:
                how = "given+uncommon"
            elif cased and ta in given and tb in surnames:
                how = "given+surname, both ordinary words"  # "Mary Barra" (barra = bar): only with an act
            elif cased and ta in given and not common(ta) and len(tb) >= 3:
                # "Сергей Лавров": a given name that is no ordinary word, then a capitalised word
                # that is one (a famous surname is a frequent word too): only with an act.
                how = "given+capitalised"
            elif cased and tb in surnames and not common(ta) and not common(tb) and len(ta) >= 3:
                how = "uncommon+surname"
            elif cased and len(ta) >= 3 and len(tb) >= 3 and rare(ta) and rare(tb):
                how = "uncommon+uncommon"  # weak alone (places, brands): counts only with a depicted act
            if how:
                out.append(NameMatch(f"{a.surface} {b.surface}", i, i + 2, how))
                i += 2
            else:
                i += 1
        return out


_shared: NameIndex | None = None
_shared_lock = threading.Lock()


def shared_name_index() -> NameIndex:
    """The process's one name index (the lists are large; screeners and policies share them)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = NameIndex()
        return _shared


def run_names(index: NameIndex, policy: Policy, prompt: PreparedText) -> SignalOutput:
    started = time.perf_counter()
    unlisted = policy.unlisted
    hits: dict[str, SignalHit] = {}
    if unlisted is not None:
        tokens = prompt.normalized.tokens
        listed = {(p.start, p.end) for p in policy.figures.find(tokens)} if len(policy.figures) else set()
        found = [
            m for m in index.find(tokens) if not any(s < m.end and m.start < e for s, e in listed)
        ]  # the list already speaks for them
        groups = prompt.groups_for(unlisted.category) if found else {}
        if found:
            acts = [m for g in sorted(unlisted.act_groups) for m in groups.get(g, ())]
            if not acts:
                found = [m for m in found if m.how not in WEAK_PAIRS]

            def score_of(m: NameMatch) -> float:
                # A weak pair shown speaking or acting is held for a human, not blocked: it may
                # be a place or a thing ("Victoria Station announcing delays").
                return unlisted.alone if not acts or m.how in HELD_PAIRS else unlisted.with_act

            evidence = [
                Evidence(
                    signal="names", kind="name", value=m.surface, detail=f"not on the list; {m.how}", score=score_of(m)
                )
                for m in found
            ]
            score = max((score_of(m) for m in found), default=0.0)
            evidence += [
                Evidence(
                    signal="names",
                    kind="term",
                    value=a.surface,
                    detail=f"depicted speech or act: {a.group} '{a.term}'",
                    language=a.language,
                )
                for a in acts[:3]
            ]
            if found:
                hits[unlisted.category] = SignalHit(score=score, evidence=evidence)
    report = SignalReport(
        name="names",
        active=True,
        stage="prompt",
        version=index.version,
        scores={k: v.score for k, v in hits.items()},
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return SignalOutput(report=report, hits=hits)
