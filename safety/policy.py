"""Policy files: loading, strict validation, versioning by content hash, hot reload.

A policy is a main YAML file (see `policies/default.yaml`) plus the files it references:
one term file per language and a public-figures file. The version is a hash of all of
their bytes, so any edit anywhere yields a new version, and two deployments with the same
version screen identically.

A file that does not validate is rejected with a `PolicyError` that names the file, the
place in it and what is wrong; a `PolicyStore` keeps serving the policy it had.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .common_words import common_words
from .decision import ACTIONS
from .errors import PolicyError
from .fuzzy import FuzzyIndex
from .language_id import Coverage
from .lexicon import Lexicon, Term, TermError, parse_term
from .normalize import Token
from .persons import FigureError, PublicFigures, parse_public_figures

__all__ = [
    "SIGNAL_NAMES",
    "Category",
    "Policy",
    "PolicyStore",
    "PolicyVocabulary",
    "Rule",
    "Threshold",
    "load_policy",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SIGNAL_NAMES = (
    "lexical",
    "persons",
    "names",
    "language",
    "text_model",
    "clip_text",
    "clip_image",
    "nsfw",
    "nudity_parts",
    "face",
)
IMAGE_SIGNALS = ("nsfw", "nudity_parts", "face", "clip_image")
FIELDS = ("prompt", "negative_prompt")
PERSON_MATCH_KINDS = ("full_name", "alias", "surname", "title_surname")
COMMON_LANGUAGE = "common"


@dataclass(frozen=True)
class Threshold:
    trigger: float
    review: float | None = None
    action: str | None = None  # overrides the category action for this signal (e.g. faces -> review)


@dataclass(frozen=True)
class Rule:
    name: str
    when: tuple[frozenset[str], ...]  # every item must match; an item is a set of alternative groups
    unless: frozenset[str]
    score: float
    field: str = "prompt"
    action: str | None = None

    @property
    def groups(self) -> frozenset[str]:
        return frozenset().union(*self.when) | self.unless


@dataclass(frozen=True)
class UnlistedNames:
    """How the `names` signal scores a person's name that is not on the public-figures list."""

    category: str
    act_groups: frozenset[str]  # term groups that depict speech or acts ("saying", "interview")
    with_act: float  # a name + depicted speech/act: a fabricated statement
    alone: float  # a name in a neutral scene


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    action: str
    enabled: bool
    clip_descriptions: tuple[str, ...]
    clip_benign: tuple[str, ...]
    rules: tuple[Rule, ...]
    signals: Mapping[str, Threshold]


class PolicyVocabulary:
    """The words the policy cares about; tells the normaliser which obfuscations to undo."""

    def __init__(
        self,
        forms: Iterable[str],
        prefixes: Iterable[str],
        function_words: Iterable[str] = (),
        common_word: Callable[[str], bool] | None = None,
    ):
        self._function_words = frozenset(function_words)
        self._forms = frozenset(f for f in forms if len(f) >= 3 and f.isalpha())
        self._prefixes = frozenset(p for p in prefixes if len(p) >= 3)
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        by_length: dict[int, list[str]] = {}
        for f in sorted(self._forms):
            by_length.setdefault(len(f), []).append(f)
        self._by_length = {k: tuple(v) for k, v in by_length.items()}
        # Misspellings of these words ("Zuckerburg", "beheadng"), guarded by the common-word test.
        self.fuzzy = FuzzyIndex(self._forms, common_word, excluded=self._function_words, prefixes=self._prefixes)

    def correct(self, word: str) -> str | None:
        return self.fuzzy.correct(word)

    @staticmethod
    def is_given_name(word: str) -> bool:
        """A capitalised given name ("Katalin") is a name, not a misspelt term ("katil")."""
        from .person_names import shared_name_index

        return shared_name_index().is_given_name(word)

    def knows_exact(self, word: str) -> bool:
        return word in self._forms

    def is_function_word(self, word: str) -> bool:
        return word in self._function_words

    def knows(self, word: str) -> bool:
        if word in self._forms:
            return True
        return len(word) >= 3 and any(word[:n] in self._prefixes for n in self._prefix_lengths if n <= len(word))

    def words_of_length(self, length: int) -> tuple[str, ...]:
        return self._by_length.get(length, ())

    def __len__(self) -> int:
        return len(self._forms)


@dataclass(frozen=True)
class Policy:
    name: str
    version: str  # first 16 hex digits of `digest`
    digest: str  # sha256 over every file of the policy
    path: Path
    files: tuple[Path, ...]
    description: str
    default_decision: str
    categories: Mapping[str, Category]
    languages: tuple[str, ...]
    lexicon: Lexicon
    exceptions: Lexicon
    stopwords: Mapping[str, frozenset[str]]
    figures: PublicFigures
    person_category: str | None
    person_scores: Mapping[str, float]
    clip_benign: tuple[str, ...]
    output_sample_frames: int
    output_signals: tuple[str, ...]
    label_text: str
    vocabulary: PolicyVocabulary
    coverage: Coverage = Coverage(frozenset())
    unread_category: str | None = None  # category the `language` signal flags
    unlisted: UnlistedNames | None = None  # names of people who are not on the list
    text_model_codes: Mapping[str, str] = field(default_factory=dict)  # learned model's hazard code -> category
    loaded_at: float = field(default_factory=time.time)

    def guess_languages(self, tokens: Iterable[Token]) -> frozenset[str] | None:
        """Languages whose stopwords occur most often, or None when no stopword occurs."""
        counts = dict.fromkeys(self.stopwords, 0)
        for t in tokens:
            for lang, words in self.stopwords.items():
                if t.text in words:
                    counts[lang] += 1
        best = max(counts.values(), default=0)
        if best == 0:
            return None
        return frozenset(lang for lang, n in counts.items() if n == best)

    def stopword_hits(self, tokens: Iterable[Token]) -> int:
        """Function words of the covered language that has the most of them in the prompt."""
        counts = dict.fromkeys(self.stopwords, 0)
        for t in tokens:
            for lang, words in self.stopwords.items():
                counts[lang] += t.text in words
        return max(counts.values(), default=0)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "path": str(self.path),
            "categories": {c.name: c.action for c in self.categories.values() if c.enabled},
            "languages": list(self.languages),
            "terms": len(self.lexicon.terms),
            "public_figures": len(self.figures),
            "loaded_at": self.loaded_at,
        }


# --- YAML that refuses duplicate keys (PyYAML silently keeps the last one) -----------------


# libyaml's parser when available: policy files are large and the pure-Python parser is ~10x slower.
class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (keys must be unique)", key_node.start_mark
            )
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, data: bytes) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_StrictLoader)  # SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text ({exc})", path=str(path)) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML error: {exc}", path=str(path)) from exc


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PolicyError("file not found", path=str(path)) from exc
    except OSError as exc:
        raise PolicyError(f"cannot read file: {exc}", path=str(path)) from exc


# --- validation helpers --------------------------------------------------------------------


class _Where:
    def __init__(self, path: Path):
        self.path = str(path)

    def fail(self, where: str, reason: str) -> PolicyError:
        return PolicyError(f"{self.path}: {where}: {reason}" if where else f"{self.path}: {reason}", path=self.path)


def _mapping(w: _Where, value: Any, where: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
    allowed = tuple(allowed)
    if not isinstance(value, dict):
        raise w.fail(where, f"must be a mapping with keys from {', '.join(allowed)}; got {type(value).__name__}")
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise w.fail(where, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise w.fail(where, f"missing required key(s) {', '.join(missing)}")
    return value


def _string(w: _Where, value: Any, where: str) -> str:
    if isinstance(value, bool):
        raise w.fail(where, f"YAML read {value!r} as a boolean (yes/no/on/off); put it in quotes")
    if not isinstance(value, str) or not value.strip():
        raise w.fail(where, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _strings(w: _Where, value: Any, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise w.fail(where, "must be a non-empty list of strings" if not allow_empty else "must be a list of strings")
    return tuple(_string(w, v, f"{where}[{i}]") for i, v in enumerate(value))


def _score(w: _Where, value: Any, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise w.fail(where, f"must be a number between 0 and 1, got {value!r}")
    return float(value)


def _action(w: _Where, value: Any, where: str) -> str:
    if value not in ACTIONS:
        raise w.fail(where, f"action must be one of {', '.join(ACTIONS)}, got {value!r}")
    return value


# --- parsing -----------------------------------------------------------------------------


def _parse_threshold(w: _Where, value: Any, where: str) -> Threshold:
    m = _mapping(w, value, where, ("trigger", "review", "action"), ("trigger",))
    trigger = _score(w, m["trigger"], f"{where}.trigger")
    review = _score(w, m["review"], f"{where}.review") if m.get("review") is not None else None
    if review is not None and review > trigger:
        raise w.fail(where, f"review threshold {review} is above the trigger threshold {trigger}")
    action = _action(w, m["action"], f"{where}.action") if "action" in m else None
    return Threshold(trigger, review, action)


def _parse_rule(w: _Where, value: Any, where: str) -> Rule:
    m = _mapping(w, value, where, ("name", "when", "unless", "score", "field", "action"), ("when", "score"))
    when_raw = m["when"]
    if not isinstance(when_raw, list) or not when_raw:
        raise w.fail(f"{where}.when", "must be a non-empty list of group names (a nested list means any-of)")
    when = []
    for i, item in enumerate(when_raw):
        names = [item] if isinstance(item, str) else item
        when.append(frozenset(_strings(w, names, f"{where}.when[{i}]")))
    unless = frozenset(_strings(w, m.get("unless", []), f"{where}.unless", allow_empty=True))
    score = _score(w, m["score"], f"{where}.score")
    field_ = m.get("field", "prompt")
    if field_ not in FIELDS:
        raise w.fail(f"{where}.field", f"must be one of {', '.join(FIELDS)}, got {field_!r}")
    action = _action(w, m["action"], f"{where}.action") if "action" in m else None
    name = _string(w, m["name"], f"{where}.name") if "name" in m else " + ".join("|".join(sorted(s)) for s in when)
    return Rule(name, tuple(when), unless, score, field_, action)


def _parse_category(w: _Where, name: str, value: Any, benign: tuple[str, ...]) -> Category:
    where = f"categories.{name}"
    m = _mapping(
        w,
        value,
        where,
        ("description", "action", "enabled", "clip", "rules", "signals"),
        ("description", "action", "signals"),
    )
    clip = _mapping(
        w, m.get("clip", {"descriptions": []}), f"{where}.clip", ("descriptions", "benign"), ("descriptions",)
    )
    if not m.get("clip") and ({"clip_text", "clip_image"} & set(m["signals"] or {})):
        raise w.fail(f"{where}.clip", "needs descriptions: the category has CLIP thresholds")
    signals_raw = _mapping(w, m["signals"], f"{where}.signals", SIGNAL_NAMES)
    if not signals_raw:
        raise w.fail(f"{where}.signals", f"needs thresholds for at least one signal of {', '.join(SIGNAL_NAMES)}")
    signals = {k: _parse_threshold(w, v, f"{where}.signals.{k}") for k, v in signals_raw.items()}
    rules_raw = m.get("rules", [])
    if not isinstance(rules_raw, list):
        raise w.fail(f"{where}.rules", "must be a list of rules")
    rules = tuple(_parse_rule(w, r, f"{where}.rules[{i}]") for i, r in enumerate(rules_raw))
    if rules and "lexical" not in signals:
        raise w.fail(f"{where}.signals", "has rules but no 'lexical' thresholds, so the rules could never fire")
    enabled = m.get("enabled", True)
    if not isinstance(enabled, bool):
        raise w.fail(f"{where}.enabled", f"must be true or false, got {enabled!r}")
    return Category(
        name=name,
        description=_string(w, m["description"], f"{where}.description"),
        action=_action(w, m["action"], f"{where}.action"),
        enabled=enabled,
        clip_descriptions=_strings(w, clip["descriptions"], f"{where}.clip.descriptions", allow_empty=True),
        clip_benign=_strings(w, clip.get("benign", []), f"{where}.clip.benign", allow_empty=True) or benign,
        rules=rules,
        signals=signals,
    )


@dataclass
class _TermFile:
    language: str
    path: Path
    stopwords: frozenset[str]
    groups: dict[str, tuple[str, ...]]
    exceptions: dict[str, tuple[str, ...]]


def _parse_term_file(path: Path, data: Any, language: str) -> _TermFile:
    w = _Where(path)
    m = _mapping(w, data, "", ("language", "description", "stopwords", "groups", "exceptions"), ("language", "groups"))
    if m["language"] != language:
        raise w.fail("language", f"file says {m['language']!r} but the policy lists it under {language!r}")
    from .normalize import fold_word

    stopwords = frozenset(fold_word(s) for s in _strings(w, m.get("stopwords", []), "stopwords", allow_empty=True))
    groups_raw = _mapping(w, m["groups"], "groups", list(m["groups"]) if isinstance(m["groups"], dict) else ())
    groups = {}
    for g, terms in groups_raw.items():
        if not isinstance(g, str) or not g.isidentifier():
            raise w.fail(f"groups.{g}", "group names must be identifiers like 'nudity' or 'minor_age'")
        groups[g] = _strings(w, terms, f"groups.{g}", allow_empty=True)
    exc_raw = m.get("exceptions", {}) or {}
    if not isinstance(exc_raw, dict):
        raise w.fail("exceptions", "must map 'all' or a category name to a list of benign phrases")
    exceptions = {k: _strings(w, v, f"exceptions.{k}", allow_empty=True) for k, v in exc_raw.items()}
    return _TermFile(language, path, stopwords, groups, exceptions)


def _compile_terms(term_files: list[_TermFile], categories: Mapping[str, Category]) -> tuple[Lexicon, Lexicon]:
    terms: list[Term] = []
    exceptions: list[Term] = []
    for tf in term_files:
        inflect_as = "en" if tf.language == COMMON_LANGUAGE else tf.language
        for group, sources in tf.groups.items():
            for i, source in enumerate(sources):
                try:
                    t = parse_term(source, group, inflect_as)
                except TermError as exc:
                    raise PolicyError(f"{tf.path}: groups.{group}[{i}]: {exc}", path=str(tf.path)) from exc
                terms.append(Term(t.source, t.group, tf.language, t.slots, t.pattern, t.language_gated))
        for scope, sources in tf.exceptions.items():
            if scope != "all" and scope not in categories:
                raise PolicyError(
                    f"{tf.path}: exceptions.{scope}: not a category; use 'all' or one of {', '.join(categories)}",
                    path=str(tf.path),
                )
            for i, source in enumerate(sources):
                try:
                    t = parse_term(source, "exception", inflect_as, scope="" if scope == "all" else scope)
                except TermError as exc:
                    raise PolicyError(f"{tf.path}: exceptions.{scope}[{i}]: {exc}", path=str(tf.path)) from exc
                exceptions.append(Term(t.source, t.group, tf.language, t.slots, t.pattern, t.language_gated, t.scope))
    return Lexicon(terms), Lexicon(exceptions)


def _check_groups(
    term_files: list[_TermFile], categories: Mapping[str, Category], required: tuple[str, ...], main: Path
) -> None:
    used: dict[str, str] = {}
    for c in categories.values():
        for r in c.rules:
            for g in r.groups:
                used.setdefault(g, f"categories.{c.name} rule {r.name!r}")
    defined: dict[str, dict[str, int]] = {}
    for tf in term_files:
        for g, terms in tf.groups.items():
            defined.setdefault(g, {})[tf.language] = len(terms)
            if g not in used:
                raise PolicyError(
                    f"{tf.path}: groups.{g}: no rule in {main.name} uses this group (misspelt?); "
                    f"groups in use: {', '.join(sorted(used))}",
                    path=str(tf.path),
                )
    for g, where in sorted(used.items()):
        langs = defined.get(g, {})
        if langs.get(COMMON_LANGUAGE):
            continue
        if not langs:
            raise PolicyError(f"{main}: {where} uses group {g!r}, which no term file defines", path=str(main))
        missing = [lang for lang in required if not langs.get(lang)]
        if missing:
            raise PolicyError(
                f"{main}: group {g!r} (used by {where}) has no terms for required language(s) {', '.join(missing)}",
                path=str(main),
            )


def _resolve(base: Path, w: _Where, value: Any, where: str) -> Path:
    rel = _string(w, value, where)
    p = Path(rel)
    return p if p.is_absolute() else (base / p)


def _referenced_files(path: Path, doc: Any) -> list[Path]:
    """Files a main policy document references, for change detection (best effort, no validation)."""
    out = [path]
    if not isinstance(doc, dict):
        return out
    langs = doc.get("languages")
    if isinstance(langs, dict) and isinstance(langs.get("files"), dict):
        out += [path.parent / str(v) for v in langs["files"].values()]
    persons = doc.get("persons")
    if isinstance(persons, dict) and persons.get("file"):
        out.append(path.parent / str(persons["file"]))
    return out


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read, validate and compile a policy. Raises `PolicyError` with the reason on any problem."""
    path = Path(path)
    main_bytes = _read_bytes(path)
    doc = _read_yaml(path, main_bytes)
    w = _Where(path)
    m = _mapping(
        w,
        doc,
        "",
        (
            "schema_version",
            "name",
            "description",
            "default_decision",
            "languages",
            "persons",
            "clip",
            "output_screening",
            "label",
            "categories",
            "text_model",
        ),
        ("schema_version", "name", "languages", "categories"),
    )
    if m["schema_version"] != SCHEMA_VERSION:
        raise w.fail("schema_version", f"this code reads schema_version {SCHEMA_VERSION}, got {m['schema_version']!r}")
    name = _string(w, m["name"], "name")
    description = _string(w, m["description"], "description") if "description" in m else ""
    default_decision = m.get("default_decision", "allow")
    if default_decision not in ("allow", "allow_with_label"):
        raise w.fail("default_decision", f"must be allow or allow_with_label, got {default_decision!r}")

    langs = _mapping(w, m["languages"], "languages", ("required", "files", "unread"), ("required", "files"))
    required = _strings(w, langs["required"], "languages.required")
    files_raw = _mapping(
        w, langs["files"], "languages.files", list(langs["files"]) if isinstance(langs["files"], dict) else ()
    )
    missing = [lang for lang in required if lang not in files_raw]
    if missing:
        raise w.fail("languages.files", f"no term file for required language(s) {', '.join(missing)}")

    clip = _mapping(w, m.get("clip", {}), "clip", ("benign_descriptions",))
    benign = _strings(w, clip.get("benign_descriptions", ["an ordinary, harmless photo"]), "clip.benign_descriptions")

    cats_raw = m["categories"]
    if not isinstance(cats_raw, dict) or not cats_raw:
        raise w.fail("categories", "must be a non-empty mapping of category name to its definition")
    categories: dict[str, Category] = {}
    for cname, cval in cats_raw.items():
        if not isinstance(cname, str) or not cname.isidentifier():
            raise w.fail(f"categories.{cname}", "category names must be identifiers like 'violence_gore'")
        categories[cname] = _parse_category(w, cname, cval, benign)

    output = _mapping(w, m.get("output_screening", {}), "output_screening", ("sample_frames", "signals"))
    sample_frames = output.get("sample_frames", 4)
    if isinstance(sample_frames, bool) or not isinstance(sample_frames, int) or not 1 <= sample_frames <= 256:
        raise w.fail("output_screening.sample_frames", f"must be an integer from 1 to 256, got {sample_frames!r}")
    output_signals = _strings(w, output.get("signals", ["nsfw", "clip_image"]), "output_screening.signals")
    bad = [s for s in output_signals if s not in IMAGE_SIGNALS]
    if bad:
        raise w.fail("output_screening.signals", f"{bad} are not image signals ({', '.join(IMAGE_SIGNALS)})")
    label = _mapping(w, m.get("label", {}), "label", ("text",))
    label_text = _string(w, label.get("text", "AI-generated"), "label.text")

    base = path.parent
    files: list[tuple[Path, bytes]] = [(path, main_bytes)]
    term_files: list[_TermFile] = []
    for lang, rel in files_raw.items():
        tpath = _resolve(base, w, rel, f"languages.files.{lang}")
        data = _read_bytes(tpath)
        files.append((tpath, data))
        term_files.append(_parse_term_file(tpath, _read_yaml(tpath, data), lang))

    person_category = None
    person_scores: dict[str, float] = {}
    if "persons" in m:
        pm = _mapping(
            w, m["persons"], "persons", ("file", "category", "scores", "unlisted"), ("file", "category", "scores")
        )
        person_category = _string(w, pm["category"], "persons.category")
        if person_category not in categories:
            raise w.fail("persons.category", f"{person_category!r} is not a category")
        if "persons" not in categories[person_category].signals:
            raise w.fail(
                f"categories.{person_category}.signals", "needs 'persons' thresholds (persons.category points here)"
            )
        scores = _mapping(w, pm["scores"], "persons.scores", (*PERSON_MATCH_KINDS, "common_word"), PERSON_MATCH_KINDS)
        person_scores = {k: _score(w, v, f"persons.scores.{k}") for k, v in scores.items()}
        fpath = _resolve(base, w, pm["file"], "persons.file")
        data = _read_bytes(fpath)
        files.append((fpath, data))
        try:
            figures = parse_public_figures(_read_yaml(fpath, data), str(fpath), common_words())
        except FigureError as exc:
            raise PolicyError(str(exc), path=str(fpath)) from exc
    else:
        figures = PublicFigures((), {})
    for c in categories.values():
        if "persons" in c.signals and c.name != person_category:
            raise w.fail(
                f"categories.{c.name}.signals.persons", "only the category named in persons.category can use it"
            )

    unread_category = None
    coverage = Coverage(frozenset(lang for lang in files_raw if lang != COMMON_LANGUAGE))
    if "unread" in langs:
        um = _mapping(
            w,
            langs["unread"],
            "languages.unread",
            ("category", "min_confidence", "max_covered", "min_letters"),
            ("category",),
        )
        unread_category = _string(w, um["category"], "languages.unread.category")
        if unread_category not in categories or "language" not in categories[unread_category].signals:
            raise w.fail(
                "languages.unread.category", f"{unread_category!r} must be a category with 'language' thresholds"
            )
        min_letters = um.get("min_letters", coverage.min_letters)
        if isinstance(min_letters, bool) or not isinstance(min_letters, int) or min_letters < 0:
            raise w.fail("languages.unread.min_letters", f"must be a non-negative integer, got {min_letters!r}")
        coverage = Coverage(
            coverage.languages,
            min_confidence=_score(
                w, um.get("min_confidence", coverage.min_confidence), "languages.unread.min_confidence"
            ),
            max_covered=_score(w, um.get("max_covered", coverage.max_covered), "languages.unread.max_covered"),
            min_letters=min_letters,
        )
    unlisted = None
    if "persons" in m and "unlisted" in m["persons"]:
        um = _mapping(
            w, m["persons"]["unlisted"], "persons.unlisted", ("act_groups", "scores"), ("act_groups", "scores")
        )
        sm = _mapping(w, um["scores"], "persons.unlisted.scores", ("with_act", "alone"), ("with_act", "alone"))
        act_groups = frozenset(_strings(w, um["act_groups"], "persons.unlisted.act_groups"))
        known = {g for tf in term_files for g in tf.groups}
        if act_groups - known:
            raise w.fail("persons.unlisted.act_groups", f"no term file defines group(s) {sorted(act_groups - known)}")
        assert person_category is not None  # persons.unlisted sits inside persons, which set it above
        if "names" not in categories[person_category].signals:
            raise w.fail(f"categories.{person_category}.signals", "needs 'names' thresholds (persons.unlisted is set)")
        unlisted = UnlistedNames(
            person_category,
            act_groups,
            _score(w, sm["with_act"], "persons.unlisted.scores.with_act"),
            _score(w, sm["alone"], "persons.unlisted.scores.alone"),
        )

    text_model_codes: dict[str, str] = {}
    if "text_model" in m:
        tm = _mapping(w, m["text_model"], "text_model", ("categories",), ("categories",))
        codes = tm["categories"]
        if not isinstance(codes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in codes.items()):
            raise w.fail("text_model.categories", "must map the model's hazard codes (S1...) to category names")
        for code, cat in codes.items():
            if cat not in categories or "text_model" not in categories[cat].signals:
                raise w.fail(
                    f"text_model.categories.{code}", f"{cat!r} must be a category with 'text_model' thresholds"
                )
        text_model_codes = dict(codes)

    _check_groups(term_files, categories, required, path)
    lexicon, exceptions = _compile_terms(term_files, categories)

    digest = hashlib.sha256()
    for p, data in sorted(files, key=lambda f: str(f[0].relative_to(base)) if f[0].is_relative_to(base) else str(f[0])):
        rel = str(p.relative_to(base)) if p.is_relative_to(base) else str(p)
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    hexdigest = digest.hexdigest()

    vocabulary = PolicyVocabulary(
        lexicon.forms | exceptions.forms | figures.forms,
        lexicon.prefixes | exceptions.prefixes,
        frozenset().union(*(tf.stopwords for tf in term_files)),
        common_words(),
    )
    return Policy(
        name=name,
        version=hexdigest[:16],
        digest=hexdigest,
        path=path,
        files=tuple(p for p, _ in files),
        description=description,
        default_decision=default_decision,
        categories=categories,
        languages=tuple(files_raw),
        lexicon=lexicon,
        exceptions=exceptions,
        stopwords={tf.language: tf.stopwords for tf in term_files if tf.stopwords},
        figures=figures,
        person_category=person_category,
        person_scores=person_scores,
        clip_benign=benign,
        output_sample_frames=sample_frames,
        output_signals=output_signals,
        label_text=label_text,
        vocabulary=vocabulary,
        coverage=coverage,
        unread_category=unread_category,
        unlisted=unlisted,
        text_model_codes=text_model_codes,
    )


def _stamp(paths: Iterable[Path]) -> tuple:
    out: list[tuple[str, int | None, int | None]] = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


class PolicyStore:
    """Holds the policy in force and reloads it when its files change.

    `current` checks file modification times at most every `check_interval` seconds (a few
    `stat` calls), so it is cheap to call on every request. A changed file that fails to
    validate is logged and kept in `last_error`; the previous policy stays in force.
    `reload()` re-reads unconditionally and raises the `PolicyError` instead.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if path is None:
            from policies import DEFAULT_POLICY_PATH

            path = DEFAULT_POLICY_PATH
        self.path = Path(path)
        self.check_interval = check_interval
        self._clock = clock
        self._lock = threading.RLock()
        self._policy = load_policy(self.path)
        self._watched = self._policy.files
        self._stamp = _stamp(self._watched)
        self._last_check = clock()
        self.last_error: PolicyError | None = None
        self.reloads = 0

    @property
    def current(self) -> Policy:
        if self._clock() - self._last_check >= self.check_interval:
            self.check()
        return self._policy

    def check(self) -> bool:
        """Reload if any policy file changed; return True if a new version took effect."""
        with self._lock:
            self._last_check = self._clock()
            stamp = _stamp(self._watched)
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                return self._swap(load_policy(self.path))
            except PolicyError as exc:
                self.last_error = exc
                self._watch_whatever_main_references()
                self._stamp = _stamp(self._watched)
                log.warning("policy change rejected, keeping version %s: %s", self._policy.version, exc)
                return False

    def reload(self) -> Policy:
        """Re-read the policy now. Raises `PolicyError` (keeping the old policy) if it is invalid."""
        with self._lock:
            self._last_check = self._clock()
            try:
                policy = load_policy(self.path)
            except PolicyError as exc:
                self.last_error = exc
                self._watch_whatever_main_references()
                self._stamp = _stamp(self._watched)
                raise
            self._swap(policy)
            return self._policy

    def _swap(self, policy: Policy) -> bool:
        self.last_error = None
        self._watched = policy.files
        self._stamp = _stamp(self._watched)
        if policy.digest == self._policy.digest:
            return False
        log.info("policy %s replaced by version %s", self._policy.version, policy.version)
        self._policy = policy
        self.reloads += 1
        return True

    def _watch_whatever_main_references(self) -> None:
        # A broken main file may point at new term files; watch those too so fixing them reloads.
        try:
            doc = yaml.safe_load(self.path.read_bytes())
        except Exception:  # unreadable: keep watching what we had
            doc = None
        self._watched = tuple(dict.fromkeys([*self._policy.files, *_referenced_files(self.path, doc)]))

    def status(self) -> dict[str, Any]:
        policy = self._policy
        return {
            "version": policy.version,
            "name": policy.name,
            "path": str(self.path),
            "loaded_at": policy.loaded_at,
            "reloads": self.reloads,
            "last_error": str(self.last_error) if self.last_error else None,
        }
