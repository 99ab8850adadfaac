"""Settings declared once: every reader and writer goes through the declaration."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from faceorganizer import config
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library

PACKAGE = Path(__file__).resolve().parents[1] / "faceorganizer"
REGISTRY = "core/models/registry.py"


def test_every_setting_is_declared_with_a_scope_and_a_description() -> None:
    for s in config.SETTINGS.values():
        assert s.scope in ("library", "machine") and s.description
        if s.default is not None:
            assert s.check(s.default) == s.default


def test_checks_convert_and_refuse() -> None:
    threshold = config.setting("threshold_percent")
    assert threshold.check("70") == 70.0
    for bad in (150, -5, float("nan"), "much"):
        with pytest.raises(config.SettingError):
            threshold.check(bad)
    assert config.setting("min_face_size").check(None) is None
    with pytest.raises(config.SettingError):
        config.setting("device").check("tpu")
    with pytest.raises(config.SettingError):
        config.setting("nope")


def test_library_settings_round_trip_and_refuse_bad_values(tmp_path) -> None:
    with Library.open(tmp_path / "l.sqlite3") as lib:
        assert lib.settings()["threshold_percent"] == config.default("threshold_percent")
        lib.set_setting("threshold_percent", 80)
        assert lib.settings()["threshold_percent"] == 80.0
        with pytest.raises(LibraryError, match="at most 100"):
            lib.set_setting("threshold_percent", 101)
        with pytest.raises(LibraryError, match="unknown model"):
            lib.set_setting("model_id", "no-such-model")
        with pytest.raises(LibraryError, match="setting of this computer"):
            lib.set_setting("device", "cpu")


def test_defaults_are_written_once() -> None:
    """No module repeats the default model id or the default threshold as a literal (the model
    table in the registry declares the model itself, under its id)."""
    offenders = []
    literals = (config.DEFAULT_MODEL_ID, config.default("threshold_percent"))
    for path in PACKAGE.rglob("*.py"):
        if path.name == "config.py" or path.relative_to(PACKAGE).as_posix() == REGISTRY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
            if value in literals and not isinstance(value, bool):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {value!r}")
    assert not offenders, offenders
