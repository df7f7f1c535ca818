"""Finding named real people (public figures) in prompts.

The list lives in a data file (see `policies/public_figures.yaml`). Each figure matches by
its full name and aliases; its surname alone only where the entry says the surname is
unambiguous (``alone: true``), or only when written with a capital letter
(``alone: capitalized``: "Trump" is the president, "trump card" is not; an alias written
``^Poutine`` likewise counts only when capitalised); and any surname
right after a title ("President Biden", "Kanzler Scholz", "le pape François").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from .lexicon import _TERM_SPLIT, Lexicon, Term, WordSlot
from .normalize import Token, fold_word, is_cased

__all__ = ["ROLES", "PersonMatch", "PublicFigure", "PublicFigures", "parse_public_figures"]

ROLES = (
    "head_of_state",
    "head_of_government",
    "politician",
    "royalty",
    "religious_leader",
    "celebrity",
    "athlete",
    "business",
    "journalist",
    "activist",
    "other",
)
_ALONE = (True, False, "capitalized")
_NAME_SUFFIX = re.compile(r"^(?:jr|sr|[ivxl]+)$")
_NON_WORD = regex.compile(r"[^\p{L}\p{M}\p{N}]+")
# Chinese, Japanese and Korean names sit inside unspaced text ("习近平在电视上..."): matched as substrings.
_DENSE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


class FigureError(ValueError):
    """The public-figures file is malformed."""


@dataclass(frozen=True)
class PublicFigure:
    name: str
    role: str
    country: str
    aliases: tuple[str, ...] = ()
    surname: str = ""
    alone: bool | str = False


@dataclass(frozen=True, slots=True)
class PersonMatch:
    name: str  # canonical name of the figure
    role: str
    country: str
    surface: str  # what the prompt said
    how: str  # full_name | alias | surname | title_surname
    start: int
    end: int


def _name_words(text: str) -> list[str]:
    return [w for w in _NON_WORD.split(fold_word(text)) if w]


def _name_slots(text: str) -> tuple[WordSlot, ...]:
    words = _name_words(text)
    if not words:
        raise FigureError(f"name {text!r} has no letters")
    slots = [WordSlot(forms=frozenset({w})) for w in words[:-1]]
    last = words[-1]
    # Possessives and German genitives: "Merkels Politik", "Macron's speech" (split by the tokenizer).
    slots.append(WordSlot(forms=frozenset({last, last + "s"})))
    return tuple(slots)


def _surname_of(figure: PublicFigure) -> str:
    if figure.surname:
        return figure.surname
    parts = figure.name.split()
    # "Robert F. Kennedy Jr.", "Charles III": the surname is before the suffix.
    while len(parts) > 1 and _NAME_SUFFIX.match(fold_word(parts[-1]).rstrip(".")):
        parts.pop()
    return parts[-1]


class PublicFigures:
    """Compiled index of public figures and titles."""

    def __init__(
        self,
        figures: Sequence[PublicFigure],
        titles: Mapping[str, Sequence[str]],
        common_word: Callable[[str], bool] | None = None,
    ):
        self.figures = tuple(figures)
        # A surname that may match alone, but is an ordinary word of some language ("store",
        # "tusks", "meloni", "duda"), only counts when capitalised somewhere other than the
        # start of the prompt, or after a title.
        self.common_word = common_word
        self._dense: list[tuple[str, int]] = []
        terms: list[Term] = []
        for i, fig in enumerate(self.figures):
            for alias in (fig.name, *fig.aliases):
                folded = fold_word(alias.lstrip("^")).replace(" ", "")
                if _DENSE.search(folded) and len(folded) >= 2:
                    self._dense.append((folded, i))
            # A one-word name that is also a common word ("Drake", "Bono") obeys `alone` too.
            mononym_kind = (
                "surname_capitalized" if len(_name_words(fig.name)) == 1 and fig.alone == "capitalized" else "full_name"
            )
            terms.append(Term(fig.name, f"{i}|{mononym_kind}", "", slots=_name_slots(fig.name)))
            for alias in fig.aliases:
                # "^Poutine": an alias that is also a common word counts only when capitalised.
                kind = "alias_capitalized" if alias.startswith("^") else "alias"
                alias = alias.lstrip("^")
                terms.append(Term(alias, f"{i}|{kind}", "", slots=_name_slots(alias)))
            surname = _surname_of(fig)
            if _name_words(surname) != _name_words(fig.name):
                kind = {True: "surname", "capitalized": "surname_capitalized", False: "title_surname"}[fig.alone]
                terms.append(Term(surname, f"{i}|{kind}", "", slots=_name_slots(surname)))
        self._names = Lexicon(terms)
        title_terms = []
        for language, words in titles.items():
            for title in words:
                title_terms.append(
                    Term(
                        title,
                        "title",
                        language,
                        slots=tuple(WordSlot(forms=frozenset({fold_word(w)})) for w in _TERM_SPLIT.split(title) if w),
                    )
                )
        self._titles = Lexicon(title_terms)
        self.forms = self._names.forms | self._titles.forms

    def __len__(self) -> int:
        return len(self.figures)

    def find(self, tokens: Sequence[Token]) -> list[PersonMatch]:
        title_ends = {m.end for m in self._titles.find(tokens)}
        found: dict[tuple[int, int, str], PersonMatch] = {}
        if self._dense:
            for ti, tok in enumerate(tokens):
                if not _DENSE.search(tok.text):
                    continue
                for alias, index in self._dense:
                    if alias in tok.text:
                        fig = self.figures[index]
                        found.setdefault(
                            (ti, ti + 1, fig.name),
                            PersonMatch(fig.name, fig.role, fig.country, tok.surface, "alias", ti, ti + 1),
                        )
        for m in self._names.find(tokens):
            figure_index, kind = m.group.split("|")
            fig = self.figures[int(figure_index)]
            after_title = m.start in title_ends
            if kind in ("surname_capitalized", "alias_capitalized") and not (
                tokens[m.start].capitalized or after_title
            ):
                continue
            if kind == "alias_capitalized":
                kind = "alias"
            if kind == "title_surname" and not after_title:
                continue
            common_start = False
            how_override = ""
            # Words of a cased script (Latin, Cyrillic, Greek) collide with ordinary words this
            # way ("store", "путина" = the fishing season) and capitals tell them apart; a name
            # in an uncased script (मोदी, 普京) has none, and needs none.
            if (
                kind in ("surname", "surname_capitalized", "alias")
                and m.end - m.start == 1
                and not after_title
                and is_cased(tokens[m.start].surface)
                and self.common_word is not None
                and self.common_word(tokens[m.start].text)
            ):
                tok = tokens[m.start]
                if not tok.capitalized and (fold_word(tok.surface) == tok.text or tok.corrected):
                    # "a grocery store", "long tusks": the ordinary word, unless the prompt
                    # shows someone speaking or acting (decided by the caller). A de-obfuscated
                    # "0bama" was written to be read as the name, and counts; a lowercase
                    # misspelling ("a stoore") is no more a name than the word it is near.
                    how_override = "common_word_lower"
                # Capitalised at the start ("Meloni e angurie"): could be either; the policy's
                # `common_word` score decides (a hold by default).
                else:
                    common_start = m.start == 0
            if kind in ("surname", "surname_capitalized", "title_surname"):
                how = (
                    "title_surname"
                    if after_title
                    else ("surname" if _name_words(fig.name) != _name_words(m.term) else "full_name")
                )
            else:
                how = kind
            if common_start:
                how = "common_word"
            if how_override:
                how = how_override
            key = (m.start, m.end, fig.name)
            found.setdefault(key, PersonMatch(fig.name, fig.role, fig.country, m.surface, how, m.start, m.end))
        # A surname inside a longer match of the same person ("Angela Merkel") is the same mention.
        result = []
        for _key, pm in found.items():
            covered = any(
                other is not pm
                and other.name == pm.name
                and other.start <= pm.start
                and pm.end <= other.end
                and (other.end - other.start) > (pm.end - pm.start)
                for other in found.values()
            )
            if not covered:
                result.append(pm)
        return sorted(result, key=lambda p: (p.start, p.name))


def parse_public_figures(data: Any, where: str, common_word: Callable[[str], bool] | None = None) -> PublicFigures:
    """Validate the parsed YAML of a public-figures file and compile it."""
    if not isinstance(data, dict):
        raise FigureError(f"{where}: top level must be a mapping with 'titles' and 'figures'")
    unknown = set(data) - {"titles", "figures", "description"}
    if unknown:
        raise FigureError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: titles, figures, description")
    titles = data.get("titles") or {}
    if not isinstance(titles, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(t, str) and t.strip() for t in v)
        for k, v in titles.items()
    ):
        raise FigureError(f"{where}: 'titles' must map a language code to a list of titles")
    raw = data.get("figures")
    if not isinstance(raw, list) or not raw:
        raise FigureError(f"{where}: 'figures' must be a non-empty list")
    figures: list[PublicFigure] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        at = f"{where}: figures[{i}]"
        if not isinstance(entry, dict):
            raise FigureError(f"{at}: must be a mapping like {{name: ..., role: ..., country: ...}}")
        unknown = set(entry) - {"name", "role", "country", "aliases", "surname", "alone"}
        if unknown:
            raise FigureError(
                f"{at}: unknown key(s) {sorted(unknown)}; allowed: name, role, country, aliases, surname, alone"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FigureError(f"{at}: 'name' must be a non-empty string")
        at = f"{where}: figure {name!r}"
        role = entry.get("role")
        if role not in ROLES:
            raise FigureError(f"{at}: role {role!r} is not one of {', '.join(ROLES)}")
        country = entry.get("country")
        if not isinstance(country, str) or not (2 <= len(country) <= 3) or not country.isupper():
            raise FigureError(f"{at}: country must be an upper-case ISO code such as 'FR', got {country!r}")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise FigureError(f"{at}: 'aliases' must be a list of non-empty strings")
        alone = entry.get("alone", False)
        if alone not in _ALONE or (isinstance(alone, int) and not isinstance(alone, bool)):
            raise FigureError(f"{at}: 'alone' must be true, false or 'capitalized', got {alone!r}")
        surname = entry.get("surname", "")
        if not isinstance(surname, str):
            raise FigureError(f"{at}: 'surname' must be a string")
        key = fold_word(name)
        if key in seen:
            raise FigureError(f"{at}: listed twice (also figures[{seen[key]}])")
        seen[key] = i
        figures.append(
            PublicFigure(name.strip(), role, country, tuple(a.strip() for a in aliases), surname.strip(), alone)
        )
    try:
        return PublicFigures(figures, titles, common_word)
    except FigureError as exc:
        raise FigureError(f"{where}: {exc}") from exc
