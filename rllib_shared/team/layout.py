"""The team array: a group's observations as one ``(n_agents, features + 2)`` array.

Row ``k`` holds agent ``k``'s flattened observation (zero-padded to the
widest agent; ``uint8`` image observations scaled from 0..255 to 0..1), then
an *alive* flag and an *is-self* flag. Agent ``k`` is the
k-th agent in natural sort order, so the agent axis is stable however RLlib
orders its dicts. Two views of it:

- :meth:`TeamLayout.encode_team`: the group as a whole, is-self 0 (the team
  layout's observation, one row per group and step);
- :meth:`TeamLayout.encode`: one copy per agent with its own is-self flag (the
  per-agent rows of APPO and IMPALA).

Pure numpy/torch/gymnasium."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rllib_shared.errors import ConfigError
from rllib_shared.team.groups import natural_sorted

ALIVE = -2
IS_SELF = -1
N_FLAGS = 2


def flat_dim(space: gym.Space, agent_id: Any = "?") -> int:
    """Length of an observation after flattening (Box) or one-hot (Discrete)."""
    if isinstance(space, gym.spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    raise ConfigError(
        f"agent {agent_id!r} has observation space {space}, which the team view cannot "
        "handle: use Box or Discrete observations (wrap Dict/Tuple observations with "
        "gymnasium's FlattenObservation, or PettingZoo's flatten_observation wrapper)"
    )


@dataclasses.dataclass(frozen=True)
class TeamLayout:
    """Agent order and feature sizes of a team view.

    Example:
        >>> spaces = {a: gym.spaces.Box(-1, 1, (2,)) for a in ["b_1", "b_0"]}
        >>> layout = TeamLayout.from_spaces(spaces)
        >>> layout.agents, layout.width
        (('b_0', 'b_1'), 4)
        >>> layout.encode({"b_1": np.array([0.5, 0.5])})["b_1"]
        array([[0. , 0. , 0. , 0. ],
               [0.5, 0.5, 1. , 1. ]], dtype=float32)
    """

    agents: tuple
    spaces: tuple

    @classmethod
    def from_spaces(cls, observation_spaces: Mapping[Any, gym.Space]) -> TeamLayout:
        agents = tuple(natural_sorted(observation_spaces))
        spaces = tuple(observation_spaces[a] for a in agents)
        for agent, space in zip(agents, spaces, strict=True):
            flat_dim(space, agent)
        return cls(agents=agents, spaces=spaces)

    @property
    def n_agents(self) -> int:
        return len(self.agents)

    @property
    def features(self) -> int:
        return max(flat_dim(s) for s in self.spaces)

    @property
    def width(self) -> int:
        return self.features + N_FLAGS

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-np.inf, np.inf, (self.n_agents, self.width), np.float32)

    def encode_team(self, observations: Mapping[Any, Any]) -> np.ndarray:
        """The whole team as one array ``(n_agents, width)``, with no agent as self.

        This is the observation of the team env, where one RLlib agent is the
        whole team: the alive flags are set and the is-self column is zero.

        >>> spaces = {a: gym.spaces.Box(-1, 1, (1,)) for a in ["b_0", "b_1"]}
        >>> TeamLayout.from_spaces(spaces).encode_team({"b_1": np.array([0.5])})
        array([[0. , 0. , 0. ],
               [0.5, 1. , 0. ]], dtype=float32)
        """
        team = np.zeros((self.n_agents, self.width), np.float32)
        for k, (agent, space) in enumerate(zip(self.agents, self.spaces, strict=True)):
            if agent not in observations:
                continue
            obs = observations[agent]
            values = np.asarray(obs)
            if isinstance(space, gym.spaces.Discrete):
                if values.shape != () or values.dtype.kind not in "iu":
                    raise ConfigError(f"agent {agent!r}: observation {obs!r} is not one integer of its space {space}")
                index = int(values) - int(space.start)
                if not 0 <= index < int(space.n):
                    raise ConfigError(f"agent {agent!r}: observation {obs!r} is outside its space {space}")
                team[k, index] = 1.0
            else:
                if values.dtype.kind not in "biuf":
                    raise ConfigError(
                        f"agent {agent!r}: observation of dtype {values.dtype} is not numbers; its space is {space}"
                    )
                flat = values.astype(np.float32).reshape(-1)
                if flat.shape[0] != flat_dim(space):
                    raise ConfigError(
                        f"agent {agent!r}: observation of shape {np.shape(obs)} does not fit its space {space}"
                    )
                if not np.isfinite(flat).all():
                    raise ConfigError(f"agent {agent!r}: observation has NaN or inf: {obs!r}")
                if space.dtype == np.uint8:  # image frames: 0..255 -> 0..1
                    flat = flat / 255.0
                team[k, : flat.shape[0]] = flat
            team[k, ALIVE] = 1.0
        return team

    def encode(self, observations: Mapping[Any, Any]) -> dict[Any, np.ndarray]:
        """Maps ``{agent: observation}`` of the agents present this step to
        ``{agent: (n_agents, width) float32}``; absent agents are dead rows."""
        team = self.encode_team(observations)
        views = {}
        for k, agent in enumerate(self.agents):
            if agent in observations:
                view = team.copy()
                view[k, IS_SELF] = 1.0
                views[agent] = view
        return views


def split_team(obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits a batch of team arrays: ``(*B, n, F + 2)`` -> features ``(*B, n, F)``,
    alive ``(*B, n)`` bool."""
    return obs[..., :-N_FLAGS], obs[..., ALIVE] > 0.5


def split_team_view(obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Splits a batch of team views into its parts.

    Shapes: ``(*B, n_agents, features + 2)`` -> features ``(*B, n_agents, features)``,
    alive ``(*B, n_agents)`` bool, self index ``(*B,)`` long.
    """
    return (*split_team(obs), obs[..., IS_SELF].argmax(dim=-1))


def select_self(per_agent: torch.Tensor, self_index: torch.Tensor) -> torch.Tensor:
    """Picks each row's own agent: ``(*B, n_agents, D)``, ``(*B,)`` -> ``(*B, D)``."""
    index = self_index[..., None, None].expand(*self_index.shape, 1, per_agent.shape[-1])
    return per_agent.gather(-2, index).squeeze(-2)

