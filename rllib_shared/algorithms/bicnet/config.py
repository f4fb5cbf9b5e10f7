"""The ``tune.run("BiCNet", config=...)`` dict, checked by the algorithm config now
rather than inside a Tune trial."""

from __future__ import annotations

from typing import Any

from rllib_shared.algorithms.bicnet.algorithm import BiCNetAlgorithmConfig
from rllib_shared.algorithms.bicnet.module import check_action_space, check_model
from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetConfig
from rllib_shared.registry import team_env_name
from rllib_shared.team.spec import TeamSpec


def bicnet_team_config(
    env: str, spec: TeamSpec, model: BiCNetConfig, settings: dict[str, Any]
) -> dict[str, Any]:
    """Algo BiCNet on the team layout: one policy per group's network (see TeamSpec)."""
    check_model(model)
    for observation_space, action_space in spec.spaces.values():
        _, discrete = check_action_space(action_space, observation_space.shape[0])
        if discrete and settings.get("target_noise", 0):
            raise ConfigError(
                "target_noise (TD3's target policy smoothing) adds noise to real-valued actions, and "
                "this team's actions are discrete: remove target_noise"
            )
        if discrete and settings.get("exploration_noise_type", "gaussian") != "gaussian":
            raise ConfigError(
                f"exploration_noise_type: {settings['exploration_noise_type']} is for real actions; "
                "this team's actions are discrete and explore by sampling the softmax of the logits: "
                "remove the setting"
            )
    config = {
        "env": team_env_name(env),
        "env_config": spec.env_config,
        "policies": spec.policies,
        "policy_mapping_fn": spec.policy_mapping_fn,
        "_model_config": model.to_dict(),
        **settings,
    }
    BiCNetAlgorithmConfig().update_from_dict(config).validate()
    return config
