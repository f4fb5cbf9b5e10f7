"""A group's joint action: its space for RLlib, its per-agent distributions.

One RLlib agent plays a whole group of ``n`` PettingZoo agents that share one
action space, so its action is the joint action:

- ``Discrete(k)`` per agent -> ``MultiDiscrete([k] * n)``, actions ``(n,)``;
- ``Box(A,)`` per agent -> ``Box(n * A,)``, flattened in agent order (RLlib's
  action normalisation needs a 1-D Box).

The module's action-distribution inputs keep the agent axis, ``(*B, n, W)``,
and the distributions below are factorised over agents: the joint log-prob
that RLlib's env runners record is the sum of the agents' log-probs, and the
learner reads each agent's own log-prob, entropy and KL
(``agent_logp``/``agent_entropy``/``agent_kl``, all ``(*B, n)``) for the
per-agent PPO loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchDeterministic,
    TorchDistribution,
)

from rllib_shared.errors import ConfigError


class _FactorisedOverAgents(TorchDistribution):
    """A distribution whose batch shape ends in the agent axis: the joint
    log-prob, entropy and KL are sums over agents."""

    def agent_logp(self, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def agent_entropy(self) -> torch.Tensor:
        """``(*B, n)``."""
        return self._dist.entropy()

    def agent_kl(self, other: _FactorisedOverAgents) -> torch.Tensor:
        """``(*B, n)``."""
        return torch.distributions.kl_divergence(self._dist, other._dist)

    def logp(self, value: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.agent_logp(value).sum(-1)

    def entropy(self) -> torch.Tensor:
        return self.agent_entropy().sum(-1)

    def kl(self, other: _FactorisedOverAgents) -> torch.Tensor:
        return self.agent_kl(other).sum(-1)


class TeamCategorical(_FactorisedOverAgents):
    """Independent categorical actions per agent.

    Inputs ``(*B, n, k)`` logits; actions ``(*B, n)`` ints; ``logp`` ``(*B,)``.

    >>> dist = TeamCategorical.from_logits(torch.zeros(4, 3, 5))
    >>> dist.sample().shape, dist.logp(torch.zeros(4, 3)).shape
    (torch.Size([4, 3]), torch.Size([4]))
    """

    def __init__(self, logits: torch.Tensor):
        self.logits = logits
        super().__init__(logits=logits)

    def _get_torch_distribution(self, logits: torch.Tensor) -> torch.distributions.Distribution:
        return torch.distributions.Categorical(logits=logits)

    def agent_logp(self, actions: torch.Tensor) -> torch.Tensor:
        """``(*B, n)`` actions -> ``(*B, n)`` log-probs."""
        return self._dist.log_prob(actions.long())

    def to_deterministic(self) -> TorchDeterministic:
        return TorchDeterministic(loc=self.logits.argmax(dim=-1))

    @staticmethod
    def required_input_dim(space: gym.Space, **kwargs) -> int:
        return int(space.nvec.sum())


class TeamDiagGaussian(_FactorisedOverAgents):
    """Independent diagonal Gaussians per agent.

    Inputs ``(*B, n, 2A)`` (means, then log-stds); actions flattened
    ``(*B, n * A)``; ``logp`` ``(*B,)``.

    >>> dist = TeamDiagGaussian.from_logits(torch.zeros(4, 3, 2))
    >>> dist.sample().shape, dist.agent_logp(torch.zeros(4, 3)).shape
    (torch.Size([4, 3]), torch.Size([4, 3]))
    """

    def __init__(self, logits: torch.Tensor):
        self.loc, log_std = logits.chunk(2, dim=-1)
        super().__init__(loc=self.loc, scale=log_std.exp())

    def _get_torch_distribution(self, loc, scale) -> torch.distributions.Distribution:
        return torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)

    def _per_agent(self, flat: torch.Tensor) -> torch.Tensor:
        return flat.unflatten(-1, self.loc.shape[-2:])

    def agent_logp(self, actions: torch.Tensor) -> torch.Tensor:
        """``(*B, n * A)`` actions -> ``(*B, n)`` log-probs."""
        return self._dist.log_prob(self._per_agent(actions))

    def sample(self, *, sample_shape=None) -> torch.Tensor:
        return super().sample(sample_shape=sample_shape).flatten(-2)

    def rsample(self, *, sample_shape=None) -> torch.Tensor:
        return super().rsample(sample_shape=sample_shape).flatten(-2)

    def to_deterministic(self) -> TorchDeterministic:
        return TorchDeterministic(loc=self.loc.flatten(-2))

    @staticmethod
    def required_input_dim(space: gym.Space, **kwargs) -> int:
        return 2 * int(np.prod(space.shape))


@dataclasses.dataclass(frozen=True)
class TeamActions:
    """The action space every agent of a group shares, and the group's joint space.

    Example:
        >>> acts = TeamActions.of_group("g", ["a", "b"], [gym.spaces.Discrete(5)] * 2)
        >>> acts.joint_space, acts.head_width, acts.split(np.array([1, 4]))
        (MultiDiscrete([5 5]), 5, [1, 4])
    """

    agent_space: gym.Space
    n_agents: int

    @classmethod
    def of_group(cls, group: str, agents: Sequence[Any], spaces: Sequence[gym.Space]) -> TeamActions:
        """Checks that the group's agents share one supported action space."""
        distinct = {str(s) for s in spaces}
        if len(distinct) > 1:
            kinds = ", ".join(f"{a}: {s}" for a, s in list(zip(agents, spaces, strict=True))[:6])
            raise ConfigError(
                f"group {group!r} mixes action spaces ({kinds}, ...); one network plays a group "
                "with one action space: split it with 'groups', e.g. by agent-id prefix "
                "(groups: prefix) or by patterns ({red: 'red_*', blue: 'blue_*'})"
            )
        space = spaces[0]
        supported = isinstance(space, gym.spaces.Discrete) or (
            isinstance(space, gym.spaces.Box) and len(space.shape) == 1
        )
        if not supported:
            raise ConfigError(
                f"group {group!r} has action space {space}, which the BiCNet modules cannot "
                "handle: use Discrete or a 1-D Box (flatten other Box shapes; MultiDiscrete, "
                "Dict and Tuple actions are not supported)"
            )
        return cls(agent_space=space, n_agents=len(agents))

    @classmethod
    def of_joint_space(cls, joint: gym.Space, n_agents: int) -> TeamActions:
        """Recovers the per-agent space from a joint space built by :attr:`joint_space`."""
        if isinstance(joint, gym.spaces.MultiDiscrete) and joint.shape == (n_agents,):
            return cls(agent_space=gym.spaces.Discrete(int(joint.nvec[0])), n_agents=n_agents)
        if isinstance(joint, gym.spaces.Box) and len(joint.shape) == 1 and joint.shape[0] % n_agents == 0:
            dim = joint.shape[0] // n_agents
            space = gym.spaces.Box(joint.low[:dim], joint.high[:dim], dtype=joint.dtype)
            return cls(agent_space=space, n_agents=n_agents)
        raise ConfigError(
            f"expected a team's joint action space for {n_agents} agents (MultiDiscrete or a "
            f"flat Box from rllib_shared.team.TeamEnv), got {joint}"
        )

    @property
    def discrete(self) -> bool:
        return isinstance(self.agent_space, gym.spaces.Discrete)

    @property
    def agent_dim(self) -> int:
        """Numbers per agent in the joint action (1 for Discrete)."""
        return 1 if self.discrete else int(self.agent_space.shape[0])

    @property
    def head_width(self) -> int:
        """Action-distribution inputs per agent: ``k`` logits or ``2 A`` (mean, log-std)."""
        return int(self.agent_space.n) if self.discrete else 2 * self.agent_dim

    @property
    def dist_cls(self) -> type[TorchDistribution]:
        return TeamCategorical if self.discrete else TeamDiagGaussian

    @property
    def joint_space(self) -> gym.Space:
        n = self.n_agents
        if self.discrete:
            return gym.spaces.MultiDiscrete(np.full(n, self.agent_space.n, np.int64))
        space = self.agent_space
        low = np.tile(np.broadcast_to(space.low, space.shape), n).astype(np.float32)
        high = np.tile(np.broadcast_to(space.high, space.shape), n).astype(np.float32)
        return gym.spaces.Box(low, high, dtype=np.float32)

    def split(self, joint: np.ndarray) -> list:
        """A joint action -> one env action per agent, in the env's types."""
        joint = np.asarray(joint)
        if self.discrete:
            start = int(self.agent_space.start)
            return [int(a) + start for a in joint.reshape(self.n_agents)]
        per_agent = joint.reshape(self.n_agents, self.agent_dim).astype(self.agent_space.dtype)
        return list(per_agent)
