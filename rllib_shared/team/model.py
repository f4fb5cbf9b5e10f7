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
STATE_SIZE_KEY = "state_size"
"""model_config key build_config adds with ``critic_input: state``: the global state's size."""
IMAGE_SHAPE_KEY = "image_shape"
"""model_config key build_config adds with ``encoder: cnn``: each agent's image shape."""
PLUGIN_KEYS = frozenset({STATE_SIZE_KEY, IMAGE_SHAPE_KEY})


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
    values = {k: v for k, v in (model_config or {}).items() if k not in RLLIB_AUTO_KEYS | PLUGIN_KEYS}
    return BiCNetConfig.from_dict(values, where="the BiCNet model_config")


def state_size(model_config: Mapping[str, Any] | None, bicnet: BiCNetConfig) -> int:
    """The global state's size a module's critic reads (0 with ``critic_input: local``)."""
    if bicnet.critic_input != "state":
        return 0
    size = (model_config or {}).get(STATE_SIZE_KEY)
    if not (isinstance(size, int) and size > 0):
        raise ConfigError(
            f"critic_input: state needs model_config[{STATE_SIZE_KEY!r}], the size of the env's "
            "global state (build_config sets it)"
        )
    return size



def image_shape(model_config: Mapping[str, Any] | None, bicnet: BiCNetConfig) -> tuple[int, ...] | None:
    """The agents' image shape a module's CNN encoder reads (None with ``encoder: mlp``)."""
    if bicnet.encoder != "cnn":
        return None
    shape = (model_config or {}).get(IMAGE_SHAPE_KEY)
    if not shape:
        raise ConfigError(f"encoder: cnn needs model_config[{IMAGE_SHAPE_KEY!r}] (build_config sets it)")
    return tuple(int(s) for s in shape)


def module_model_config(
    model: BiCNetConfig, *, state_size: int = 0, agent_shape: tuple | None = None, policy: str = "shared"
) -> dict[str, Any]:
    """A module's model_config: the model options, plus what its encoder and
    critic need to know of the env (the global state's size, the image shape)."""
    config = model.to_dict()
    if model.critic_input == "state":
        config[STATE_SIZE_KEY] = state_size
    if model.encoder == "cnn":
        if agent_shape is None or len(agent_shape) not in (2, 3):
            raise ConfigError(
                f"model.encoder: cnn needs image observations of one shape (H, W, C) for every agent "
                f"of policy {policy!r}; they have {'different shapes' if agent_shape is None else agent_shape}: "
                "use encoder: mlp"
            )
        config[IMAGE_SHAPE_KEY] = list(agent_shape)
    return config
