"""PettingZoo envs for RLlib: the wrapper, the guessing-sum game, the registry."""

from rllib_shared.envs.guessing_sum import GuessingSumEnv
from rllib_shared.envs.pettingzoo_env import PettingZooEnv
from rllib_shared.envs.registry import (
    ENV_NAMES,
    make_pettingzoo_env,
    make_rllib_env,
    register_envs,
)

__all__ = [
    "ENV_NAMES",
    "GuessingSumEnv",
    "PettingZooEnv",
    "make_pettingzoo_env",
    "make_rllib_env",
    "register_envs",
]
