"""Per-agent image encoders on team tensors.

A team tensor holds each agent's observation flattened, ``(*B, n, F)``;
:class:`ConvEncoder` restores every agent's image ``(H, W, C)`` (PettingZoo's
channels-last order, as flattened by the team layout), runs one stack of
convolutions over all agents at once with shared weights, and returns the
flattened feature maps per agent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

DEFAULT_CONV_FILTERS = ((16, 3, 1), (32, 3, 2))
"""``[out_channels, kernel, stride]`` per layer, RLlib's ``conv_filters`` format."""


def feature_map_sizes(image_shape: Sequence[int], conv_filters: Sequence[Sequence[int]]) -> list[int]:
    """Floats of each convolution's output for one image (no padding).

    >>> feature_map_sizes((13, 13, 5), [[16, 3, 1], [32, 3, 2]])
    [1936, 800]
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    sizes = []
    for out_channels, kernel, stride in conv_filters:
        height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
        sizes.append(out_channels * height * width)
    return sizes


class ConvEncoder(nn.Module):
    """Convolutions over each agent's image, shared by all agents.

    Example:
        >>> enc = ConvEncoder((13, 13, 5), [[16, 3, 1], [32, 3, 2]])
        >>> enc(torch.zeros(2, 4, 13 * 13 * 5)).shape, enc.out_features
        (torch.Size([2, 4, 800]), 800)
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        conv_filters: Sequence[Sequence[int]] = DEFAULT_CONV_FILTERS,
        activation: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        if len(image_shape) == 2:  # one channel
            image_shape = (*image_shape, 1)
        if len(image_shape) != 3:
            raise ValueError(f"a CNN encoder needs image observations (H, W, C), got shape {tuple(image_shape)}")
        self.image_shape = tuple(int(s) for s in image_shape)
        height, width, channels = self.image_shape
        layers: list[nn.Module] = []
        for out_channels, kernel, stride in conv_filters:
            if kernel > min(height, width):
                raise ValueError(
                    f"conv_filters: a {kernel}x{kernel} kernel does not fit a {height}x{width} feature map"
                )
            layers += [nn.Conv2d(channels, out_channels, kernel, stride), activation()]
            height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
            channels = out_channels
        self.convs = nn.Sequential(*layers)
        self.out_features = channels * height * width

    @property
    def in_features(self) -> int:
        return math.prod(self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n, H * W * C)`` -> ``(*B, n, out_features)``."""
        lead = x.shape[:-1]
        images = x.reshape(-1, *self.image_shape).permute(0, 3, 1, 2)  # (N, C, H, W)
        return self.convs(images).reshape(*lead, self.out_features)
