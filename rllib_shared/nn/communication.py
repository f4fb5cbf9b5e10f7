"""Communication across the agent axis: the heart of BiCNet.

Every kind maps ``(*B, n, F)`` per-agent features to ``(*B, n, 2 * hidden)``,
so they replace each other freely (``model.comm``):

- ``bilstm`` / ``bigru`` (BiCNet): a bidirectional RNN reads the agents
  ``1, 2, ..., n`` as a sequence, so every agent's output depends on every
  other live agent's input. Dead or padded agents are removed from the
  sequence before the RNN runs, which keeps them from influencing anybody
  (zeroing their inputs would not: an LSTM step on a zero input still
  changes the state). Depends on agent order.
- ``mean`` (CommNet, Sukhbaatar et al. 2016): each agent reads the mean of
  its live teammates' messages.
- ``attention`` (TarMAC, Das et al. 2019): each agent attends over its live
  teammates' messages with its own query.
- ``none``: a shared per-agent dense layer of the same width (the
  no-communication ablation).

``mean`` and ``attention`` do not depend on agent order (permuting the agents
permutes the outputs) and run in parallel over the agent axis. In all kinds
an agent with no live teammate hears nothing, and dead agents' rows are 0.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rllib_shared.errors import check_choice

COMM_KINDS = ("bilstm", "bigru", "mean", "attention", "none")


class AgentCommunication(nn.Module):
    """Mixes per-agent features across the agent axis.

    Args:
        in_features: Features per agent going in.
        hidden: Hidden size per direction; the output has ``2 * hidden``
            features per agent for every kind, so the kinds are drop-in
            replacements of each other.
        kind: one of :data:`COMM_KINDS` (see the module doc).

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
        elif kind == "mean":
            self.net = MeanPoolCommunication(in_features, hidden)
        elif kind == "attention":
            self.net = AttentionCommunication(in_features, hidden)
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
        if self.kind in ("mean", "attention"):
            return self.net(x, alive)
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


def _teammates(alive: torch.Tensor) -> torch.Tensor:
    """Shapes: alive ``(*B, n)`` bool -> ``(*B, n, n)`` bool, ``[i, j]`` = j is a live
    teammate of live agent i (j != i)."""
    n = alive.shape[-1]
    others = ~torch.eye(n, dtype=torch.bool, device=alive.device)
    return alive.unsqueeze(-1) & alive.unsqueeze(-2) & others


class MeanPoolCommunication(nn.Module):
    """CommNet's channel: own features beside the mean of live teammates' messages.

    ``out_i = tanh([W_own x_i, mean_{j live, j != i} W_msg x_j])``.
    """

    def __init__(self, in_features: int, hidden: int):
        super().__init__()
        self.own = nn.Linear(in_features, hidden)
        self.message = nn.Linear(in_features, hidden)

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n, F)``, alive ``(*B, n)`` bool -> ``(*B, n, 2 * hidden)``."""
        hears = _teammates(alive).to(x.dtype)  # (*B, n, n)
        count = hears.sum(-1, keepdim=True).clamp(min=1.0)
        heard = (hears / count) @ self.message(x)  # (*B, n, hidden)
        out = torch.tanh(torch.cat([self.own(x), heard], dim=-1))
        return out * alive.unsqueeze(-1)


class AttentionCommunication(nn.Module):
    """TarMAC's channel: own features beside an attention-weighted sum of live
    teammates' messages (one head, scaled dot product).

    ``out_i = tanh([W_own x_i, sum_j softmax_j(q_i . k_j / sqrt(h)) v_j])``
    over live ``j != i``.
    """

    def __init__(self, in_features: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.own = nn.Linear(in_features, hidden)
        self.query = nn.Linear(in_features, hidden)
        self.key = nn.Linear(in_features, hidden)
        self.value = nn.Linear(in_features, hidden)

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n, F)``, alive ``(*B, n)`` bool -> ``(*B, n, 2 * hidden)``."""
        hears = _teammates(alive)  # (*B, n, n)
        scores = self.query(x) @ self.key(x).transpose(-1, -2) / self.hidden**0.5
        scores = scores.masked_fill(~hears, float("-inf"))
        # A row with nobody to hear is all -inf; its weights become 0, not NaN.
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        heard = weights @ self.value(x)  # (*B, n, hidden)
        out = torch.tanh(torch.cat([self.own(x), heard], dim=-1))
        return out * alive.unsqueeze(-1)
