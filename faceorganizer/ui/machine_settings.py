"""This computer's settings (``faceorganizer.config``, scope "machine") kept in ``QSettings``.

Every read goes through the declaration: a missing or damaged value is the declared default, a
written value is checked first. Window geometry and dock layout are not settings but the window's
own state, kept beside them by the window.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSettings

from faceorganizer import config

log = logging.getLogger(__name__)


class MachineSettings:
    """Typed access to the machine settings in one ``QSettings`` store (GUI thread)."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    @staticmethod
    def _declared(name: str) -> config.Setting:
        found = config.setting(name)
        if found.scope != "machine":
            raise config.SettingError(f"{name} belongs to a library, not to this computer")
        return found

    def get(self, name: str) -> Any:
        declared = self._declared(name)
        raw = self.store.value(name)
        if raw is None or raw == "":
            return config.default(name)
        try:
            return declared.check(raw)
        except config.SettingError as exc:
            log.warning("ignoring the stored %s: %s", name, exc)
            return config.default(name)

    def set(self, name: str, value: Any) -> None:
        value = self._declared(name).check(value)
        if value is None:
            self.store.remove(name)
        else:
            self.store.setValue(name, value)
