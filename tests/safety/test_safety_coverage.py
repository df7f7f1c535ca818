"""Issue 10: prompts in languages no signal reads are held; languages with term lists are read."""

from __future__ import annotations

import shutil

import pytest

from policies import DEFAULT_POLICY_PATH
from safety import Screener, load_policy
from safety.language_id import Coverage, LanguageIdentifier, run_language, scripts_in


def _flagged(result, category):
    return next((c for c in result.categories if c.category == category and c.flagged), None)


@pytest.mark.parametrize(
    "prompt",
    [
        "Ένα ψαροκάικο στο λιμάνι το ηλιοβασίλεμα",  # Greek: a script no term list reads
        "חתול ישן על אדן החלון",  # Hebrew
        "ตลาดน้ำในกรุงเทพตอนเช้า",  # Thai
        "En gammal fyr vid havet under en stjärnklar natt",  # Swedish: Latin script, no term list
        "Kaunis järvi ja metsä kesäaamuna",  # Finnish
    ],
)
def test_unread_languages_are_held_with_the_reason(screener, prompt):
    result = screener.screen_prompt(prompt)
    assert result.decision == "review"
    held = _flagged(result, "unscreened_language")
    assert held is not None and held.signals == ["language"]
    assert any(
        (e.kind in ("script", "language") and "not read" in e.detail) or "no term list" in e.detail
        for e in held.evidence
    )


@pytest.mark.parametrize(
    "prompt",
    [
        "A stone bridge over a river in autumn",  # short English the n-gram pass misreads
        "Kendo practitioners sparring in a dojo",
        "Ein alter Leuchtturm an der Küste",
        "Кошка спит на подоконнике зимой",
        "Bocian stoi w gnieździe na dachu stodoły",
        "Kapadokya'da sıcak hava balonları",
        "猫がこたつで寝ている",
        "熊猫在竹林里吃竹子",
        "할머니가 김치를 담그는 모습",
        "एक रसोइया तंदूर में रोटी बना रहा है",
        "طاهٍ يحضر الكبسة في مطبخ تقليدي",
    ],
)
def test_covered_languages_are_not_held(screener, prompt):
    result = screener.screen_prompt(prompt)
    assert _flagged(result, "unscreened_language") is None, result.categories
    assert result.decision == "allow"


def test_the_action_for_unread_prompts_is_a_policy_setting(tmp_path):
    folder = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_PATH.parent, folder)
    main = folder / DEFAULT_POLICY_PATH.name
    text = main.read_text(encoding="utf-8")
    marker = "  unscreened_language:\n"
    head, tail = text.split(marker)
    main.write_text(head + marker + tail.replace("    action: review", "    action: block", 1), encoding="utf-8")
    strict = Screener(load_policy(main))
    assert strict.screen_prompt("Ένα ψαροκάικο στο λιμάνι").decision == "block"
    assert strict.screen_prompt("A lighthouse in a storm").decision == "allow"


def test_without_an_unread_setting_the_signal_is_off(tmp_path):
    folder = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_PATH.parent, folder)
    main = folder / DEFAULT_POLICY_PATH.name
    text = main.read_text(encoding="utf-8")
    start = text.index("  unread:\n")
    end = text.index("\n\n", start)
    main.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    policy = load_policy(main)
    assert policy.unread_category is None
    assert "language" not in {s.name for s in Screener(policy).screen_prompt("Γυμνή").signals}


def test_script_check_runs_without_the_identifier():
    class NoLingua(LanguageIdentifier):
        def guess(self, text, top=3):
            return None

        def status(self):
            return False, "lingua-language-detector is not installed"

    coverage = Coverage(frozenset({"en", "ru"}))
    out = run_language(NoLingua(), "Ένα ψαροκάικο στο λιμάνι", coverage, ["unscreened_language"])
    assert out.hits and out.report.version.endswith("scripts-only+en.ru")
    assert not run_language(NoLingua(), "Кошка спит", coverage, ["unscreened_language"]).hits
    assert scripts_in("Tokyo 東京 とうきょう") == {"latin": 5, "han": 2, "hiragana": 5}


def test_health_lists_the_new_signals(screener):
    names = {s["name"]: s for s in screener.health()["signals"]}
    assert names["language"]["active"] and "lingua" in names["language"]["version"]
    assert names["names"]["active"]


@pytest.mark.parametrize(
    "prompt, category",
    [
        ("Голая женщина в душе, откровенно", "sexual"),
        ("Naga kobieta pod prysznicem", "sexual"),
        ("Een naakte vrouw in bed", "sexual"),
        ("Çıplak bir kadın yatakta", "sexual"),
        ("امرأة عارية في السرير", "sexual"),
        ("नग्न महिला बिस्तर पर", "sexual"),
        ("裸体女人在床上", "sexual"),  # no spaces: contains-matching
        ("ベッドの上の裸の女性", "sexual"),
        ("침대 위의 알몸 여성", "sexual"),
        ("Оголена жінка на ліжку", "sexual"),
        ("男の首を切り落とす", "violence_gore"),
        ("테러 조직 가입을 권유하는 선전 영상", "hate_extremism"),
    ],
)
def test_new_term_lists_are_read(screener, prompt, category):
    result = screener.screen_prompt(prompt)
    assert result.decision == "block" and _flagged(result, category) is not None, result.categories
