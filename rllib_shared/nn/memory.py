"""Memory over time: each agent's own LSTM or GRU state, carried between steps.

:class:`AgentMemory` runs on ``(*B, T, n, F)`` tensors: ``T`` steps of a
team of ``n`` agents, and every agent keeps its own hidden state ``(*B, n, H)``
from one step to the next. Weights are shared by the agents, or each agent's
own with ``agents`` (as :class:`~rllib_shared.nn.layers.AgentLinear`); either
way one step is two batched dense ops, never a loop over agents. The loop
over time is Python's: RLlib cuts training sequences to ``max_seq_len``
steps, and acting is one step at a time.

The gate equations are PyTorch's ``nn.LSTMCell`` / ``nn.GRUCell``.
"""

from __future__ import annotations

import torch
from torch import nn

from rllib_shared.errors import check_choice
from rllib_shared.nn.layers import AgentLinear

MEMORY_KINDS = ("none", "lstm", "gru")


class AgentMemory(nn.Module):
    """A recurrent memory per agent.

    Args:
        in_features: Features per agent and step going in.
        hidden: Size of each agent's hidden state (and of the output).
        kind: "lstm" (state ``h`` and ``c``) or "gru" (state ``h``).
        agents: Given, each of that many agents has weights of its own.

    Example:
        >>> memory = AgentMemory(in_features=8, hidden=16)
        >>> state = memory.initial_state(3)
        >>> out, state = memory(torch.zeros(5, 4, 3, 8), {k: v.expand(5, 3, 16) for k, v in state.items()})
        >>> out.shape, state["h"].shape, sorted(state)
        (torch.Size([5, 4, 3, 16]), torch.Size([5, 3, 16]), ['c', 'h'])
    """

    def __init__(self, *, in_features: int, hidden: int, kind: str = "lstm", agents: int | None = None):
        super().__init__()
        check_choice(kind, MEMORY_KINDS[1:], "memory kind")
        gates = (4 if kind == "lstm" else 3) * hidden

        def dense(width: int) -> nn.Module:
            return nn.Linear(width, gates) if agents is None else AgentLinear(agents, width, gates)

        self.kind = kind
        self.hidden = hidden
        self.out_features = hidden
        self.input_gates = dense(in_features)
        self.hidden_gates = dense(hidden)

    @property
    def state_keys(self) -> tuple[str, ...]:
        return ("h", "c") if self.kind == "lstm" else ("h",)

    def initial_state(self, n_agents: int) -> dict[str, torch.Tensor]:
        """Zeros, ``(n_agents, hidden)`` per key: an unbatched team's state."""
        return {key: torch.zeros(n_agents, self.hidden) for key in self.state_keys}

    def forward(
        self, x: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Shapes: x ``(*B, T, n, F)``, state ``{key: (*B, n, H)}``
        -> outputs ``(*B, T, n, H)`` (the hidden state after each step),
        state after the last step ``{key: (*B, n, H)}``."""
        missing = [key for key in self.state_keys if key not in state]
        if missing:
            raise ValueError(f"the {self.kind} memory state needs keys {list(self.state_keys)}, missing {missing}")
        x_gates = self.input_gates(x)  # all steps at once
        h = state["h"].to(x.dtype)
        c = state["c"].to(x.dtype) if self.kind == "lstm" else None
        outputs = []
        for t in range(x.shape[-3]):
            xg = x_gates[..., t, :, :]
            hg = self.hidden_gates(h)
            if self.kind == "lstm":
                i, f, g, o = (xg + hg).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xr, xz, xn = xg.chunk(3, dim=-1)
                hr, hz, hn = hg.chunk(3, dim=-1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            outputs.append(h)
        new_state = {"h": h} if c is None else {"h": h, "c": c}
        return torch.stack(outputs, dim=-3), new_state
