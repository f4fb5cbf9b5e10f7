"""Ornstein-Uhlenbeck exploration noise for algo BiCNet's env runners (DDPG's choice).

With ``exploration_noise_type: ou`` the actor explores with temporally
correlated noise instead of independent Gaussian noise: per env episode and
group, ``x <- x - theta * x + sigma * N(0, 1)`` each step, starting from 0 at
the episode's first step, added to the actor's actions in [-1, 1] and
clipped. ``sigma`` is the module's annealed ``exploration_sigma`` (the same
schedule as the Gaussian noise), which reaches the env runners with the
weights. The noise is drawn from torch's generator, which RLlib seeds per
env runner.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override

NOISE_TYPES = ("gaussian", "ou")


class OrnsteinUhlenbeckNoise(ConnectorV2):
    """Module-to-env piece: adds each episode's OU noise to its group's actions.

    Sits after the actions are split into per-(episode, agent) items and
    before RLlib maps them onto the env's bounds; acts only when exploring.
    """

    def __init__(self, input_observation_space=None, input_action_space=None, *, theta: float = 0.15, **kwargs):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.theta = float(theta)
        self.noise: dict[tuple, np.ndarray] = {}
        """The running noise per (episode ID, agent ID) of the episodes acting now."""

    @override(ConnectorV2)
    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, explore=None, shared_data=None, **kwargs):
        """Shapes: each ``batch[ACTIONS][(episode, agent, module)]`` item ``(n * A,)``
        real joint actions in [-1, 1], replaced by ``clip(a + x)``."""
        if not explore or Columns.ACTIONS not in batch:
            return batch
        running = {}
        for (episode_id, agent_id, module_id), items in batch[Columns.ACTIONS].items():
            sigma = float(rl_module[module_id].exploration_sigma)
            key = (episode_id, agent_id)
            for i, action in enumerate(items):
                x = self.noise.get(key, np.zeros_like(action, dtype=np.float32))
                x = (1.0 - self.theta) * x + sigma * torch.randn(x.shape).numpy()
                running[key] = x
                items[i] = np.clip(action + x, -1.0, 1.0).astype(action.dtype)
        self.noise = running  # episodes that ended are forgotten; new ones start from 0
        return batch
