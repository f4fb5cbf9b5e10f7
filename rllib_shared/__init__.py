"""rllib_shared: one BiCNet network for every agent of a PettingZoo env, in RLlib.

Importing the package registers its env names and the "BiCNet" algorithm
with Ray Tune.
"""

from rllib_shared.algorithms import register_algorithm
from rllib_shared.config import build_config, experiment_settings, load_yaml
from rllib_shared.errors import ConfigError, ObservationError
from rllib_shared.inference import load_policy
from rllib_shared.policy_mapping import SHARED_POLICY_ID, map_to_shared_policy
from rllib_shared.registry import ENV_NAMES, register_envs

register_envs()
register_algorithm()

__all__ = [
    "ENV_NAMES",
    "SHARED_POLICY_ID",
    "ConfigError",
    "ObservationError",
    "build_config",
    "experiment_settings",
    "load_policy",
    "load_yaml",
    "map_to_shared_policy",
    "register_algorithm",
    "register_envs",
]
