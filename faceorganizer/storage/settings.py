"""Library settings: JSON values by key, declared (type, default) in ``faceorganizer.config``."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from faceorganizer import config


def _library_setting(key: str) -> config.Setting:
    found = config.setting(key)
    if found.scope != "library":
        raise config.SettingError(f"{key} is a setting of this computer, not of a library")
    return found


def get_all(db: Database) -> dict[str, Any]:
    """Every library setting: stored values over the declared defaults."""
    values = {s.name: config.default(s.name) for s in config.of_scope("library")}
    for key, value in db.execute("SELECT key, value FROM settings").fetchall():
        if key in values:
            values[key] = json.loads(value)
    return values


def get(db: Database, key: str) -> Any:
    declared = _library_setting(key)
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    if row is None:
        return config.default(declared.name)
    return json.loads(row[0])


def put(db: Database, key: str, value: Any) -> None:
    """Store a checked value (SettingError when it does not fit the declaration)."""
    value = _library_setting(key).check(value)
    db.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )
