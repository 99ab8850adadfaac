"""Choosing the torch device the engine runs on."""

from __future__ import annotations

import torch

from faceorganizer.config import DEVICE_CHOICES


class DeviceUnavailableError(RuntimeError):
    """The user asked for a device this machine does not have."""


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto|cpu|cuda|mps`` to a usable device: auto tries cuda, then mps, then cpu."""
    name = (name or "auto").lower()
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise DeviceUnavailableError(f"unknown device {name!r}; choose one of {DEVICE_CHOICES}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailableError("CUDA was requested but no CUDA GPU is available")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceUnavailableError("MPS was requested but is not available on this machine")
    return torch.device(name)


def describe_devices() -> list[str]:
    """Human lines about the devices found, for `--version`, settings and logs."""
    lines = ["cpu"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            lines.append(f"cuda:{i} {torch.cuda.get_device_name(i)}")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        lines.append("mps")
    return lines
