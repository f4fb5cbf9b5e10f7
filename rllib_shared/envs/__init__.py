"""PettingZoo envs for RLlib: the wrappers, the guessing-sum and recall games, the registry."""

from rllib_shared.envs.guessing_sum import GuessingSumEnv
from rllib_shared.envs.pettingzoo_env import PettingZooEnv
from rllib_shared.envs.recall import RecallEnv
from rllib_shared.envs.registry import (
    ENV_NAMES,
    base_env_name,
    make_pettingzoo_env,
    make_rllib_env,
    make_team_env,
    register_envs,
    team_env_name,
)

__all__ = [
    "ENV_NAMES",
    "GuessingSumEnv",
    "PettingZooEnv",
    "RecallEnv",
    "base_env_name",
    "make_pettingzoo_env",
    "make_rllib_env",
    "make_team_env",
    "register_envs",
    "team_env_name",
]
