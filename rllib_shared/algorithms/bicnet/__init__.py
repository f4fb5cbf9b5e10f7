"""BiCNet (Peng et al. 2017) as an off-policy RLlib algorithm on the team layout."""

from rllib_shared.algorithms.bicnet.algorithm import (
    ALGO_NAME,
    BiCNet,
    BiCNetAlgorithmConfig,
    register_algorithm,
)
from rllib_shared.algorithms.bicnet.config import bicnet_team_config
from rllib_shared.algorithms.bicnet.module import BiCNetDDPGTorchRLModule

__all__ = [
    "ALGO_NAME",
    "BiCNet",
    "BiCNetAlgorithmConfig",
    "BiCNetDDPGTorchRLModule",
    "bicnet_team_config",
    "register_algorithm",
]
