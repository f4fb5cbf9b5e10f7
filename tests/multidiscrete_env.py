"""A real (if tiny) PettingZoo env whose MultiDiscrete actions BiCNet cannot handle."""

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv


class MultiDiscreteEnv(ParallelEnv):
    metadata = {"name": "multidiscrete_v0"}
    possible_agents = ["agent_0", "agent_1"]

    def observation_space(self, agent):
        return gym.spaces.Box(-1, 1, (2,), np.float32)

    def action_space(self, agent):
        return gym.spaces.MultiDiscrete([2, 3])

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        return {a: np.zeros(2, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.agents = []
        obs = {a: np.zeros(2, np.float32) for a in self.possible_agents}
        flags = {a: True for a in self.possible_agents}
        return obs, {a: 0.0 for a in obs}, flags, {a: False for a in obs}, {a: {} for a in obs}


def parallel_env():
    return MultiDiscreteEnv()
