"""A PettingZoo env that breaks at its third step (for failed-trial tests): it
raises, or (``breaks_with="nan"``) gives agent_1 a NaN observation."""

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv


class FailingEnv(ParallelEnv):
    metadata = {"name": "failing_v0", "is_parallelizable": True}
    possible_agents = ["agent_0", "agent_1"]

    def __init__(self, breaks_with="error"):
        self.breaks_with = breaks_with

    def observation_space(self, agent):
        return gym.spaces.Box(-1, 1, (1,), np.float32)

    def action_space(self, agent):
        return gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        return {a: np.zeros(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        if self.t >= 3 and self.breaks_with == "error":
            raise RuntimeError("failing_env broke on purpose")
        obs = {a: np.zeros(1, np.float32) for a in self.agents}
        if self.t >= 3:
            obs["agent_1"][0] = np.nan
        zeros = {a: 0.0 for a in self.agents}
        return obs, zeros, {a: False for a in self.agents}, {a: False for a in self.agents}, {a: {} for a in self.agents}


def parallel_env(breaks_with="error"):
    return FailingEnv(breaks_with)
