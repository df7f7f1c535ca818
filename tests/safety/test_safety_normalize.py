"""Text normalisation undoes obfuscation, and only where it hides a word the policy knows."""

import pytest

from safety import normalize_text
from safety.normalize import fold_word


def words(policy, text):
    return normalize_text(text, policy.vocabulary).text


@pytest.mark.parametrize(
    "text, expected, trick",
    [
        ("ｎｕｄｅ woman", "nude woman", "compatibility_forms"),  # fullwidth
        ("n\u0430k\u0435d model", "naked model", "confusable_letters"),  # Cyrillic а, е
        ("\u0455\u0435\u0445 scene", "sex scene", "confusable_letters"),  # all-Cyrillic lookalikes
        ("nu\u200bde girl", "nude girl", "invisible_characters"),  # zero-width space
        ("n a k e d woman", "naked woman", "spaced_letters"),
        ("N.U.D.E photoshoot", "nude photoshoot", "punctuated_letters"),
        ("n-u-d-e woman", "nude woman", "punctuated_letters"),
        ("N_A_K_E_D selfie", "naked selfie", "punctuated_letters"),
        ("n4ked", "naked", "leetspeak"),
        ("s3xy p0rn0", "sexy porno", "leetspeak"),
        ("k1ll1ng civilians", "killing civilians", "leetspeak"),
        ("n*de girl", "nude girl", "masked_letters"),
        ("p*rn video", "porn video", "masked_letters"),
        ("chica desnud@", "chica desnuda", "leetspeak"),
        ("nu de beach", "nude beach", "split_word"),
    ],
)
def test_obfuscations_are_undone(policy, text, expected, trick):
    result = normalize_text(text, policy.vocabulary)
    assert result.text == expected
    assert trick in result.tricks


def test_case_and_diacritics_fold():
    assert fold_word("MÉLENCHON") == "melenchon"
    assert fold_word("Straße") == "strasse"
    assert fold_word("Łódź") == "lodz"
    assert fold_word("nüde") == "nude"


@pytest.mark.parametrize(
    "text",
    [
        "4k video of a 3d render at 60fps",  # digits in words stay digits
        "Sunset over the bay, John's ex-girlfriend waving",  # "s ex" must not become "sex"
        "u2 concert in 1987",
        "x y z blocks on a table",  # spaced letters that spell nothing
    ],
)
def test_harmless_text_is_not_rewritten(policy, text):
    result = normalize_text(text, policy.vocabulary)
    assert "sex" not in result.text.split()
    assert not result.tricks & {"leetspeak", "split_word", "spaced_letters", "masked_letters"}


def test_cyrillic_text_is_not_folded_to_latin(policy):
    result = normalize_text("Красная площадь зимой", policy.vocabulary)
    assert "confusable_letters" not in result.tricks
    assert result.tokens[0].text == "красная"


def test_tokens_keep_surface_and_capitalisation(policy):
    tokens = normalize_text("Marine Le Pen's speech", policy.vocabulary).tokens
    assert [t.text for t in tokens] == ["marine", "le", "pen", "s", "speech"]
    assert tokens[0].capitalized and not tokens[-1].capitalized
    assert tokens[3].spaced is False  # after an apostrophe


def test_without_vocabulary_only_safe_steps_run():
    assert normalize_text("ｎｕｄｅ   Straße").text == "nude strasse"
    assert normalize_text("s3xy").text == "s3xy"


def test_rejects_non_text():
    with pytest.raises(TypeError):
        normalize_text(b"bytes")  # type: ignore[arg-type]
