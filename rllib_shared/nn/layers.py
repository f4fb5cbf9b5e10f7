"""Dense layers with one set of weights per agent (BenchMARL's ``share_params: false``)."""

from __future__ import annotations

import math

import torch
from torch import nn


class AgentLinear(nn.Module):
    """A dense layer with weights of its own for each of ``agents`` agents.

    One batched op over the agent axis, no loop; each agent's slice starts as
    ``nn.Linear`` does (uniform within ``1/sqrt(in_features)``).

    >>> layer = AgentLinear(3, 4, 2)
    >>> layer(torch.zeros(7, 3, 4)).shape, layer.weight.shape
    (torch.Size([7, 3, 2]), torch.Size([3, 4, 2]))
    """

    def __init__(self, agents: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(agents, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(agents, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, agents, in_features)`` -> ``(*B, agents, out_features)``."""
        return torch.einsum("...ai,aio->...ao", x, self.weight) + self.bias
