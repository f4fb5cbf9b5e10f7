"""Learner connector: the team env's per-agent rewards and terminations as columns.

The team env (:mod:`rllib_shared.envs.team_env`) gives RLlib the team-sum
reward and keeps the per-agent vectors in the step's info. BiCNet's critic
loss is per agent, so this piece copies them into the train batch:
``AGENT_REWARDS`` and ``AGENT_TERMINATEDS``, each ``(B, n_agents)``, aligned
with the transitions' rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.rl_module.rl_module import RLModule

from rllib_shared.envs.team_env import AGENT_REWARDS, AGENT_TERMINATEDS


class AddTeamRewardsFromInfos(ConnectorV2):
    """Adds the ``AGENT_REWARDS`` and ``AGENT_TERMINATEDS`` columns.

    The info of step ``t + 1`` describes transition ``t``, as the next
    observation does.
    """

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
            infos = episode.get_infos(slice(1, len(episode) + 1))
            for column, dtype in ((AGENT_REWARDS, np.float32), (AGENT_TERMINATEDS, np.float32)):
                self.add_n_batch_items(
                    batch,
                    column,
                    items_to_add=[np.asarray(info[column], dtype) for info in infos],
                    num_items=len(episode),
                    single_agent_episode=episode,
                )
        return batch


def team_rewards_connector(observation_space: Any = None, action_space: Any = None) -> ConnectorV2:
    """Factory for ``config["_learner_connector"]`` (signature ``(obs_space, act_space)``)."""
    return AddTeamRewardsFromInfos()
