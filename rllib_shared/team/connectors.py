"""Learner connector: a team env's per-agent rewards and dones as batch columns.

The team env (:mod:`rllib_shared.team.env`) gives RLlib one reward per group
and keeps the per-agent vectors in the step's info. Losses that are per
agent read them as ``AGENT_REWARDS`` and ``AGENT_DONES`` columns, each
``(B, n)``, aligned with the transitions' rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.rl_module.rl_module import RLModule

from rllib_shared.team.env import AGENT_DONES, AGENT_REWARDS, agent_vectors


class AddTeamRewardsFromInfos(ConnectorV2):
    """Adds the ``AGENT_REWARDS`` (float32) and ``AGENT_DONES`` (float32 0/1) columns."""

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
            rewards, dones = agent_vectors(episode, len(episode))
            for column, values in ((AGENT_REWARDS, rewards), (AGENT_DONES, dones.astype(np.float32))):
                self.add_n_batch_items(
                    batch,
                    column,
                    items_to_add=list(values),
                    num_items=len(episode),
                    single_agent_episode=episode,
                )
        return batch
