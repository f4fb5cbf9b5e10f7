"""Learner connectors: what a team env keeps in its infos, as batch columns.

The team env (:mod:`rllib_shared.team.env`) keeps the env's global state in
the step's info when asked. A critic that reads it reads it as the ``STATE``
column ``(B, S)``, aligned with the observations' rows. (The per-agent
rewards and dones in the infos are read by PPO's team GAE and algo BiCNet's
replay buffer straight from the episodes.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.rl_module.rl_module import RLModule

from rllib_shared.team.env import STATE


class _ColumnsFromInfos(ConnectorV2):
    """Adds, for every single-agent episode, the columns :meth:`columns` reads
    from its infos, one item per batch row of the episode."""

    def columns(self, episode: Any) -> dict[str, list]:
        raise NotImplementedError

    def __call__(
        self,
        *,
        rl_module: RLModule,
        batch: dict[str, Any],
        episodes: list[Any],
        explore: bool | None = None,
        shared_data: dict | None = None,
        **kwargs,
    ) -> Any:
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            for column, items in self.columns(episode).items():
                self.add_n_batch_items(
                    batch, column, items_to_add=items, num_items=len(episode), single_agent_episode=episode
                )
        return batch


class AddGlobalStateFromInfos(_ColumnsFromInfos):
    """Adds the ``STATE`` column (float32 ``(S,)`` per row) when the episodes'
    infos hold the env's global state; otherwise leaves the batch alone."""

    def columns(self, episode: Any) -> dict[str, list]:
        infos = episode.get_infos(slice(0, len(episode)))
        if not infos or STATE not in infos[0]:
            return {}
        return {STATE: [np.asarray(info[STATE], np.float32) for info in infos]}
