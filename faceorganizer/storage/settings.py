"""Library settings: JSON values by key (model id, thresholds, folders)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

DEFAULTS: dict[str, Any] = {
    "model_id": "dlib-resnet-v1",
    "threshold_percent": 65.0,
    "min_face_size": None,
    "folders": [],
}


def get_all(db: Database) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for key, value in db.execute("SELECT key, value FROM settings").fetchall():
        values[key] = json.loads(value)
    return values


def get(db: Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    if row is None:
        return DEFAULTS.get(key, default)
    return json.loads(row[0])


def put(db: Database, key: str, value: Any) -> None:
    db.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )
