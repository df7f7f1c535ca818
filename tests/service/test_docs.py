"""The operator's table of settings is the code's table of settings."""

from pathlib import Path

from service.settings import load_settings, settings_table

ROOT = Path(__file__).resolve().parents[2]


def test_operations_doc_lists_every_setting_as_the_code_defines_it():
    document = (ROOT / "docs" / "operations.md").read_text()
    assert settings_table() in document, "run `originframe settings --update-doc docs/operations.md`"


def test_settings_come_from_prefixed_environment_variables_with_clear_errors():
    settings = load_settings(
        environ={"ORIGINFRAME_MAX_FRAMES": "33", "ORIGINFRAME_EMBEDDED_WORKER": "false", "OTHER": "x"}
    )
    assert settings.max_frames == 33 and settings.embedded_worker is False
    import pytest

    with pytest.raises(ValueError, match="ORIGINFRAME_PORT='eighty'"):
        load_settings(environ={"ORIGINFRAME_PORT": "eighty"})
    with pytest.raises(ValueError, match="not a boolean"):
        load_settings(environ={"ORIGINFRAME_CPU_OFFLOAD": "maybe"})
