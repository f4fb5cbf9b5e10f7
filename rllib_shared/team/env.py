"""The team layout: a PettingZoo env whose RLlib agents are groups of agents.

Every algorithm of the plugin that sees a whole team computes it once per env
step: RLlib's agent ``g`` is a *group* of PettingZoo agents (by default one
group, ``team``, holding every agent; see :mod:`rllib_shared.team.groups`).
Cost and storage grow linearly with the number of agents. Per group:

- observation ``Box(n, features + 2)``: the team array of
  :class:`~rllib_shared.team.layout.TeamLayout`, row ``k`` = agent ``k``'s
  flattened observation and its alive flag (the is-self column stays 0);
- action: the joint action of :class:`~rllib_shared.team.actions.TeamActions`
  (``MultiDiscrete`` or a flat ``Box``); dead agents' actions are not sent;
- reward: the sum over the group's agents, so RLlib's episode return is the
  team return;
- ``infos[group]``: per-agent vectors of the step, ``AGENT_REWARDS`` (float32
  ``(n,)``) and ``AGENT_DONES`` (bool ``(n,)``: True where the agent's value
  must not be bootstrapped after this step); with ``global_state``, also
  ``STATE`` (float32 ``(S,)``: the env's ``state()`` at this observation,
  for a centralised critic).

Agents that leave mid-episode: an agent that is done while the group plays
on has its row marked dead from the next observation on, and its
``AGENT_DONES`` entry is True (it bootstraps from 0). When the whole group is
done, its last observation keeps the alive flags of the agents that still
observe, so a truncated group bootstraps from their values; only agents that
*terminated* get ``AGENT_DONES`` True then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rllib_shared.envs.pettingzoo_env import PettingZooEnv
from rllib_shared.errors import ConfigError
from rllib_shared.team.actions import TeamActions
from rllib_shared.team.groups import resolve_groups
from rllib_shared.team.layout import TeamLayout

AGENT_REWARDS = "agent_rewards"
"""Info key: float32 ``(n,)`` rewards of the step (0 for dead agents)."""
AGENT_DONES = "agent_dones"
"""Info key: bool ``(n,)``, True where the agent's value is not bootstrapped after this step."""
STATE = "state"
"""Info key: float32 ``(S,)`` the env's global ``state()`` (with ``global_state``)."""
GROUPS_KEY = "groups"
"""``env_config`` key of the team envs: the ``groups`` setting."""
GLOBAL_STATE_KEY = "global_state"
"""``env_config`` key of the team envs: put the env's ``state()`` in the infos."""


@dataclasses.dataclass(frozen=True)
class Group:
    """One RLlib agent of the team layout: its PettingZoo agents and their spaces."""

    name: str
    layout: TeamLayout
    actions: TeamActions

    @property
    def agents(self) -> tuple:
        return self.layout.agents

    @property
    def n_agents(self) -> int:
        return self.layout.n_agents


def make_groups(env: PettingZooEnv, groups: Any = None) -> dict[str, Group]:
    """The groups of ``env`` by the ``groups`` setting, with their spaces checked."""
    result = {}
    for name, agents in resolve_groups(env.possible_agents, groups).items():
        layout = TeamLayout.from_spaces({a: env.observation_spaces[a] for a in agents})
        actions = TeamActions.of_group(name, agents, [env.action_spaces[a] for a in agents])
        result[name] = Group(name=name, layout=layout, actions=actions)
    return result


class TeamEnv(MultiAgentEnv):
    """A PettingZoo env as RLlib agents that are groups (see the module doc).

    Args:
        env: A PettingZoo env (ParallelEnv, or AEC that PettingZoo can convert)
            or a :class:`~rllib_shared.envs.PettingZooEnv`.
        groups: The ``groups`` setting (None: one group, ``team``).

    Example:
        >>> from rllib_shared.envs.guessing_sum import GuessingSumEnv
        >>> env = TeamEnv(GuessingSumEnv(n_agents=3, continuous=True))
        >>> env.possible_agents, env.observation_spaces["team"].shape, env.action_spaces["team"].shape
        (['team'], (3, 3), (3,))
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, *_, infos = env.step({"team": np.zeros(3, np.float32)})
        >>> infos["team"]["agent_rewards"].shape, bool(np.isclose(rewards["team"], infos["team"]["agent_rewards"].sum()))
        ((3,), True)
    """

    def __init__(self, env: Any, groups: Any = None, *, global_state: bool = False):
        super().__init__()
        self.global_state = global_state
        self.agent_env = env if isinstance(env, PettingZooEnv) else PettingZooEnv(env)
        self.groups = make_groups(self.agent_env, groups)
        self.possible_agents = list(self.groups)
        self.agents = []
        self.observation_spaces = {g: group.layout.observation_space() for g, group in self.groups.items()}
        self.action_spaces = {g: group.actions.joint_space for g, group in self.groups.items()}
        self.observation_space = gym.spaces.Dict(self.observation_spaces)
        self.action_space = gym.spaces.Dict(self.action_spaces)
        self.render_mode = self.agent_env.render_mode
        self.metadata = self.agent_env.metadata

    def state(self) -> np.ndarray:
        """The PettingZoo env's global ``state()``, float32 ``(S,)``."""
        env = self.agent_env.par_env
        try:
            state = env.state()
        except NotImplementedError:
            raise ConfigError(
                f"env {self.metadata.get('name', type(env).__name__)!r} has no global state(), which "
                "model.critic_input: state reads; use critic_input: local"
            ) from None
        return np.asarray(state, np.float32).reshape(-1)

    def _with_state(self, infos: dict) -> dict:
        if self.global_state:
            state = self.state()
            for info in infos.values():
                info[STATE] = state
        return infos

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, _ = self.agent_env.reset(seed=seed, options=options)
        acting = set(self.agent_env.agents)
        self.agents = [g for g, group in self.groups.items() if acting.intersection(group.agents)]
        observations, infos = {}, {}
        for g in self.agents:
            group = self.groups[g]
            observations[g] = group.layout.encode_team({a: obs[a] for a in group.agents if a in acting and a in obs})
            infos[g] = {
                AGENT_REWARDS: np.zeros(group.n_agents, np.float32),
                AGENT_DONES: np.zeros(group.n_agents, bool),
            }
        return observations, self._with_state(infos)

    def step(self, action_dict: Mapping[str, Any]):
        acting = set(self.agent_env.agents)
        env_actions = {}
        for g, joint in action_dict.items():
            group = self.groups[g]
            for agent, action in zip(group.agents, group.actions.split(joint), strict=True):
                if agent in acting:
                    env_actions[agent] = action
        obs, rewards, terminateds, truncateds, _ = self.agent_env.step(env_actions)
        still_acting = set(self.agent_env.agents)
        out_obs, out_rewards, out_terms, out_truncs, out_infos = {}, {}, {}, {}, {}
        for g in self.agents:
            group = self.groups[g]
            members = group.agents
            group_done = not still_acting.intersection(members)
            # Rows that count in the next observation: acting agents, and on the
            # group's last step every agent that still observes (for bootstrapping).
            shown = {a: obs[a] for a in members if a in obs and (a in still_acting or group_done)}
            agent_rewards = np.array([float(rewards.get(a, 0.0)) for a in members], np.float32)
            agent_dones = np.array(
                [
                    a in acting
                    and (bool(terminateds.get(a, False)) or (a not in still_acting and a not in shown))
                    for a in members
                ],
                bool,
            )
            out_obs[g] = group.layout.encode_team(shown)
            out_rewards[g] = float(agent_rewards.sum())
            out_infos[g] = {AGENT_REWARDS: agent_rewards, AGENT_DONES: agent_dones}
            if group_done:
                terminated = all(bool(terminateds.get(a, True)) for a in members if a in acting)
                out_terms[g], out_truncs[g] = terminated, not terminated
            else:
                out_terms[g] = out_truncs[g] = False
        self.agents = [g for g in self.agents if still_acting.intersection(self.groups[g].agents)]
        out_terms["__all__"] = terminateds["__all__"]
        out_truncs["__all__"] = truncateds["__all__"]
        return out_obs, out_rewards, out_terms, out_truncs, self._with_state(out_infos)

    def render(self):
        return self.agent_env.render()

    def close(self):
        self.agent_env.close()


def agent_vectors(group_episode: Any, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-agent rewards and dones of a group's first ``steps`` transitions.

    The info of step ``t + 1`` describes transition ``t`` (as the next
    observation does), so these come from infos ``1 .. steps``.

    Returns:
        ``AGENT_REWARDS`` float32 ``(steps, n)`` and ``AGENT_DONES`` bool ``(steps, n)``.
    """
    infos = group_episode.get_infos(slice(1, steps + 1))
    rewards = np.stack([np.asarray(info[AGENT_REWARDS], np.float32) for info in infos])
    dones = np.stack([np.asarray(info[AGENT_DONES], bool) for info in infos])
    return rewards, dones
