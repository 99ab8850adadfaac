"""FaceNet's Inception-ResNet-v1 embedding network, without torchvision or facenet-pytorch.

The desktop bundle's CPU-only torch cannot load torchvision, and ``import facenet_pytorch`` loads
it (the package imports its MTCNN module, and ``requests``), so the embedding network is ours.
Layers, attribute names and hyper-parameters are those of facenet-pytorch's
``InceptionResnetV1`` (itself a port of David Sandberg's TensorFlow FaceNet): its released state
dicts (``20180402-114759-vggface2.pt``, ``20180408-102900-casia-webface.pt``) load strictly, less
the ``logits.*`` classifier head over the training identities, which embeddings never use.

160x160 input: stem (conv 3x3/2 32, 3x3 32, 3x3 64, max-pool 3x3/2, 1x1 80, 3x3 192, 3x3/2 256),
5 x Block35 (scale 0.17), Mixed_6a, 10 x Block17 (0.10), Mixed_7a, 5 x Block8 (0.20), a last
Block8 without relu, global average, linear 1792->512 without bias, batch norm, L2
normalisation (facenet-pytorch's dropout before the linear layer has no weights and does nothing
at inference: left out). Every conv is bias-free, followed by batch norm (eps 0.001) and
relu, except each residual block's 1x1 up-projection (with bias, no norm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

EMBEDDING_DIMS = 512
BN_EPS = 0.001  # TensorFlow's value, as the weights were trained


class BasicConv2d(nn.Module):
    """Conv (no bias), batch norm, relu."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class _Residual(nn.Module):
    """Inception-ResNet block: branches concatenated, a 1x1 conv back to the input's channels,
    scaled and added to the input, then relu (unless ``relu`` is False: the last Block8).
    Subclasses make their branches before ``_merge`` so the state dict keys come in
    facenet-pytorch's order."""

    branches: tuple[str, ...]

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def _merge(self, concat: int, channels: int, relu: bool = True) -> None:
        self.conv2d = nn.Conv2d(concat, channels, kernel_size=1)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([getattr(self, name)(x) for name in self.branches], 1)
        out = self.conv2d(out).mul_(self.scale).add_(x)
        return F.relu(out, inplace=True) if self.relu else out


class Block35(_Residual):
    """35x35 grid (17x17 at 160 px input), 256 channels."""

    branches = ("branch0", "branch1", "branch2")

    def __init__(self, scale: float) -> None:
        super().__init__(scale)
        self.branch0 = BasicConv2d(256, 32, 1)
        self.branch1 = nn.Sequential(BasicConv2d(256, 32, 1), BasicConv2d(32, 32, 3, padding=1))
        self.branch2 = nn.Sequential(
            BasicConv2d(256, 32, 1),
            BasicConv2d(32, 32, 3, padding=1),
            BasicConv2d(32, 32, 3, padding=1),
        )
        self._merge(96, 256)


class Block17(_Residual):
    """17x17 grid (8x8 at 160 px input), 896 channels; factorised 1x7 / 7x1 convs."""

    branches = ("branch0", "branch1")

    def __init__(self, scale: float) -> None:
        super().__init__(scale)
        self.branch0 = BasicConv2d(896, 128, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(896, 128, 1),
            BasicConv2d(128, 128, (1, 7), padding=(0, 3)),
            BasicConv2d(128, 128, (7, 1), padding=(3, 0)),
        )
        self._merge(256, 896)


class Block8(_Residual):
    """8x8 grid (3x3 at 160 px input), 1792 channels; factorised 1x3 / 3x1 convs."""

    branches = ("branch0", "branch1")

    def __init__(self, scale: float = 1.0, relu: bool = True) -> None:
        super().__init__(scale)
        self.branch0 = BasicConv2d(1792, 192, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(1792, 192, 1),
            BasicConv2d(192, 192, (1, 3), padding=(0, 1)),
            BasicConv2d(192, 192, (3, 1), padding=(1, 0)),
        )
        self._merge(384, 1792, relu)


class _Reduction(nn.Module):
    """Grid reduction: strided branches and a 3x3/2 max-pool, concatenated."""

    branches: tuple[str, ...]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([getattr(self, name)(x) for name in self.branches], 1)


class Mixed6a(_Reduction):
    """256 -> 896 channels (384 + 256 + the 256 pooled)."""

    branches = ("branch0", "branch1", "branch2")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(256, 384, 3, stride=2)
        self.branch1 = nn.Sequential(
            BasicConv2d(256, 192, 1),
            BasicConv2d(192, 192, 3, padding=1),
            BasicConv2d(192, 256, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)


class Mixed7a(_Reduction):
    """896 -> 1792 channels (384 + 256 + 256 + the 896 pooled)."""

    branches = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(BasicConv2d(896, 256, 1), BasicConv2d(256, 384, 3, stride=2))
        self.branch1 = nn.Sequential(BasicConv2d(896, 256, 1), BasicConv2d(256, 256, 3, stride=2))
        self.branch2 = nn.Sequential(
            BasicConv2d(896, 256, 1),
            BasicConv2d(256, 256, 3, padding=1),
            BasicConv2d(256, 256, 3, stride=2),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)


class InceptionResnetV1(nn.Module):
    """The embedding network: (N, 3, 160, 160) standardised chips -> (N, 512) unit rows.

    Its ``state_dict`` has the keys and shapes of facenet-pytorch's ``InceptionResnetV1(
    classify=False)``. Build it under ``torch.device("meta")`` and load with ``assign=True`` to
    take a loaded state dict's tensors without copies.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, stride=2)
        self.conv2d_2a = BasicConv2d(32, 32, 3)
        self.conv2d_2b = BasicConv2d(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(64, 80, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3)
        self.conv2d_4b = BasicConv2d(192, 256, 3, stride=2)
        self.repeat_1 = nn.Sequential(*(Block35(scale=0.17) for _ in range(5)))
        self.mixed_6a = Mixed6a()
        self.repeat_2 = nn.Sequential(*(Block17(scale=0.10) for _ in range(10)))
        self.mixed_7a = Mixed7a()
        self.repeat_3 = nn.Sequential(*(Block8(scale=0.20) for _ in range(5)))
        self.block8 = Block8(relu=False)
        self.avgpool_1a = nn.AdaptiveAvgPool2d(1)
        self.last_linear = nn.Linear(1792, EMBEDDING_DIMS, bias=False)
        self.last_bn: nn.Module = nn.BatchNorm1d(EMBEDDING_DIMS, eps=BN_EPS)

    @torch.no_grad()
    def fold_batch_norms(self) -> InceptionResnetV1:
        """For inference only (eval mode, weights loaded): each batch norm folded into the conv
        or linear layer before it, as a scale of its weights and a bias. The same embeddings to
        float rounding, with one pass less over every activation. The state dict then no longer
        has the released file's keys."""
        if self.training:
            raise RuntimeError("fold_batch_norms needs eval mode")
        for module in self.modules():
            if isinstance(module, BasicConv2d) and isinstance(module.bn, nn.BatchNorm2d):
                module.conv = fuse_conv_bn_eval(module.conv, module.bn)
                module.bn = nn.Identity()
        if isinstance(self.last_bn, nn.BatchNorm1d):
            self.last_linear = fuse_linear_bn_eval(self.last_linear, self.last_bn)
            self.last_bn = nn.Identity()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2d_1a(x)
        x = self.conv2d_2a(x)
        x = self.conv2d_2b(x)
        x = self.maxpool_3a(x)
        x = self.conv2d_3b(x)
        x = self.conv2d_4a(x)
        x = self.conv2d_4b(x)
        x = self.repeat_1(x)
        x = self.mixed_6a(x)
        x = self.repeat_2(x)
        x = self.mixed_7a(x)
        x = self.repeat_3(x)
        x = self.block8(x)
        x = self.avgpool_1a(x).flatten(1)
        x = self.last_bn(self.last_linear(x))
        return F.normalize(x, p=2, dim=1)
