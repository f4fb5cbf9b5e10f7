"""The algorithms, one folder each (config, learner, module):

- ``ppo``: RLlib's PPO on the team layout, per-agent GAE and loss;
- ``bicnet``: BiCNet's own off-policy algorithm on the team layout;
- ``rows``: RLlib's APPO and IMPALA on per-agent rows (n² cost).

:data:`BUILDERS` maps an ``algo`` name to the function that turns the checked
parts of a user config into the dict ``tune.run(algo, config=...)`` takes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.registry import ALGORITHMS

from rllib_shared.algorithms.bicnet import (
    ALGO_NAME,
    BiCNet,
    BiCNetAlgorithmConfig,
    bicnet_team_config,
    register_algorithm,
)
from rllib_shared.algorithms.ppo.config import ppo_team_config
from rllib_shared.algorithms.rows.config import rows_config

BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "PPO": ppo_team_config,
    "APPO": functools.partial(rows_config, "APPO"),
    "IMPALA": functools.partial(rows_config, "IMPALA"),
    ALGO_NAME: bicnet_team_config,
}
"""``algo`` -> ``builder(env, team_spec, bicnet_config, rllib_settings) -> tune config dict``."""


def default_algorithm_config(algo: str) -> AlgorithmConfig:
    """A fresh default config of ``algo`` (ours or RLlib's)."""
    return BiCNetAlgorithmConfig() if algo == ALGO_NAME else ALGORITHMS[algo]()[1]


__all__ = [
    "ALGO_NAME",
    "BUILDERS",
    "BiCNet",
    "BiCNetAlgorithmConfig",
    "default_algorithm_config",
    "register_algorithm",
]
