"""The ``tune.run("APPO" | "IMPALA", config=...)`` dict: BiCNet on per-agent rows."""

from __future__ import annotations

from typing import Any

from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_shared.algorithms.rows.connector import team_view_connector
from rllib_shared.algorithms.rows.module import BiCNetAPPOTorchRLModule, BiCNetPPOTorchRLModule
from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetConfig
from rllib_shared.policy_mapping import SHARED_POLICY_ID, map_to_shared_policy
from rllib_shared.team.env import GROUPS_KEY
from rllib_shared.team.model import module_model_config
from rllib_shared.team.spec import TeamSpec

MODULE_FOR_ALGO = {"APPO": BiCNetAPPOTorchRLModule, "IMPALA": BiCNetPPOTorchRLModule}


def rows_config(
    algo: str, env: str, spec: TeamSpec, model: BiCNetConfig, settings: dict[str, Any]
) -> dict[str, Any]:
    """Every agent an RLlib agent on the one policy ``shared``, seeing its team view."""
    if len(spec.group_sizes) > 1:
        raise ConfigError(
            f"algo {algo} trains one team on per-agent rows and has no agent groups; use "
            "algo PPO (or BiCNet) for 'groups', or remove the key"
        )
    env_config = {k: v for k, v in spec.env_config.items() if k != GROUPS_KEY}
    model_config = module_model_config(model, agent_shape=spec.agent_shapes.get(SHARED_POLICY_ID))
    module_spec = RLModuleSpec(module_class=MODULE_FOR_ALGO[algo], model_config=model_config)
    return {
        "env": env,
        "env_config": env_config,
        "policies": {SHARED_POLICY_ID},
        "policy_mapping_fn": map_to_shared_policy,
        "rl_module_spec": MultiRLModuleSpec(rl_module_specs={SHARED_POLICY_ID: module_spec}),
        "_env_to_module_connector": team_view_connector,
        **settings,
    }
