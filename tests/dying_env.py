"""A tiny real PettingZoo env in which one agent dies early (for dead-agent tests).

agent_1 terminates at the first step; the others are truncated at step 3.
Each agent's reward is its own action, so bounds and agent order show.
"""

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv


class DyingEnv(ParallelEnv):
    metadata = {"name": "dying_v0", "is_parallelizable": True}
    possible_agents = ["agent_0", "agent_1", "agent_2"]

    def observation_space(self, agent):
        return gym.spaces.Box(-10, 10, (2,), np.float32)

    def action_space(self, agent):
        return gym.spaces.Box(-2.0, 2.0, (1,), np.float32)

    def _obs(self):
        return {a: np.array([self.t, int(a[-1])], np.float32) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        assert set(actions) == set(self.agents), (sorted(actions), self.agents)
        self.t += 1
        rewards = {a: float(actions[a][0]) for a in self.agents}
        terminated = {a: a == "agent_1" for a in self.agents}
        truncated = {a: self.t >= 3 for a in self.agents}
        obs = self._obs()
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return obs, rewards, terminated, truncated, {a: {} for a in obs}


def parallel_env():
    return DyingEnv()
