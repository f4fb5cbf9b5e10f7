"""The guessing-sum game: a small task that cannot be solved without communication.

Every round each agent privately sees a random number and must say the sum
of all agents' numbers. An agent's reward is minus its error, divided by the
number of agents so the scale does not grow with the team. Without
communication an agent can only guess its own number plus the mean of the
others; with communication the error can reach zero.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from rllib_shared.errors import ConfigError


class GuessingSumEnv(ParallelEnv):
    """PettingZoo ParallelEnv of the guessing-sum game.

    Args:
        n_agents: Team size (any n >= 1).
        continuous: Numbers uniform in [-1, 1] and a Box action in
            [-n, n] (True), or integers 0..n_values-1 seen as Discrete
            observations and the sum said as a Discrete action (False).
        n_values: How many integers each agent can get (discrete variant).
        max_cycles: Rounds per episode.
        render_mode: None or "rgb_array".

    Example:
        >>> env = GuessingSumEnv(n_agents=2, continuous=False, n_values=3)
        >>> obs, _ = env.reset(seed=1)
        >>> total = sum(int(o) for o in obs.values())
        >>> _, rewards, *_ = env.step({a: total for a in env.agents})
        >>> rewards
        {'agent_0': 0.0, 'agent_1': 0.0}
    """

    metadata = {"name": "guessing_sum_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(
        self,
        n_agents: int = 3,
        continuous: bool = True,
        n_values: int = 3,
        max_cycles: int = 10,
        render_mode: str | None = None,
    ):
        if n_agents < 1 or n_values < 2 or max_cycles < 1:
            raise ConfigError(
                "guessing_sum_v0 needs n_agents >= 1, n_values >= 2 and max_cycles >= 1; "
                f"got n_agents={n_agents}, n_values={n_values}, max_cycles={max_cycles}"
            )
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"guessing_sum_v0 renders only 'rgb_array', got {render_mode!r}")
        self.n_agents = n_agents
        self.continuous = continuous
        self.n_values = n_values
        self.max_cycles = max_cycles
        self.render_mode = render_mode
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        if continuous:
            self._observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
            self._action_space = gym.spaces.Box(-n_agents, n_agents, (1,), np.float32)
        else:
            self._observation_space = gym.spaces.Discrete(n_values)
            self._action_space = gym.spaces.Discrete(n_agents * (n_values - 1) + 1)
        self.agents = []
        self._rng = np.random.default_rng()
        self._numbers = np.zeros(n_agents)
        self._guesses = np.zeros(n_agents)
        self._last_total = float("nan")
        self._cycle = 0

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return self._action_space

    def _draw(self):
        if self.continuous:
            self._numbers = self._rng.uniform(-1.0, 1.0, self.n_agents).astype(np.float32)
        else:
            self._numbers = self._rng.integers(0, self.n_values, self.n_agents)

    def _observations(self):
        if self.continuous:
            return {a: self._numbers[i : i + 1].copy() for i, a in enumerate(self.agents)}
        return {a: int(self._numbers[i]) for i, a in enumerate(self.agents)}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._cycle = 0
        self._guesses = np.zeros(self.n_agents)
        self._last_total = float("nan")
        self._draw()
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions):
        total = float(self._numbers.sum())
        rewards, infos = {}, {}
        for i, agent in enumerate(self.agents):
            guess = float(np.asarray(actions[agent]).reshape(-1)[0])
            self._guesses[i] = guess
            error = abs(guess - total)
            rewards[agent] = 0.0 - error / self.n_agents
            infos[agent] = {"error": error}
        self._last_total = total
        self._cycle += 1
        done = self._cycle >= self.max_cycles
        self._draw()
        obs = self._observations()
        terminations = {a: done for a in self.agents}
        truncations = {a: False for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from PIL import Image, ImageDraw

        # Top row: the numbers the agents see now. Bottom row: last round's
        # guesses, under last round's true sum.
        cell = 90
        image = Image.new("RGB", (cell * self.n_agents, 2 * cell + 20), "white")
        draw = ImageDraw.Draw(image)
        for i in range(self.n_agents):
            x = i * cell
            draw.rectangle([x + 4, 4, x + cell - 4, cell - 4], outline="black")
            draw.text((x + 10, 12), f"agent {i}", fill="black")
            draw.text((x + 10, 32), f"sees {self._numbers[i]:.2f}", fill="blue")
            if self._cycle:
                draw.text((x + 10, cell + 24), f"said {self._guesses[i]:.2f}", fill="red")
        if self._cycle:
            draw.text((4, cell + 4), f"round {self._cycle}: true sum {self._last_total:.2f}", fill="black")
        return np.asarray(image)

    def close(self):
        pass
