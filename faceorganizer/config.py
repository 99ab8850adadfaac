"""Every setting of the app, declared once: name, type, default, scope and what it does.

Library settings live in the library file (``storage.settings``) and travel with it; machine
settings belong to this computer (the desktop app keeps them in its QSettings, the command line
takes them as options whose defaults come from here). Readers never repeat a default: they ask
``default(name)`` or the store, which falls back to the declaration. This module imports nothing
of the app, so every layer may read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Scope = Literal["library", "machine"]

DEFAULT_MODEL_ID = "dlib-sface-fusion"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# The largest weights file the app uses (FaceNet VGGFace2) is 112 MB; an imported file above this
# is not model weights and is refused before a byte is copied.
MODEL_WEIGHTS_MAX_BYTES = 1 << 30


class SettingError(ValueError):
    """A value that does not fit its setting; the message says what would."""


@dataclass(frozen=True)
class Setting:
    """One declared setting. ``kind`` is the Python type of a value (None is allowed only when
    ``optional``); ``minimum``/``maximum`` bound numbers; ``choices`` bound strings."""

    name: str
    kind: type
    default: Any
    scope: Scope
    description: str
    optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """``value`` converted to this setting's type, or SettingError."""
        if value is None:
            if self.optional:
                return None
            raise SettingError(f"{self.name} needs a value")
        try:
            if self.kind is bool:
                if isinstance(value, str):
                    value = value.strip().lower() in ("1", "true", "yes", "on")
                converted: Any = bool(value)
            elif self.kind is list:
                if not isinstance(value, (list, tuple)):
                    raise TypeError
                converted = list(value)
            else:
                converted = self.kind(value)
        except (TypeError, ValueError):
            raise SettingError(
                f"{self.name} must be a {self.kind.__name__}, not {value!r}"
            ) from None
        if isinstance(converted, float) and not math.isfinite(converted):
            raise SettingError(f"{self.name} must be a finite number")
        if self.minimum is not None and converted < self.minimum:
            raise SettingError(f"{self.name} must be at least {self.minimum:g}")
        if self.maximum is not None and converted > self.maximum:
            raise SettingError(f"{self.name} must be at most {self.maximum:g}")
        if self.choices is not None and converted not in self.choices:
            raise SettingError(f"{self.name} must be one of {', '.join(self.choices)}")
        return converted


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "model_id",
            str,
            DEFAULT_MODEL_ID,
            "library",
            "the face recognition model whose embeddings the library holds",
        ),
        Setting(
            "threshold_percent",
            float,
            65.0,
            "library",
            "similar faces at or above this percentage count as the same person (search default)",
            minimum=0.0,
            maximum=100.0,
        ),
        Setting(
            "min_face_size",
            int,
            None,
            "library",
            "faces smaller than this (pixels of the detection image) are ignored; None: automatic",
            optional=True,
            minimum=0,
            maximum=400,
        ),
        Setting(
            "quality_bar",
            float,
            0.5,
            "library",
            "faces whose quality (0..1) is below this are kept and searchable, but never grouped,"
            " asked about or shown at a high percentage automatically (0.5: the fitted bar)",
            minimum=0.0,
            maximum=1.0,
        ),
        Setting("folders", list, [], "library", "the photo folders the library scans"),
        Setting(
            "xmp_import_on_scan",
            bool,
            True,
            "library",
            "read face names from XMP (photo.jpg.xmp, photo.xmp and the photo) on every scan",
        ),
        Setting(
            "xmp_write_sidecars",
            bool,
            False,
            "library",
            "keep XMP sidecars (photo.jpg.xmp) up to date with face names after every edit",
        ),
        Setting(
            "device",
            str,
            "auto",
            "machine",
            "where the models run: auto (a GPU when there is one), cpu, cuda or mps",
            choices=DEVICE_CHOICES,
        ),
        Setting(
            "ray_address",
            str,
            None,
            "machine",
            "scan on the Ray cluster at this address (HOST:PORT, ray://HOST:PORT or auto; "
            "needs faceorganizer[cluster]); None: on this computer",
            optional=True,
        ),
        Setting(
            "ray_path_map",
            str,
            "",
            "machine",
            "where the Ray workers find the photos: SRC=DST pairs separated by ';' (a folder "
            "here, the same folder on the workers); a photo they cannot open is sent as bytes",
        ),
        Setting(
            "watch_folders",
            bool,
            True,
            "machine",
            "scan the library's folders when photos are added to them",
        ),
        Setting(
            "library",
            str,
            None,
            "machine",
            "the library the desktop app opened last (None: the default library)",
            optional=True,
        ),
    )
}


def setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise SettingError(f"unknown setting {name!r}") from None


def default(name: str) -> Any:
    """The declared default (a fresh copy for mutable values)."""
    value = setting(name).default
    return list(value) if isinstance(value, list) else value


def of_scope(scope: Scope) -> list[Setting]:
    return [s for s in SETTINGS.values() if s.scope == scope]
