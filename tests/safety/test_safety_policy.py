"""Policy files: strict validation with reasons, content-hash versions, hot reload."""

import os
import shutil
from pathlib import Path

import pytest
import yaml

from policies import DEFAULT_POLICY_PATH, POLICY_DIR
from safety import PolicyError, PolicyStore, Screener, load_policy

REQUIRED_CATEGORIES = {
    "sexual",
    "sexual_minors",
    "real_person_likeness",
    "violence_gore",
    "self_harm",
    "hate_extremism",
    "misinformation",
}


def write_small_policy(root: Path, **overrides) -> Path:
    """A minimal valid policy: one category, four required languages."""
    main = {
        "schema_version": 1,
        "name": "small",
        "languages": {
            "required": ["en", "fr", "es", "de"],
            "files": {lang: f"terms_{lang}.yaml" for lang in ("en", "fr", "es", "de")},
        },
        "categories": {
            "sexual": {
                "description": "Sexual content.",
                "action": "block",
                "clip": {"descriptions": ["a nude photo"]},
                "rules": [{"when": ["nudity"], "score": 0.9}],
                "signals": {"lexical": {"trigger": 0.8, "review": 0.5}},
            }
        },
    }
    main.update(overrides)
    root.mkdir(parents=True, exist_ok=True)
    words = {"en": "naked", "fr": "nu", "es": "desnudo", "de": "nackt"}
    for lang, word in words.items():
        (root / f"terms_{lang}.yaml").write_text(yaml.safe_dump({"language": lang, "groups": {"nudity": [word]}}))
    path = root / "policy.yaml"
    path.write_text(yaml.safe_dump(main, sort_keys=False))
    return path


def copy_default(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target / "default.yaml"


def touch_later(path: Path) -> None:
    """Give an edited file a distinct mtime even on coarse-grained filesystems."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_default_policy_has_the_required_categories(policy):
    assert set(policy.categories) >= REQUIRED_CATEGORIES
    assert {"en", "fr", "es", "de"} <= set(policy.languages)
    for category in policy.categories.values():
        assert category.description
        # Every category CLIP scores has descriptions; the language-coverage one has no CLIP signal.
        assert bool(category.clip_descriptions) == bool({"clip_text", "clip_image"} & set(category.signals))
        assert category.action in ("block", "review", "allow_with_label", "allow")
    assert policy.categories["real_person_likeness"].signals["face"].action == "review"
    assert len(policy.version) == 16 and policy.digest.startswith(policy.version)


def test_policy_package_path_is_importable():
    assert DEFAULT_POLICY_PATH.name == "default.yaml" and DEFAULT_POLICY_PATH.is_file()


def test_version_is_a_content_hash(tmp_path):
    a = load_policy(write_small_policy(tmp_path / "a"))
    b = load_policy(write_small_policy(tmp_path / "b"))
    assert a.version == b.version  # same bytes, same version, wherever they live
    (tmp_path / "b" / "terms_de.yaml").write_text(yaml.safe_dump({"language": "de", "groups": {"nudity": ["nackte"]}}))
    assert load_policy(tmp_path / "b" / "policy.yaml").version != a.version  # any referenced file counts


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"schema_version": 2}, "schema_version"),
        ({"colour": "red"}, "unknown key"),
        ({"default_decision": "block"}, "default_decision"),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "ban",
                        "clip": {"descriptions": ["x"]},
                        "signals": {"lexical": {"trigger": 0.8}},
                    }
                }
            },
            "action must be one of",
        ),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "block",
                        "clip": {"descriptions": ["x"]},
                        "signals": {"lexical": {"trigger": 0.5, "review": 0.7}},
                    }
                }
            },
            "above the trigger",
        ),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "block",
                        "clip": {"descriptions": ["x"]},
                        "signals": {"lexical": {"trigger": 1.5}},
                    }
                }
            },
            "between 0 and 1",
        ),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "block",
                        "clip": {"descriptions": ["x"]},
                        "signals": {"sonar": {"trigger": 0.5}},
                    }
                }
            },
            "unknown key",
        ),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "block",
                        "clip": {"descriptions": ["x"]},
                        "rules": [{"when": ["nudity"], "score": 0.9}],
                        "signals": {"nsfw": {"trigger": 0.5}},
                    }
                }
            },
            "no 'lexical' thresholds",
        ),
        (
            {
                "categories": {
                    "sexual": {
                        "description": "x",
                        "action": "block",
                        "clip": {"descriptions": ["x"]},
                        "rules": [{"when": ["nudity", "art"], "score": 0.9}],
                        "signals": {"lexical": {"trigger": 0.5}},
                    }
                }
            },
            "which no term file defines",
        ),
        ({"languages": {"required": ["en", "it"], "files": {"en": "terms_en.yaml"}}}, "required language"),
        ({"output_screening": {"sample_frames": 0}}, "sample_frames"),
        ({"output_screening": {"signals": ["lexical"]}}, "not image signals"),
    ],
)
def test_invalid_policies_are_rejected_with_a_reason(tmp_path, overrides, message):
    path = write_small_policy(tmp_path, **overrides)
    with pytest.raises(PolicyError, match=message) as info:
        load_policy(path)
    assert str(path.parent) in str(info.value)  # says which file


def test_term_file_problems_name_the_file_and_place(tmp_path):
    path = write_small_policy(tmp_path)
    (tmp_path / "terms_fr.yaml").write_text("language: fr\ngroups:\n  nudity: [nu]\n  nudty: [nue]\n")
    with pytest.raises(PolicyError, match=r"terms_fr.yaml: groups.nudty: no rule .* uses this group"):
        load_policy(path)
    (tmp_path / "terms_fr.yaml").write_text("language: fr\ngroups:\n  nudity: [nu, no]\n")
    with pytest.raises(PolicyError, match=r"groups.nudity\[1\]: YAML read False as a boolean"):
        load_policy(path)
    (tmp_path / "terms_fr.yaml").write_text("language: fr\ngroups:\n  nudity: [nu]\n  nudity: [nue]\n")
    with pytest.raises(PolicyError, match="duplicate key"):
        load_policy(path)
    (tmp_path / "terms_fr.yaml").write_text("language: fr\ngroups:\n  nudity: ['nu*de']\n")
    with pytest.raises(PolicyError, match=r"groups.nudity\[0\]"):
        load_policy(path)
    (tmp_path / "terms_fr.yaml").unlink()
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(path)


def test_store_hot_reloads_on_change_and_keeps_the_old_policy_on_error(tmp_path):
    path = write_small_policy(tmp_path)
    store = PolicyStore(path, check_interval=0)
    screener = Screener(store)
    v1 = store.current.version
    assert screener.screen_prompt("naked man").decision == "block"

    # A valid edit takes effect on the next screening, without restart.
    doc = yaml.safe_load(path.read_text())
    doc["categories"]["sexual"]["action"] = "review"
    path.write_text(yaml.safe_dump(doc))
    touch_later(path)
    assert screener.screen_prompt("naked man").decision == "review"
    assert store.current.version != v1 and store.reloads == 1
    v2 = store.current.version

    # A broken edit is refused: the previous policy stays in force and the error is kept.
    path.write_text("schema_version: 1\nname: [broken\n")
    touch_later(path)
    assert screener.screen_prompt("naked man").decision == "review"
    assert store.current.version == v2
    assert "YAML error" in str(store.last_error)
    assert store.status()["last_error"]

    # An explicit reload raises the reason, still keeping the old policy.
    with pytest.raises(PolicyError):
        store.reload()
    assert store.current.version == v2

    # Fixing the file clears the error.
    path.write_text(yaml.safe_dump(doc))
    touch_later(path)
    assert store.current.version == v2
    assert store.last_error is None


def test_store_watches_referenced_term_files(tmp_path):
    path = write_small_policy(tmp_path)
    store = PolicyStore(path, check_interval=0)
    screener = Screener(store)
    assert screener.screen_prompt("ein unbekleideter Mann").decision == "allow"
    terms = tmp_path / "terms_de.yaml"
    terms.write_text(yaml.safe_dump({"language": "de", "groups": {"nudity": ["nackt", "unbekleidet"]}}))
    touch_later(terms)
    assert screener.screen_prompt("ein unbekleideter Mann").decision == "block"


def test_store_checks_are_cheap_between_intervals(tmp_path):
    path = write_small_policy(tmp_path)
    clock = [0.0]
    store = PolicyStore(path, check_interval=5, clock=lambda: clock[0])
    doc = yaml.safe_load(path.read_text())
    doc["name"] = "renamed"
    path.write_text(yaml.safe_dump(doc))
    touch_later(path)
    assert store.current.name == "small"  # not rechecked before the interval
    clock[0] = 6.0
    assert store.current.name == "renamed"


def test_default_policy_copy_loads_with_the_same_version(tmp_path, policy):
    assert load_policy(copy_default(tmp_path)).version == policy.version


def test_store_rejects_a_bad_initial_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    with pytest.raises(PolicyError, match="missing required key"):
        PolicyStore(bad)
