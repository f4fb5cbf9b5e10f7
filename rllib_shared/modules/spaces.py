"""What the BiCNet modules accept: the team-view observation and the action space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
)

from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetConfig
from rllib_shared.team_view import N_FLAGS

# Keys RLlib's AlgorithmConfig adds to every module's model_config by itself.
RLLIB_AUTO_KEYS = frozenset({"vf_share_layers"})


def team_features(observation_space: gym.Space) -> int:
    """Per-agent feature count of a team-view space ``Box(n_agents, features + 2)``."""
    if not (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 2):
        raise ConfigError(
            f"the BiCNet module got observation space {observation_space}, not a team view "
            "Box(n_agents, features + 2): put rllib_shared.connectors.team_view_connector "
            "into config['_env_to_module_connector'] (build_config does this for you)"
        )
    return observation_space.shape[1] - N_FLAGS


def action_head(action_space: gym.Space) -> tuple[type, int]:
    """Distribution class and per-agent head width for an action space."""
    if isinstance(action_space, gym.spaces.Discrete):
        return TorchCategorical, int(action_space.n)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return TorchDiagGaussian, 2 * int(action_space.shape[0])
    raise ConfigError(
        f"the BiCNet module cannot handle action space {action_space}: use Discrete or a "
        "1-D Box (flatten other Box shapes; MultiDiscrete, Dict and Tuple actions are "
        "not supported)"
    )


def bicnet_config(model_config: Mapping[str, Any] | None) -> BiCNetConfig:
    """Parses a module's model_config, ignoring only the keys RLlib adds itself."""
    values = {k: v for k, v in (model_config or {}).items() if k not in RLLIB_AUTO_KEYS}
    return BiCNetConfig.from_dict(values, where="the BiCNet model_config")
