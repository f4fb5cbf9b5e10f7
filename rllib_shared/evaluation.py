"""Running a team policy on its PettingZoo env: returns and an optional GIF."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rllib_shared.envs.registry import base_env_name, make_pettingzoo_env, split_team_config
from rllib_shared.team.groups import natural_sorted


@dataclasses.dataclass
class EvaluationResult:
    """Mean returns over the evaluated episodes."""

    agent_returns: dict[str, float]
    team_return: float
    episodes: int
    gif: Path | None = None

    def summary(self) -> str:
        agents = "  ".join(f"{a}: {r:8.3f}" for a, r in self.agent_returns.items())
        text = f"{self.episodes} episodes | team return {self.team_return:.3f} | {agents}"
        return text + (f"\nGIF written to {self.gif}" if self.gif else "")


def evaluate(
    policy: Callable[[Mapping[Any, Any]], Mapping[Any, Any]],
    env_name: str,
    env_config: Mapping[str, Any] | None = None,
    *,
    episodes: int = 5,
    seed: int = 0,
    gif: str | Path | None = None,
    fps: int = 10,
) -> EvaluationResult:
    """Plays ``episodes`` episodes; the first one is recorded to ``gif`` if given.

    ``env_name`` may be a team env name (``<name>-team``, groups in its
    env_config): the PettingZoo env behind it is played.
    """
    env_config, _ = split_team_config(env_config)
    if gif is not None:
        env_config["render_mode"] = "rgb_array"
    env = make_pettingzoo_env(base_env_name(env_name), env_config)
    agents = natural_sorted(env.possible_agents)
    totals = {a: 0.0 for a in agents}
    frames = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            record = gif is not None and episode == 0
            while env.agents:
                if record:
                    frames.append(env.render())
                obs, rewards, *_ = env.step(policy(obs))
                for agent, reward in rewards.items():
                    totals[agent] += float(reward)
            if record:
                frames.append(env.render())
    finally:
        env.close()
    agent_returns = {a: totals[a] / episodes for a in agents}
    gif_path = write_gif(frames, gif, fps=fps) if gif is not None else None
    return EvaluationResult(agent_returns, float(sum(agent_returns.values())), episodes, gif_path)


def write_gif(frames: list[np.ndarray], path: str | Path, *, fps: int = 10) -> Path:
    """Writes RGB frames ``(H, W, 3)`` as an animated GIF with Pillow."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return path
