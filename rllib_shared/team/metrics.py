"""Per-agent episode returns of the team layout, in the results.

RLlib sees groups, so its ``agent_episode_returns_mean`` holds one return per
group (the sum over the group's agents). This episode-end callback adds every
PettingZoo agent's own return, from the per-agent reward vectors in the
infos, under ``env_runners/pettingzoo_agent_returns_mean/<agent>``; progress
lines and learning curves show those.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rllib_shared.team.env import agent_vectors

PETTINGZOO_AGENT_RETURNS = "pettingzoo_agent_returns_mean"
"""Result key (under ``env_runners``) of the per-agent mean episode returns."""


def _team_env(env: Any, env_index: int) -> Any:
    envs = getattr(env, "envs", None)
    return envs[env_index].unwrapped if envs is not None else getattr(env, "unwrapped", env)


def _group_episodes(episode: Any) -> dict[Any, Any]:
    """``{group: single-agent episode}`` of a multi-agent episode chunk."""
    return dict(getattr(episode, "agent_episodes", {}))


def log_pettingzoo_agent_returns(
    *,
    episode: Any,
    metrics_logger: Any,
    env: Any = None,
    env_index: int = 0,
    env_runner: Any = None,
    prev_episode_chunks: list | None = None,
    **kwargs,
) -> None:
    """``on_episode_end`` callback: logs each PettingZoo agent's return of the episode.

    An episode can span several sample calls; each chunk's first info repeats
    the previous chunk's last one, so a chunk contributes its infos from
    index 1 on.
    """
    groups = getattr(_team_env(env, env_index), "groups", None)
    if not groups:
        return
    window = getattr(getattr(env_runner, "config", None), "metrics_num_episodes_for_smoothing", 100)
    totals: dict[Any, np.ndarray] = {}
    for chunk in [*(prev_episode_chunks or []), episode]:
        for group_id, group_episode in _group_episodes(chunk).items():
            if len(group_episode):
                rewards, _ = agent_vectors(group_episode, len(group_episode))
                totals[group_id] = totals.get(group_id, 0.0) + rewards.sum(0, dtype=np.float64)
    for group_id, returns in totals.items():
        for agent, value in zip(groups[group_id].agents, returns, strict=True):
            metrics_logger.log_value((PETTINGZOO_AGENT_RETURNS, str(agent)), float(value), window=window)
