"""Communication across the agent axis: the heart of BiCNet.

A bidirectional RNN reads the agents ``1, 2, ..., n`` as a sequence, so every
agent's output depends on every other live agent's input. Dead or padded
agents are removed from the sequence before the RNN runs, which keeps them
from influencing anybody (zeroing their inputs would not: an LSTM step on a
zero input still changes the state).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rllib_shared.errors import check_choice

COMM_KINDS = ("bilstm", "bigru", "none")


class AgentCommunication(nn.Module):
    """Mixes per-agent features across the agent axis.

    Args:
        in_features: Features per agent going in.
        hidden: Hidden size per direction; the output has ``2 * hidden``
            features per agent for every kind, so the kinds are drop-in
            replacements of each other.
        kind: ``"bilstm"`` (BiCNet), ``"bigru"``, or ``"none"`` (a shared
            per-agent dense layer of the same width: no communication).

    Example:
        >>> comm = AgentCommunication(in_features=8, hidden=16)
        >>> comm(torch.zeros(5, 3, 8), torch.ones(5, 3, dtype=torch.bool)).shape
        torch.Size([5, 3, 32])
    """

    def __init__(self, *, in_features: int, hidden: int, kind: str = "bilstm"):
        super().__init__()
        check_choice(kind, COMM_KINDS, "communication kind")
        self.kind = kind
        self.out_features = 2 * hidden
        if kind == "bilstm":
            self.net = nn.LSTM(in_features, hidden, batch_first=True, bidirectional=True)
        elif kind == "bigru":
            self.net = nn.GRU(in_features, hidden, batch_first=True, bidirectional=True)
        else:
            self.net = nn.Sequential(nn.Linear(in_features, 2 * hidden), nn.Tanh())

    @property
    def communicates(self) -> bool:
        return self.kind != "none"

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n_agents, F)``, alive ``(*B, n_agents)`` bool
        -> ``(*B, n_agents, 2 * hidden)``; rows of dead agents are zero."""
        alive = alive.bool()
        if not self.communicates:
            return self.net(x) * alive.unsqueeze(-1)
        *batch, n, f = x.shape
        flat_x = x.reshape(-1, n, f)
        flat_alive = alive.reshape(-1, n)
        if flat_x.shape[0] == 0:
            return x.new_zeros(*batch, n, self.out_features)
        if bool(flat_alive.all()):
            out, _ = self.net(flat_x)
        else:
            out = self._run_live_only(flat_x, flat_alive)
        return out.reshape(*batch, n, self.out_features)

    def _run_live_only(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(M, n, F)``, alive ``(M, n)`` -> ``(M, n, 2 * hidden)``.

        Moves each row's live agents to the front (keeping their order), runs
        the RNN on a packed sequence of exactly the live agents, and puts the
        outputs back in their slots.
        """
        m, n, f = x.shape
        # Stable sort on "is dead" puts live agents first in their own order.
        order = torch.sort((~alive).to(torch.uint8), dim=1, stable=True).indices
        compact = torch.gather(x, 1, order.unsqueeze(-1).expand(m, n, f))
        lengths = alive.sum(dim=1)
        packed = pack_padded_sequence(
            compact, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out_packed, _ = self.net(packed)
        compact_out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=n)
        out = torch.zeros_like(compact_out).scatter(
            1, order.unsqueeze(-1).expand(m, n, self.out_features), compact_out
        )
        return out * alive.unsqueeze(-1)
