"""ResNet-18 backbones written for corrclust (torchvision is not a dependency).

The 2-D network follows the classic ResNet-18 design (He et al. 2016) with the same layer layout,
names and initialisation as torchvision's ``resnet18()``, so that a state dict trained here has the
familiar keys (``conv1``, ``bn1``, ``layer1.0.conv1``...). The 1-D network is the same design with
every 2-D operation replaced by its 1-D counterpart; the paper uses it on per-channel cumulative
histograms (3 x 65536).

Both networks end at the global average pool and return a flat (N, 512) feature; the classifier
``fc`` of the original design is not built, since the twin model puts its own Linear(512, 128) there.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock", "ResNet18", "resnet18_2d", "resnet18_1d", "FEATURE_DIM"]

FEATURE_DIM = 512  # output features of the standard network (width 64)
_STAGE_BLOCKS = (2, 2, 2, 2)


class _Ops:
    """The dimension-specific building blocks (2-D or 1-D)."""

    def __init__(self, dims: int) -> None:
        if dims == 2:
            self.conv: type[nn.Module] = nn.Conv2d
            self.bn: type[nn.Module] = nn.BatchNorm2d
            self.maxpool: type[nn.Module] = nn.MaxPool2d
            self.avgpool: type[nn.Module] = nn.AdaptiveAvgPool2d
        elif dims == 1:
            self.conv = nn.Conv1d
            self.bn = nn.BatchNorm1d
            self.maxpool = nn.MaxPool1d
            self.avgpool = nn.AdaptiveAvgPool1d
        else:
            raise ValueError(f"dims must be 1 or 2, got {dims}")
        self.dims = dims


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with batch norm and an identity (or 1-wide projection) shortcut."""

    expansion = 1

    def __init__(self, ops: _Ops, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ops.conv(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = ops.bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = ops.conv(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = ops.bn(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                ops.conv(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                ops.bn(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 feature extractor: stem, four stages of two BasicBlocks, global average pool.

    ``forward`` maps (N, C, H, W) (or (N, C, L) for ``dims=1``) to (N, 8 * width): (N, 512) for the
    standard ``width=64``. Smaller widths (stage widths w, 2w, 4w, 8w) give small networks for
    small data sets and quick tests.
    """

    def __init__(self, in_channels: int = 3, dims: int = 2, width: int = 64) -> None:
        super().__init__()
        if not 1 <= int(in_channels) <= 64:
            raise ValueError(f"in_channels must be between 1 and 64, got {in_channels}")
        if int(width) < 1:
            raise ValueError(f"width must be positive, got {width}")
        ops = _Ops(dims)
        self.in_channels = int(in_channels)
        self.dims = dims
        self.width = int(width)
        widths = tuple(self.width * f for f in (1, 2, 4, 8))
        self.out_features = widths[-1]
        self.conv1 = ops.conv(self.in_channels, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = ops.bn(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = ops.maxpool(kernel_size=3, stride=2, padding=1)
        in_planes = widths[0]
        stages = []
        for index, (width_i, blocks) in enumerate(zip(widths, _STAGE_BLOCKS, strict=False)):
            stride = 1 if index == 0 else 2
            layer = []
            for b in range(blocks):
                layer.append(BasicBlock(ops, in_planes, width_i, stride if b == 0 else 1))
                in_planes = width_i
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = ops.avgpool(1)
        self.flatten = nn.Flatten(1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation: Kaiming-normal (fan_out, ReLU) convolutions, BN at (1, 0)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.flatten(self.avgpool(x))


def resnet18_2d(in_channels: int = 3, width: int = 64) -> ResNet18:
    """ResNet-18 for images (N, C, H, W) -> (N, 512), random initialisation."""
    return ResNet18(in_channels, dims=2, width=width)


def resnet18_1d(in_channels: int = 3, width: int = 64) -> ResNet18:
    """ResNet-18 with 1-D operations, for signals such as histograms (N, C, L) -> (N, 512)."""
    return ResNet18(in_channels, dims=1, width=width)
