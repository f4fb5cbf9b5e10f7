"""What every BiCNet module reads: the team array's feature count and the model options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetConfig
from rllib_shared.team.layout import N_FLAGS

# Keys RLlib's AlgorithmConfig adds to every module's model_config by itself.
RLLIB_AUTO_KEYS = frozenset({"vf_share_layers"})


def team_features(observation_space: gym.Space) -> int:
    """Per-agent feature count of a team-view space ``Box(n_agents, features + 2)``."""
    if not (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 2):
        raise ConfigError(
            f"the BiCNet module got observation space {observation_space}, not a team array "
            "Box(n_agents, features + 2): train PPO and BiCNet on the team env '<name>-team', "
            "and give APPO and IMPALA rllib_shared.algorithms.rows.team_view_connector as "
            "config['_env_to_module_connector'] (build_config does both for you)"
        )
    return observation_space.shape[1] - N_FLAGS


def bicnet_config(model_config: Mapping[str, Any] | None) -> BiCNetConfig:
    """Parses a module's model_config, ignoring only the keys RLlib adds itself."""
    values = {k: v for k, v in (model_config or {}).items() if k not in RLLIB_AUTO_KEYS}
    return BiCNetConfig.from_dict(values, where="the BiCNet model_config")
