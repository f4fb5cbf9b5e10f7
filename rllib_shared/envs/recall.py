"""The recall game: a small task that cannot be solved without memory.

At the first step every agent privately sees a cue, one of ``n_cues``
symbols; then ``delay`` steps of blank observations follow; at the step after
them a flag asks each agent to name a cue: its own (``ask: own``) or the one the
next agent saw (``ask: next``, agent ``i`` names agent ``i + 1``'s cue,
cyclically). Only that answer is rewarded: 1 if right, 0 if not. Without
memory an agent can only guess (expected reward ``1 / n_cues``); ``ask:
next`` also needs communication at the first step, remembered until the last.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from rllib_shared.errors import ConfigError, check_choice

ASK = ("own", "next")


class RecallEnv(ParallelEnv):
    """PettingZoo ParallelEnv of the recall game.

    Observation ``Box(n_cues + 1)``: the one-hot cue at the first step, the
    question flag (last entry) at the last, zeros between. Action
    ``Discrete(n_cues)``: the cue named (read only at the last step).

    Args:
        n_agents: Team size (>= 1; ``ask: next`` needs >= 2).
        n_cues: How many different cues there are (>= 2).
        delay: Blank steps between cue and question (>= 0).
        ask: "own" or "next" (see the module doc).
        render_mode: None or "rgb_array".

    Example:
        >>> env = RecallEnv(n_agents=2, n_cues=3, delay=1)
        >>> obs, _ = env.reset(seed=0)
        >>> cues = {a: int(np.argmax(o[:3])) for a, o in obs.items()}
        >>> for _ in range(2):                                   # acting on the cue, the blank
        ...     _ = env.step({a: 0 for a in env.agents})
        >>> _, rewards, terminations, *_ = env.step(cues)        # the question
        >>> rewards, all(terminations.values())
        ({'agent_0': 1.0, 'agent_1': 1.0}, True)
    """

    metadata = {"name": "recall_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(
        self,
        n_agents: int = 2,
        n_cues: int = 4,
        delay: int = 5,
        ask: str = "own",
        render_mode: str | None = None,
    ):
        check_choice(ask, ASK, "recall_v0 ask")
        if n_agents < (2 if ask == "next" else 1) or n_cues < 2 or delay < 0:
            raise ConfigError(
                "recall_v0 needs n_agents >= 1 (>= 2 with ask: next), n_cues >= 2 and delay >= 0; "
                f"got n_agents={n_agents}, n_cues={n_cues}, delay={delay}, ask={ask!r}"
            )
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"recall_v0 renders only 'rgb_array', got {render_mode!r}")
        self.n_agents = n_agents
        self.n_cues = n_cues
        self.delay = delay
        self.ask = ask
        self.render_mode = render_mode
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self._observation_space = gym.spaces.Box(0.0, 1.0, (n_cues + 1,), np.float32)
        self._action_space = gym.spaces.Discrete(n_cues)
        self.agents = []
        self._rng = np.random.default_rng()
        self._cues = np.zeros(n_agents, np.int64)
        self._answers: np.ndarray | None = None
        self._step = 0

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return self._action_space

    @property
    def wanted(self) -> np.ndarray:
        """The cue each agent must name at the question."""
        return self._cues if self.ask == "own" else np.roll(self._cues, -1)

    def _observations(self) -> dict:
        obs = {a: np.zeros(self.n_cues + 1, np.float32) for a in self.agents}
        for i, agent in enumerate(self.agents):
            if self._step == 0:
                obs[agent][self._cues[i]] = 1.0
            if self._step == self.delay + 1:
                obs[agent][-1] = 1.0
        return obs

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._cues = self._rng.integers(0, self.n_cues, self.n_agents)
        self._answers = None
        self._step = 0
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions):
        question = self._step == self.delay + 1
        rewards = {}
        if question:
            self._answers = np.array([int(np.asarray(actions[a]).reshape(-1)[0]) for a in self.agents])
        for i, agent in enumerate(self.agents):
            rewards[agent] = float(question and self._answers[i] == self.wanted[i])
        self._step += 1
        obs = self._observations()
        terminations = {a: question for a in self.agents}
        truncations = {a: False for a in self.agents}
        infos = {a: {} for a in self.agents}
        if question:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from PIL import Image, ImageDraw

        cell = 90
        image = Image.new("RGB", (cell * self.n_agents, cell + 20), "white")
        draw = ImageDraw.Draw(image)
        draw.text((4, cell + 4), f"step {self._step} of {self.delay + 2}", fill="black")
        for i in range(self.n_agents):
            x = i * cell
            draw.rectangle([x + 4, 4, x + cell - 4, cell - 4], outline="black")
            draw.text((x + 10, 12), f"agent {i}", fill="black")
            draw.text((x + 10, 32), f"cue {self._cues[i]}", fill="blue")
            draw.text((x + 10, 48), f"wants {self.wanted[i]}", fill="gray")
            if self._answers is not None:
                right = self._answers[i] == self.wanted[i]
                draw.text((x + 10, 64), f"said {self._answers[i]}", fill="green" if right else "red")
        return np.asarray(image)

    def close(self):
        pass
