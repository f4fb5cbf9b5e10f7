"""PettingZoo envs for RLlib: the PettingZoo adapter, the guessing-sum and recall games.

The env names usable as ``config["env"]`` live in :mod:`rllib_shared.registry`.
"""

from rllib_shared.envs.guessing_sum import GuessingSumEnv
from rllib_shared.envs.pettingzoo_env import PettingZooEnv
from rllib_shared.envs.recall import RecallEnv

__all__ = ["GuessingSumEnv", "PettingZooEnv", "RecallEnv"]
