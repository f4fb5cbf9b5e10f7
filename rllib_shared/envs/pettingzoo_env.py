"""PettingZoo ParallelEnv -> RLlib MultiAgentEnv, with a stable agent order.

Differences from RLlib's own ``ParallelPettingZooEnv``: the agent order and
the Dict spaces follow ``possible_agents`` in natural sort order (RLlib builds
them from a set), spaces are given for every possible agent, ``render()``
calls PettingZoo's ``render()`` without arguments, an episode ends exactly
when PettingZoo has no agents left, and AEC envs are converted (or refused
with a clear error). NaN or inf in an observation raises
:class:`~rllib_shared.errors.ObservationError` (``nonfinite_observations:
error``) or is replaced by 0 with a warning (``warn``).
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import aec_to_parallel
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rllib_shared.errors import ConfigError, ObservationError, check_choice
from rllib_shared.team.groups import natural_sorted

logger = logging.getLogger(__name__)

NONFINITE_KEY = "nonfinite_observations"
NONFINITE_CHOICES = ("error", "warn")


def as_parallel(env: Any) -> ParallelEnv:
    """Returns ``env`` as a ParallelEnv, converting parallelizable AEC envs."""
    if isinstance(env, ParallelEnv):
        return env
    if isinstance(env, AECEnv):
        if not env.metadata.get("is_parallelizable", False):
            raise ConfigError(
                f"the AEC env {env.metadata.get('name', env)!r} is turn-based (its metadata "
                "lacks is_parallelizable=True), but the shared team network needs every "
                "agent to act at every step; use a parallel env or one whose AEC version "
                "PettingZoo can convert"
            )
        return aec_to_parallel(env)
    raise ConfigError(f"expected a PettingZoo ParallelEnv or AECEnv, got {type(env).__name__}")


class PettingZooEnv(MultiAgentEnv):
    """Wraps a PettingZoo env for RLlib's new API stack.

    Example:
        >>> from rllib_shared.envs.guessing_sum import GuessingSumEnv
        >>> env = PettingZooEnv(GuessingSumEnv(n_agents=3))
        >>> env.possible_agents
        ['agent_0', 'agent_1', 'agent_2']
        >>> obs, infos = env.reset(seed=0)
        >>> sorted(obs)
        ['agent_0', 'agent_1', 'agent_2']
    """

    def __init__(self, env: Any, *, nonfinite_observations: str = "error"):
        super().__init__()
        check_choice(nonfinite_observations, NONFINITE_CHOICES, NONFINITE_KEY)
        self.nonfinite_observations = nonfinite_observations
        self.nonfinite_counts: dict[Any, int] = {}  # per agent, with ``warn``
        self.par_env = as_parallel(env)
        self.possible_agents = natural_sorted(self.par_env.possible_agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {
            a: self.par_env.observation_space(a) for a in self.possible_agents
        }
        self.action_spaces = {a: self.par_env.action_space(a) for a in self.possible_agents}
        self.observation_space = gym.spaces.Dict(self.observation_spaces)
        self.action_space = gym.spaces.Dict(self.action_spaces)
        self.render_mode = getattr(self.par_env, "render_mode", None)
        self.metadata = getattr(self.par_env, "metadata", {})
        self.episode_step = 0

    def _checked(self, observations: dict) -> dict:
        """Refuses NaN and inf in observations (they would end in NaN weights or
        a deep torch error much later), or with ``warn`` replaces them by 0 and
        warns at an agent's 1st, 10th, 100th, ... such observation."""
        checked = observations  # copied only when an observation is replaced
        for agent, obs in observations.items():
            values = np.asarray(obs)
            if values.dtype.kind not in "fc" or np.isfinite(values).all():
                continue
            where = (f"env {self.metadata.get('name', type(self.par_env).__name__)!r} gave agent "
                     f"{agent!r} an observation with NaN or inf at step {self.episode_step} of the episode")
            if self.nonfinite_observations == "error":
                raise ObservationError(
                    f"{where}; fix the env (or wrap it to clean its observations), or set "
                    f"{NONFINITE_KEY}: warn to train on with them replaced by 0"
                )
            count = self.nonfinite_counts[agent] = self.nonfinite_counts.get(agent, 0) + 1
            if float(np.log10(count)).is_integer():
                logger.warning("%s; replaced by 0 (%s: warn); %d such observations of %r so far",
                               where, NONFINITE_KEY, count, agent)
            if checked is observations:
                checked = dict(observations)
            checked[agent] = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        return checked

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        # PettingZoo re-seeds only when a seed is given: keep that contract.
        obs, infos = self.par_env.reset(seed=seed, options=options)
        self.agents = natural_sorted(self.par_env.agents)
        self.episode_step = 0
        return self._checked(obs), infos or {}

    def step(self, action_dict: dict):
        obs, rewards, terminateds, truncateds, infos = self.par_env.step(action_dict)
        self.episode_step += 1
        obs = self._checked(obs)
        self.agents = natural_sorted(self.par_env.agents)
        episode_over = not self.par_env.agents
        all_terminated = episode_over and all(terminateds.values())
        terminateds = dict(terminateds, __all__=all_terminated)
        truncateds = dict(truncateds, __all__=episode_over and not all_terminated)
        return obs, rewards, terminateds, truncateds, infos

    def render(self):
        return self.par_env.render()

    def close(self):
        self.par_env.close()

    @property
    def unwrapped_pettingzoo(self) -> ParallelEnv:
        return self.par_env
