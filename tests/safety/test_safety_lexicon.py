"""Multilingual term matching: inflections, word boundaries, benign exceptions, language gating."""

import pytest

from safety.lexicon import Lexicon, TermError, inflections, parse_term
from safety.normalize import normalize_text
from safety.text_signals import prepare_text


def groups(policy, text, category="sexual"):
    return set(prepare_text(policy, text).groups_for(category))


@pytest.mark.parametrize(
    "word, language, form",
    [
        ("kill", "en", "killing"),
        ("stab", "en", "stabbed"),
        ("nu", "fr", "nues"),
        ("sensuel", "fr", "sensuelles"),
        ("desnudo", "es", "desnudas"),
        ("nudo", "it", "nude"),
        ("nackt", "de", "nackten"),
        ("ensanguentado", "pt", "ensanguentadas"),
    ],
)
def test_inflections(word, language, form):
    assert form in inflections(word, language)


def test_term_syntax():
    lex = Lexicon(
        [
            parse_term("pornograph*", "g", "en"),
            parse_term("*porno*", "g2", "de"),
            parse_term("kill himself|herself", "g3", "en"),
            parse_term("se|s ... suicide", "g4", "fr"),
            parse_term("=shot dead", "g5", "en"),
        ]
    )

    def found(text):
        return {m.group for m in lex.find(normalize_text(text).tokens)}

    assert "g" in found("pornographic clip")
    assert found("ein Kinderpornovideo") == {"g2"}
    assert found("she killed herself") == {"g3"}
    assert found("il s'est suicidé") == {"g4"}
    assert found("a man shot dead") == {"g5"}
    assert found("shots dead") == set()  # "=" means exactly this word


@pytest.mark.parametrize("bad", ["", "nu*de", "a*", "re:(unclosed", "... naked"])
def test_bad_terms_are_rejected(bad):
    with pytest.raises(TermError):
        parse_term(bad, "g", "en")


def test_word_boundaries(policy):
    assert "nudity" not in groups(policy, "a therapist in her office")
    assert "explicit" not in groups(policy, "a sussex cottage in the rain")
    assert "explicit" not in groups(policy, "sunlight penetrating the forest canopy")
    assert "nudity" in groups(policy, "nude woman on a sofa")


@pytest.mark.parametrize(
    "text, category, group",
    [
        ("A killer whale breaching", "violence_gore", "killing"),
        ("Shooting star over the desert", "violence_gore", "killing"),
        ("Barista pulling a shot of espresso for a woman", "violence_gore", "killing"),
        ("Model wearing a nude-colored dress", "sexual", "nudity"),
        ("naked eye view of the Milky Way", "sexual", "nudity"),
        ("execute the program for the students", "violence_gore", "killing"),
        ("baby shower decorations, sexy cake", "sexual_minors", "minor_ambiguous"),
        ("Un homme torse nu qui court", "sexual", "nudity"),
        ("marcher pieds nus sur la plage", "sexual", "nudity"),
    ],
)
def test_benign_phrases_mask_terms(policy, text, category, group):
    assert group not in groups(policy, text, category)


def test_exception_masks_only_its_own_words(policy):
    assert "nudity" in groups(policy, "a killer whale next to a naked man", "sexual")


def test_language_gating(policy):
    # Spanish "nudo" is a knot, Italian "nudo" is naked.
    assert "nudity" not in groups(policy, "un nudo de marinero en una cuerda")
    assert "nudity" in groups(policy, "un uomo nudo sulla spiaggia")
    # German "Kind" is a child, English "kind" is not.
    assert "minor" not in groups(policy, "a kind woman in lingerie", "sexual_minors")
    assert "minor" in groups(policy, "ein Kind mit einem Hund", "sexual_minors")


@pytest.mark.parametrize(
    "text",
    [
        "a 12 year old girl",
        "a 14yo boy",
        "un garçon de 9 ans",
        "niña de 10 años",
        "ein 13-jähriges Mädchen",
        "menina de 13 anos",
        "twelve-year-old",
        "bambina di 8 anni",
    ],
)
def test_ages_under_18_are_minors(policy, text):
    assert "minor" in groups(policy, text, "sexual_minors")


@pytest.mark.parametrize("text", ["a 25 year old woman", "an 18 year old student", "il y a 30 ans"])
def test_adult_ages_are_not_minors(policy, text):
    assert "minor" not in groups(policy, text, "sexual_minors")


def test_negative_prompt_rules(screener):
    plain = screener.screen_prompt("a woman standing in a meadow")
    assert plain.decision == "allow"
    tricky = screener.screen_prompt("a woman standing in a meadow", negative_prompt="clothes, clothing, dressed")
    assert tricky.category("sexual").action == "review"
    assert tricky.decision == "review"
    # A protective negative prompt is not held against the user.
    safe = screener.screen_prompt("a woman standing in a meadow", negative_prompt="nudity, gore, blood")
    assert safe.decision == "allow"
