"""PettingZoo ParallelEnv -> one gymnasium agent that is the whole team.

This is the data layout of the BiCNet algorithm (``algo: BiCNet``). Its critic
gives every agent ``i`` a value ``Q_i(s, a_1..a_n)`` from the *joint* action,
so one replayed transition must hold every agent's observation and action of
the same step. RLlib's multi-agent episodes keep one row per agent, and a
replay buffer samples those rows independently; a single "team agent" keeps
the step together:

- observation ``Box(n_agents, features + 2)``: the team view of
  :mod:`rllib_shared.team_view` with the alive flags set and no is-self flag;
- action ``Box(n_agents * action_dim)``: every agent's Box action, flattened
  in agent order (RLlib's action normalisation needs a 1-D Box);
- reward: the team sum, which is what RLlib logs as the episode return;
- ``infos[AGENT_REWARDS]`` and ``infos[AGENT_TERMINATEDS]``: per-agent reward
  and termination vectors of the step, which the BiCNet learner reads, since
  its critic loss is per agent.

Agents that are done (absent from the PettingZoo dict) are dead rows: zero
features, alive flag 0, and their actions are not sent to the env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rllib_shared.envs.pettingzoo_env import as_parallel
from rllib_shared.errors import ConfigError
from rllib_shared.team_view import TeamLayout, natural_sorted

AGENT_REWARDS = "agent_rewards"
"""Info key: float32 ``(n_agents,)`` rewards of the step (0 for dead agents)."""
AGENT_TERMINATEDS = "agent_terminateds"
"""Info key: bool ``(n_agents,)``, True where the agent terminated at this step."""


def team_action_space(action_spaces: list[gym.Space], agents: list[Any]) -> gym.spaces.Box:
    """The flattened joint action space; every agent needs the same 1-D Box shape."""
    for agent, space in zip(agents, action_spaces, strict=True):
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise ConfigError(
                f"algo BiCNet needs continuous actions (a 1-D Box per agent), but agent "
                f"{agent!r} has {space}: its deterministic actor outputs real numbers. Use "
                "the env's continuous version (simple_spread_v3 and guessing_sum_v0: "
                "env_config {continuous_actions: true} / {continuous: true}) or algo PPO"
            )
    shapes = {space.shape for space in action_spaces}
    if len(shapes) > 1:
        raise ConfigError(
            f"algo BiCNet needs one action shape for all agents, got {sorted(shapes)}"
        )
    low = np.concatenate([np.broadcast_to(s.low, s.shape) for s in action_spaces])
    high = np.concatenate([np.broadcast_to(s.high, s.shape) for s in action_spaces])
    return gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class TeamEnv(gym.Env):
    """The whole PettingZoo team as one gymnasium agent (see the module doc).

    Example:
        >>> from rllib_shared.envs.guessing_sum import GuessingSumEnv
        >>> env = TeamEnv(GuessingSumEnv(n_agents=3, continuous=True))
        >>> env.observation_space.shape, env.action_space.shape
        ((3, 3), (3,))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(np.zeros(3, np.float32))
        >>> info["agent_rewards"].shape, bool(np.isclose(reward, info["agent_rewards"].sum()))
        ((3,), True)
    """

    def __init__(self, env: Any):
        super().__init__()
        self.par_env = as_parallel(env)
        self.possible_agents = natural_sorted(self.par_env.possible_agents)
        self.layout = TeamLayout.from_spaces(
            {a: self.par_env.observation_space(a) for a in self.possible_agents}
        )
        spaces = [self.par_env.action_space(a) for a in self.possible_agents]
        self.agent_action_space = spaces[0]
        self.action_space = team_action_space(spaces, self.possible_agents)
        self.observation_space = self.layout.observation_space()
        self.render_mode = getattr(self.par_env, "render_mode", None)
        self.metadata = getattr(self.par_env, "metadata", {})

    @property
    def n_agents(self) -> int:
        return len(self.possible_agents)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, _ = self.par_env.reset(seed=seed, options=options)
        info = {
            AGENT_REWARDS: np.zeros(self.n_agents, np.float32),
            AGENT_TERMINATEDS: np.zeros(self.n_agents, bool),
        }
        return self.layout.encode_team(obs), info

    def step(self, action: np.ndarray):
        per_agent = np.asarray(action, np.float32).reshape(self.n_agents, -1)
        alive = set(self.par_env.agents)
        action_dict = {
            agent: per_agent[k].astype(self.agent_action_space.dtype)
            for k, agent in enumerate(self.possible_agents)
            if agent in alive
        }
        obs, rewards, terminateds, _, _ = self.par_env.step(action_dict)
        agent_rewards = np.array(
            [float(rewards.get(a, 0.0)) for a in self.possible_agents], np.float32
        )
        agent_terminateds = np.array(
            [bool(terminateds.get(a, False)) for a in self.possible_agents], bool
        )
        episode_over = not self.par_env.agents
        terminated = episode_over and all(terminateds.values())
        truncated = episode_over and not terminated
        info = {AGENT_REWARDS: agent_rewards, AGENT_TERMINATEDS: agent_terminateds}
        return (
            self.layout.encode_team(obs),
            float(agent_rewards.sum()),
            terminated,
            truncated,
            info,
        )

    def render(self):
        return self.par_env.render()

    def close(self):
        self.par_env.close()
