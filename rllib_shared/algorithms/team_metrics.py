"""Per-agent episode returns for the team env, in RLlib's usual result keys.

With one RLlib agent for the whole team, RLlib itself only logs the team
return (under ``agent_episode_returns_mean/default_agent``). This episode-end
callback adds ``agent_episode_returns_mean/<agent>`` from the per-agent reward
vectors in the infos, so results, progress lines and learning curves look as
they do for the multi-agent algorithms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.utils.metrics import EPISODE_AGENT_RETURN_MEAN

from rllib_shared.envs.team_env import AGENT_REWARDS


def _agent_names(env: Any, env_index: int, n_agents: int) -> list[str]:
    """The team env's agent names (``agent_<k>`` if the vector env hides them)."""
    envs = getattr(env, "envs", None)
    if envs is not None:
        names = getattr(envs[env_index].unwrapped, "possible_agents", None)
        if names is not None and len(names) == n_agents:
            return [str(n) for n in names]
    return [f"agent_{k}" for k in range(n_agents)]


def log_team_agent_returns(
    *,
    episode: Any,
    metrics_logger: Any,
    env: Any = None,
    env_index: int = 0,
    env_runner: Any = None,
    prev_episode_chunks: list | None = None,
    **kwargs,
) -> None:
    """``on_episode_end`` callback: logs each agent's return of the finished episode.

    An episode can span several sample calls; every chunk's first info repeats
    the previous chunk's last one, so each chunk contributes its infos from
    index 1 on.
    """
    totals = None
    for chunk in [*(prev_episode_chunks or []), episode]:
        for info in chunk.get_infos(slice(1, len(chunk) + 1)):
            rewards = np.asarray(info[AGENT_REWARDS], np.float64)
            totals = rewards if totals is None else totals + rewards
    if totals is None:
        return
    window = getattr(getattr(env_runner, "config", None), "metrics_num_episodes_for_smoothing", 100)
    for name, value in zip(_agent_names(env, env_index, len(totals)), totals, strict=True):
        metrics_logger.log_value((EPISODE_AGENT_RETURN_MEAN, name), float(value), window=window)
