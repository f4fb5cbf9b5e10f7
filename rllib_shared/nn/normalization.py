"""Running statistics: of the live agents' observations (input normalisation)
and of value targets (value normalisation)."""

from __future__ import annotations

import math

import torch
from torch import nn


class RunningNorm(nn.Module):
    """Standardises every input feature by running mean and variance, then clips.

    Statistics are buffers (saved in checkpoints, synced to env runners with
    the weights) and change only when ``forward(..., update=True)`` is called
    (training passes). Only live agents' rows count; dead rows come out 0.
    Batches merge by Chan et al.'s parallel variance update, so the result
    equals the variance of everything seen so far.

    Example:
        >>> norm = RunningNorm(2)
        >>> x = torch.tensor([[[1.0, 10.0], [3.0, 10.0]]])
        >>> norm(x, torch.ones(1, 2, dtype=torch.bool), update=True)
        tensor([[[-1.,  0.],
                 [ 1.,  0.]]])
    """

    def __init__(self, features: int, *, clip: float = 5.0, eps: float = 1e-8):
        super().__init__()
        self.clip = clip
        self.eps = eps
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("var", torch.ones(features))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def _update(self, rows: torch.Tensor) -> None:
        """Shapes: rows ``(M, F)``."""
        if rows.shape[0] == 0:
            return
        batch_count = rows.shape[0]
        batch_mean = rows.mean(0)
        batch_var = rows.var(0, unbiased=False)
        total = self.count + batch_count
        delta = batch_mean - self.mean
        weight = (batch_count / total).to(rows.dtype)
        m2 = self.var * self.count.to(rows.dtype) + batch_var * batch_count
        m2 = m2 + delta.pow(2) * (self.count * batch_count / total).to(rows.dtype)
        self.mean += delta * weight
        self.var.copy_(m2 / total.to(rows.dtype))
        self.count.copy_(total)

    def forward(self, x: torch.Tensor, alive: torch.Tensor, *, update: bool = False) -> torch.Tensor:
        """Shapes: x ``(*B, n, F)``, alive ``(*B, n)`` bool -> ``(*B, n, F)``."""
        alive = alive.bool()
        if update:
            self._update(x[alive])
        scaled = (x - self.mean) / torch.sqrt(self.var + self.eps)
        return scaled.clamp(-self.clip, self.clip) * alive.unsqueeze(-1).to(x.dtype)


class ValueNorm(RunningNorm):
    """Running mean and variance of value targets: MAPPO's value normalisation.

    The critic's head learns values in units of the targets' running standard
    deviation; :meth:`denormalize` turns its output back into returns, and the
    value loss divides the error by :attr:`std` (the same as comparing the
    head's output with normalised targets). Statistics change only through
    :meth:`observe`, which PPO's learner calls once per train batch with the
    value targets of the live agent-steps, before the update.

    Example:
        >>> norm = ValueNorm()
        >>> norm.observe(torch.tensor([[-2.0, -4.0], [-6.0, 0.0]]), torch.tensor([[True, True], [True, False]]))
        >>> float(norm.mean), round(float(norm.std), 3), round(float(norm.denormalize(torch.tensor(1.0))), 3)
        (-4.0, 1.633, -2.367)
    """

    def __init__(self, *, eps: float = 1e-8):
        super().__init__(1, clip=math.inf, eps=eps)

    def observe(self, targets: torch.Tensor, mask: torch.Tensor) -> None:
        """Shapes: targets ``(*B, n)``, mask ``(*B, n)`` bool (the agent-steps that count)."""
        self._update(targets[mask.bool()].reshape(-1, 1).to(self.mean.dtype))

    @property
    def std(self) -> torch.Tensor:
        """``()``: the targets' running standard deviation."""
        return torch.sqrt(self.var[0] + self.eps)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Shapes: any -> the same; the head's output in units of the targets."""
        return x * self.std + self.mean[0]
