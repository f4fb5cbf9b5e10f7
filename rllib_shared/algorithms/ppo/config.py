"""The ``tune.run("PPO", config=...)`` dict of BiCNet-PPO on the team layout."""

from __future__ import annotations

from typing import Any

from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_shared.algorithms.ppo.learner import TeamPPOTorchLearner
from rllib_shared.algorithms.ppo.module import TeamPPOTorchRLModule
from rllib_shared.registry import team_env_name
from rllib_shared.nn import BiCNetConfig
from rllib_shared.team.metrics import log_pettingzoo_agent_returns
from rllib_shared.team.model import module_model_config
from rllib_shared.team.spec import TeamSpec


def ppo_team_config(
    env: str, spec: TeamSpec, model: BiCNetConfig, settings: dict[str, Any]
) -> dict[str, Any]:
    """RLlib's PPO with the team module and learner, one policy per group's network.

    Example:
        >>> from rllib_shared.team.spec import team_spec
        >>> config = ppo_team_config("guessing_sum_v0", team_spec("guessing_sum_v0", {}),
        ...                          BiCNetConfig(), {"lr": 1e-3})
        >>> config["env"], sorted(config["policies"]), config["lr"]
        ('guessing_sum_v0-team', ['shared'], 0.001)
    """
    module_specs = {
        policy: RLModuleSpec(
            module_class=TeamPPOTorchRLModule,
            model_config=module_model_config(model, state_size=spec.state_size,
                                             agent_shape=spec.agent_shapes.get(policy), policy=policy),
        )
        for policy in sorted(spec.policies)
    }
    return {
        "env": team_env_name(env),
        "env_config": spec.env_config,
        "policies": spec.policies,
        "policy_mapping_fn": spec.policy_mapping_fn,
        "rl_module_spec": MultiRLModuleSpec(rl_module_specs=module_specs),
        "_learner_class": TeamPPOTorchLearner,
        "callbacks_on_episode_end": log_pettingzoo_agent_returns,
        **settings,
    }
