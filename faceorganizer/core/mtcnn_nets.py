"""MTCNN's three networks (P-, R-, O-Net) and the weight files facenet-pytorch ships for them.

The layers and the parameter names are those of facenet-pytorch's ``PNet``/``RNet``/``ONet`` so
its ``data/{pnet,rnet,onet}.pt`` state dicts load strictly. The files are found through the
package's install location, without importing ``facenet_pytorch``: importing it loads
torchvision, which the CPU-only desktop bundle cannot carry beside its torch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

WEIGHTS_PACKAGE = "facenet_pytorch"
WEIGHT_FILES = {"pnet": "pnet.pt", "rnet": "rnet.pt", "onet": "onet.pt"}


class WeightsNotFoundError(FileNotFoundError):
    """MTCNN's weight files are missing (facenet-pytorch not installed?)."""


def weights_dir() -> Path:
    """The folder holding ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` (facenet-pytorch's data)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "data"
        if all((folder / name).is_file() for name in WEIGHT_FILES.values()):
            return folder
    raise WeightsNotFoundError(
        "the face detector's weights (facenet-pytorch's data/pnet.pt, rnet.pt, onet.pt) are "
        "missing: install facenet-pytorch"
    )


class PNet(nn.Module):
    """Proposal net: fully convolutional, 12x12 windows at stride 2.

    ``forward`` returns (box offsets (N, 4, h, w), face probability (N, h, w)).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        logits = self.conv4_1(x)
        # softmax of two classes, as a sigmoid: the same value at a fraction of the cost on
        # the big first pyramid levels
        prob = torch.sigmoid(logits[:, 1] - logits[:, 0])
        return self.conv4_2(x), prob


class RNet(nn.Module):
    """Refinement net on 24x24 crops: (box offsets (N, 4), face probability (N,))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)  # the trained (Caffe) layout
        x = self.prelu4(self.dense4(x))
        prob = torch.softmax(self.dense5_1(x), dim=1)[:, 1]
        return self.dense5_2(x), prob


class ONet(nn.Module):
    """Output net on 48x48 crops: (box offsets (N, 4), landmarks (N, 10), probability (N,)).

    Landmarks are relative to the crop: x of the five points, then y of the five points.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
        x = self.prelu5(self.dense5(x))
        prob = torch.softmax(self.dense6_1(x), dim=1)[:, 1]
        return self.dense6_2(x), self.dense6_3(x), prob


def load_nets(
    device: torch.device | str = "cpu", folder: Path | None = None
) -> tuple[PNet, RNet, ONet]:
    """The three networks with their weights (read as tensors only), in eval mode on ``device``,
    channels-last: on the CPU that halves P-Net's time (its max-pool most) and R-/O-Net's more."""
    folder = folder or weights_dir()
    nets = (PNet(), RNet(), ONet())
    for net, name in zip(nets, WEIGHT_FILES.values(), strict=True):
        state = torch.load(folder / name, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
        net.to(device).to(memory_format=torch.channels_last).eval()
        for p in net.parameters():
            p.requires_grad_(False)
    return nets
