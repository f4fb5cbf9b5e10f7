"""BiCNet networks (Peng et al. 2017, arXiv 1703.10069) on team tensors.

Every block works on ``(*B, n_agents, F)`` tensors and applies the same
weights to every agent, so the parameter count does not depend on
``n_agents``. The trunk is: per-agent dense encoder -> communication across
the agent axis -> concatenation with the agent's own input (BiCNet's skip
connection). A head maps trunk features to one output row per agent.

Given ``agents`` (BenchMARL's ``share_params: false``), the dense layers of
encoders and heads hold one set of weights per agent, applied in one batched
op (:class:`AgentLinear`); the communication layer stays shared, so messages
keep one language.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rllib_shared.errors import check_choice
from rllib_shared.nn.communication import AgentCommunication
from rllib_shared.nn.encoders import DEFAULT_CONV_FILTERS, ConvEncoder
from rllib_shared.nn.layers import AgentLinear
from rllib_shared.nn.memory import AgentMemory
from rllib_shared.nn.normalization import RunningNorm, ValueNorm

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}


def mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int | None = None,
    *,
    activation: str = "tanh",
    layer_norm: bool = False,
    agents: int | None = None,
) -> nn.Sequential:
    """Dense layers applied to the last axis: per agent, with shared weights,
    or with each agent's own (:class:`AgentLinear`) when ``agents`` is given.

    ``hidden`` layers are followed by the activation (with ``layer_norm``,
    by a layer norm and then the activation; its gain and bias are shared by
    all agents); an ``out_features`` layer, if given, is linear.

    >>> mlp(4, [8, 8], 2)(torch.zeros(7, 3, 4)).shape
    torch.Size([7, 3, 2])
    """
    check_choice(activation, ACTIVATIONS, "activation")

    def dense(width: int, size: int) -> nn.Module:
        return nn.Linear(width, size) if agents is None else AgentLinear(agents, width, size)

    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers += [dense(width, size), *([nn.LayerNorm(size)] if layer_norm else []), ACTIVATIONS[activation]()]
        width = size
    if out_features is not None:
        layers.append(dense(width, out_features))
    return nn.Sequential(*layers)


@torch.no_grad()
def start_near_zero(layers: nn.Sequential, scale: float = 0.01) -> None:
    """Scales the last layer's weights by ``scale`` and zeroes its bias, so the
    untrained net's outputs start near 0 (a near-uniform policy; for a
    deterministic actor, actions in the middle of their range, as DDPG's
    small output-layer init)."""
    layers[-1].weight.mul_(scale)
    layers[-1].bias.zero_()


def mlp_width(in_features: int, hidden: Sequence[int]) -> int:
    return hidden[-1] if hidden else in_features


class BiCNetTrunk(nn.Module):
    """Encoder -> communication -> skip connection, shared across agents.

    Example:
        >>> trunk = BiCNetTrunk(in_features=5, encoder_hidden=[32], comm_hidden=16)
        >>> trunk(torch.zeros(2, 4, 5), torch.ones(2, 4, dtype=torch.bool)).shape
        torch.Size([2, 4, 37])
    """

    def __init__(
        self,
        *,
        in_features: int,
        encoder_hidden: Sequence[int] = (64,),
        comm_hidden: int = 64,
        comm: str = "bilstm",
        activation: str = "tanh",
        layer_norm: bool = False,
        skip_input: bool = True,
        agents: int | None = None,
        image_shape: Sequence[int] | None = None,
        conv_filters: Sequence[Sequence[int]] = DEFAULT_CONV_FILTERS,
    ):
        super().__init__()
        if image_shape is None:
            self.encoder = mlp(in_features, encoder_hidden, activation=activation, layer_norm=layer_norm, agents=agents)
            encoded = mlp_width(in_features, encoder_hidden)
        else:
            if agents is not None:
                raise ValueError("per-agent weights need the mlp encoder")
            conv = ConvEncoder(image_shape, conv_filters, ACTIVATIONS[activation])
            if conv.in_features != in_features:
                raise ValueError(f"image shape {tuple(image_shape)} does not hold {in_features} features")
            dense = mlp(conv.out_features, encoder_hidden, activation=activation, layer_norm=layer_norm)
            self.encoder = nn.Sequential(conv, dense)
            encoded = mlp_width(conv.out_features, encoder_hidden)
        self.comm = AgentCommunication(in_features=encoded, hidden=comm_hidden, kind=comm)
        self.skip_input = skip_input
        self.out_features = self.comm.out_features + (in_features if skip_input else 0)

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n_agents, F)``, alive ``(*B, n_agents)``
        -> ``(*B, n_agents, out_features)``."""
        mixed = self.comm(self.encoder(x), alive)
        if not self.skip_input:
            return mixed
        return torch.cat([mixed, x * alive.unsqueeze(-1).to(x.dtype)], dim=-1)


class BiCNet(nn.Module):
    """A BiCNet actor or critic: trunk plus a per-agent head.

    Used as actor (``out_features`` = action-distribution inputs per agent) and
    as critic (``out_features=1``: one value per agent).

    Example:
        >>> actor = BiCNet(in_features=5, out_features=2)
        >>> actor(torch.zeros(4, 3, 5), torch.ones(4, 3, dtype=torch.bool)).shape
        torch.Size([4, 3, 2])
    """

    def __init__(
        self,
        *,
        in_features: int,
        out_features: int,
        encoder_hidden: Sequence[int] = (64,),
        comm_hidden: int = 64,
        head_hidden: Sequence[int] = (64,),
        comm: str = "bilstm",
        activation: str = "tanh",
        layer_norm: bool = False,
        skip_input: bool = True,
        agents: int | None = None,
        image_shape: Sequence[int] | None = None,
        conv_filters: Sequence[Sequence[int]] = DEFAULT_CONV_FILTERS,
    ):
        super().__init__()
        self.trunk = BiCNetTrunk(
            in_features=in_features,
            encoder_hidden=encoder_hidden,
            comm_hidden=comm_hidden,
            comm=comm,
            activation=activation,
            layer_norm=layer_norm,
            skip_input=skip_input,
            agents=agents,
            image_shape=image_shape,
            conv_filters=conv_filters,
        )
        self.head = mlp(self.trunk.out_features, head_hidden, out_features, activation=activation,
                        layer_norm=layer_norm, agents=agents)

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Shapes: x ``(*B, n_agents, F)``, alive ``(*B, n_agents)``
        -> ``(*B, n_agents, out_features)``."""
        return self.head(self.trunk(x, alive))


class BiCNetActorCritic(nn.Module):
    """Policy and value per agent, from one shared BiCNet trunk or two.

    With ``share_trunk`` one trunk feeds both heads, and the training pass
    computes it once: :meth:`forward_train` returns the trunk output as the
    value features, and :meth:`value` needs only the value head. Without it
    the value has a trunk of its own (no gradient from the value loss reaches
    the policy). With ``state_features`` the value trunk reads a global state
    ``(*B, S)`` beside every agent's input: a centralised critic. The value
    trunk's communication layer is ``critic_comm`` (default: ``comm``), so a
    communicating policy can have a critic that reads each agent's own input
    only (``critic_comm="none"``). With ``normalize_value`` the value head
    learns in units of the value targets' running statistics
    (:class:`~rllib_shared.nn.normalization.ValueNorm`, which the learner
    updates) and :meth:`value` returns denormalised values.

    With ``memory`` ("lstm" or "gru") each agent's policy features pass
    through its own recurrent memory after communication (so it remembers
    what it heard), inputs carry a time axis ``(*B, T, n, F)``, and every
    pass takes the memory state at the first step, ``{key: (*B, n, H)}``
    (:meth:`initial_memory` for a new episode). The value reads the memory's
    output too: through the shared trunk, or beside its own trunk's output
    without gradient.

    Example:
        >>> net = BiCNetActorCritic(in_features=5, action_features=3, share_trunk=True)
        >>> x, alive = torch.zeros(2, 4, 5), torch.ones(2, 4, dtype=torch.bool)
        >>> logits, feats = net.forward_train(x, alive)
        >>> logits.shape, net.value(feats).shape
        (torch.Size([2, 4, 3]), torch.Size([2, 4]))
    """

    VALUE_PARTS = ("vf_trunk", "vf_head", "value_norm")
    """Attributes only training needs (an inference-only copy drops them)."""

    def __init__(
        self,
        *,
        in_features: int,
        action_features: int,
        share_trunk: bool = False,
        state_features: int = 0,
        encoder_hidden: Sequence[int] = (64,),
        comm_hidden: int = 64,
        head_hidden: Sequence[int] = (64,),
        comm: str = "bilstm",
        critic_comm: str | None = None,
        activation: str = "tanh",
        layer_norm: bool = False,
        skip_input: bool = True,
        normalize_input: bool = False,
        normalize_value: bool = False,
        agents: int | None = None,
        image_shape: Sequence[int] | None = None,
        conv_filters: Sequence[Sequence[int]] = DEFAULT_CONV_FILTERS,
        memory: str = "none",
        memory_hidden: int = 64,
    ):
        super().__init__()
        critic_comm = comm if critic_comm is None else critic_comm
        if share_trunk and (state_features or critic_comm != comm):
            raise ValueError("a critic that reads the global state, or communicates differently, "
                             "needs a trunk of its own")
        if image_shape is not None and state_features:
            raise ValueError("a critic that reads the global state needs the mlp encoder")
        self.input_norm = RunningNorm(in_features) if normalize_input else None
        self.value_norm = ValueNorm() if normalize_value else None
        trunk_kwargs = dict(
            encoder_hidden=encoder_hidden,
            comm_hidden=comm_hidden,
            comm=comm,
            activation=activation,
            layer_norm=layer_norm,
            skip_input=skip_input,
            agents=agents,
            image_shape=image_shape,
            conv_filters=conv_filters,
        )
        self.share_trunk = share_trunk
        self.state_features = state_features
        self.pi_trunk = BiCNetTrunk(in_features=in_features, **trunk_kwargs)
        self.memory = None
        pi_width = self.pi_trunk.out_features
        if memory != "none":
            self.memory = AgentMemory(in_features=pi_width, hidden=memory_hidden, kind=memory, agents=agents)
            pi_width = self.memory.out_features
        self.vf_trunk = None if share_trunk else BiCNetTrunk(
            in_features=in_features + state_features, **{**trunk_kwargs, "comm": critic_comm})
        if share_trunk:
            vf_width = pi_width
        else:
            vf_width = self.vf_trunk.out_features + (pi_width if self.memory is not None else 0)
        head_kwargs = dict(activation=activation, layer_norm=layer_norm, agents=agents)
        self.pi_head = mlp(pi_width, head_hidden, action_features, **head_kwargs)
        self.vf_head = mlp(vf_width, head_hidden, 1, **head_kwargs)
        start_near_zero(self.pi_head)  # near-uniform initial policy, as RLlib's default PPO heads

    def initial_memory(self, n_agents: int) -> dict[str, torch.Tensor]:
        """A new episode's memory state, ``{key: (n_agents, H)}`` (empty without memory)."""
        return {} if self.memory is None else self.memory.initial_state(n_agents)

    def _normalized(self, x: torch.Tensor, alive: torch.Tensor, *, update: bool = False) -> torch.Tensor:
        return x if self.input_norm is None else self.input_norm(x, alive, update=update)

    def _policy_features(
        self, x: torch.Tensor, alive: torch.Tensor, memory: dict[str, torch.Tensor] | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Shapes: x ``(*B, [T,] n, F)``, alive ``(*B, [T,] n)``, memory
        ``{key: (*B, n, H)}`` -> features ``(*B, [T,] n, D)``, memory after
        the last step (None without memory; then there is no ``T`` axis)."""
        features = self.pi_trunk(x, alive)
        if self.memory is None:
            return features, None
        if memory is None:
            raise ValueError("this net has memory: pass its state (initial_memory() for a new episode)")
        if x.dim() < 3:
            raise ValueError(f"a net with memory takes inputs (*B, T, n, F), got shape {tuple(x.shape)}")
        return self.memory(features, memory)

    def _value_trunk(self, x: torch.Tensor, alive: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        """Shapes: x ``(*B, n, F)``, alive ``(*B, n)``, state ``(*B, S)`` -> ``(*B, n, D)``."""
        if not self.state_features:
            return self.vf_trunk(x, alive)
        if state is None or state.shape[-1] != self.state_features:
            got = None if state is None else tuple(state.shape)
            raise ValueError(f"the critic reads a global state of {self.state_features} features, got {got}")
        state = state.unsqueeze(-2).expand(*x.shape[:-1], self.state_features)
        return self.vf_trunk(torch.cat([x, state.to(x.dtype)], dim=-1), alive)

    def _value_features(
        self, x: torch.Tensor, alive: torch.Tensor, state: torch.Tensor | None, policy_features: torch.Tensor
    ) -> torch.Tensor:
        if self.share_trunk:
            return policy_features
        features = self._value_trunk(x, alive, state)
        if self.memory is None:
            return features
        return torch.cat([features, policy_features.detach()], dim=-1)

    def forward(self, x: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Policy only, for a net without memory (else :meth:`step`).
        Shapes: x ``(*B, n, F)``, alive ``(*B, n)`` -> ``(*B, n, action_features)``."""
        x = self._normalized(x, alive)
        return self.pi_head(self._policy_features(x, alive, None)[0])

    def step(
        self, x: torch.Tensor, alive: torch.Tensor, memory: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Policy of a net with memory. Shapes: x ``(*B, T, n, F)``, alive
        ``(*B, T, n)``, memory ``{key: (*B, n, H)}`` -> (``(*B, T, n,
        action_features)``, memory after step ``T``)."""
        x = self._normalized(x, alive)
        features, memory = self._policy_features(x, alive, memory)
        return self.pi_head(features), memory

    def forward_train(
        self,
        x: torch.Tensor,
        alive: torch.Tensor,
        state: torch.Tensor | None = None,
        memory: dict[str, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy and value features in one pass.

        Shapes: x ``(*B, n, F)``, alive ``(*B, n)``, state ``(*B, S)`` (with
        ``state_features``) -> (``(*B, n, action_features)``, ``(*B, n, D)``);
        with memory every tensor but ``memory`` has a ``T`` axis after ``*B``.
        With ``normalize_input``, a pass with gradients enabled (a training
        step) first adds ``x``'s live rows to the running statistics.
        """
        x = self._normalized(x, alive, update=torch.is_grad_enabled())
        features, _ = self._policy_features(x, alive, memory)
        return self.pi_head(features), self._value_features(x, alive, state, features)

    def value_features(
        self,
        x: torch.Tensor,
        alive: torch.Tensor,
        state: torch.Tensor | None = None,
        memory: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Shapes: x ``(*B, n, F)``, alive ``(*B, n)``, state ``(*B, S)`` -> ``(*B, n, D)``
        (with memory, a ``T`` axis after ``*B``)."""
        x = self._normalized(x, alive)
        if self.share_trunk or self.memory is not None:
            features, _ = self._policy_features(x, alive, memory)
        else:
            features = None
        return self._value_features(x, alive, state, features)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """Shapes: value features ``(*B, n, D)`` -> values ``(*B, n)`` (denormalised
        with ``normalize_value``)."""
        values = self.vf_head(features).squeeze(-1)
        return values if self.value_norm is None else self.value_norm.denormalize(values)

    def value_scale(self) -> torch.Tensor | float:
        """What the value loss divides the error by: the targets' running
        standard deviation with ``normalize_value``, else 1."""
        return 1.0 if self.value_norm is None else self.value_norm.std

    def observe_value_targets(self, targets: torch.Tensor, mask: torch.Tensor) -> None:
        """Shapes: targets ``(*B, n)``, mask ``(*B, n)`` bool. Adds the masked
        value targets to the running statistics (no-op without ``normalize_value``)."""
        if self.value_norm is not None:
            self.value_norm.observe(targets, mask)

    def drop_value(self) -> None:
        """Deletes the value parts, for an inference-only copy."""
        for name in self.VALUE_PARTS:
            if getattr(self, name, None) is not None:
                delattr(self, name)
