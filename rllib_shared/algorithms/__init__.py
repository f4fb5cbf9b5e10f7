"""RLlib algorithms of our own: BiCNet (off-policy, deterministic actor)."""

from rllib_shared.algorithms.bicnet import (
    ALGO_NAME,
    BiCNet,
    BiCNetAlgorithmConfig,
    register_algorithm,
)

__all__ = ["ALGO_NAME", "BiCNet", "BiCNetAlgorithmConfig", "register_algorithm"]
