"""Named public figures: full names, aliases, partial names, titles, case and accents."""

from pathlib import Path

import pytest
import yaml

from safety.normalize import normalize_text
from safety.persons import parse_public_figures
from safety.policy import PolicyError, load_policy


def names(policy, text):
    tokens = normalize_text(text, policy.vocabulary).tokens
    return {m.name for m in policy.figures.find(tokens)}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Emmanuel Macron at a rally", "Emmanuel Macron"),
        ("emmanuel MACRON", "Emmanuel Macron"),
        ("Macron dansant", "Emmanuel Macron"),  # unambiguous surname alone
        ("le pape François bénit la foule", "Pope Francis"),
        ("Papst Franziskus", "Pope Francis"),
        ("Kanzler Scholz spricht", "Olaf Scholz"),  # title + surname
        ("President Biden", "Joe Biden"),
        ("Angela Merkels Rede", "Angela Merkel"),  # German genitive
        ("Marine Le Pen's speech", "Marine Le Pen"),
        ("Jean-Luc Melenchon", "Jean-Luc Mélenchon"),  # accents optional
        ("kylian mbappe", "Kylian Mbappé"),
        ("Recep Tayyip Erdogan", "Recep Tayyip Erdoğan"),
        ("Selenskyj in Kyiv", "Volodymyr Zelensky"),  # German spelling
        ("Poutine et Macron", "Vladimir Putin"),  # French spelling
        ("Trump at a golf course", "Donald Trump"),
        ("0bama eating a burger", "Barack Obama"),  # leetspeak in names
        ("Dalai Lama", "Dalai Lama"),
    ],
)
def test_figures_are_found(policy, text, expected):
    assert expected in names(policy, text)


@pytest.mark.parametrize(
    "text",
    [
        "a magician reveals the trump card",  # capitalised-only surname
        "a Paris street café",
        "Jordan river valley",
        "a bush in the garden",
        "une poutine au fromage",  # the Quebec dish, lower case
        "a drake swimming in a pond",  # the duck
        "un bono de descuento",
        "the king of the jungle",
        "a queen bee in a hive",
    ],
)
def test_ordinary_words_are_not_people(policy, text):
    assert names(policy, text) == set()


def test_surname_needs_a_title_when_ambiguous(policy):
    assert "Pedro Sánchez" not in names(policy, "Sánchez y sus amigos")
    assert "Pedro Sánchez" in names(policy, "el presidente Sánchez")


def test_list_is_substantial_and_international(policy):
    figures = policy.figures.figures
    assert len(figures) >= 300
    assert len({f.country for f in figures}) >= 60
    roles = {f.role for f in figures}
    assert {"head_of_state", "head_of_government", "politician", "celebrity", "athlete", "religious_leader"} <= roles


def test_screening_blocks_named_people_with_evidence(screener):
    result = screener.screen_prompt("Angela Merkel crying in a courtroom")
    assert result.decision == "block"
    category = result.category("real_person_likeness")
    assert category.triggered and "persons" in category.signals
    assert any(e.kind == "name" and "Angela Merkel" in e.detail for e in category.evidence)


def _copy_policy(tmp_path: Path) -> Path:
    import shutil

    from policies import POLICY_DIR

    target = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target / "default.yaml"


def test_list_is_extendable(tmp_path):
    main = _copy_policy(tmp_path)
    figures_file = main.parent / "public_figures.yaml"
    data = yaml.safe_load(figures_file.read_text())
    data["figures"].append({"name": "Zorblax Quintavalle", "role": "politician", "country": "IT", "alone": True})
    figures_file.write_text(yaml.safe_dump(data, allow_unicode=True))
    policy = load_policy(main)
    assert names(policy, "Quintavalle giving a speech") == {"Zorblax Quintavalle"}


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "X Y", "role": "wizard", "country": "FR"}, "role 'wizard'"),
        ({"name": "X Y", "role": "politician", "country": False}, "country"),
        ({"name": "X Y", "role": "politician", "country": "FR", "alone": "maybe"}, "'alone'"),
        ({"name": "X Y", "role": "politician", "country": "FR", "nickname": "x"}, "unknown key"),
    ],
)
def test_bad_entries_are_rejected_with_reason(entry, message):
    with pytest.raises(ValueError, match=message):
        parse_public_figures({"titles": {}, "figures": [entry]}, "figures.yaml")


def test_duplicate_figure_is_rejected(tmp_path):
    main = _copy_policy(tmp_path)
    figures_file = main.parent / "public_figures.yaml"
    figures_file.write_text(figures_file.read_text() + "  - {name: Emmanuel Macron, role: politician, country: FR}\n")
    with pytest.raises(PolicyError, match="listed twice"):
        load_policy(main)
