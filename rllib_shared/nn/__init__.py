"""Pure-torch BiCNet building blocks on ``(*B, n_agents, F)`` tensors (no Ray)."""

from rllib_shared.nn.bicnet import BiCNet, BiCNetActorCritic, BiCNetTrunk, mlp, start_near_zero
from rllib_shared.nn.communication import COMM_KINDS, AgentCommunication
from rllib_shared.nn.config import BiCNetConfig

__all__ = [
    "AgentCommunication",
    "BiCNet",
    "BiCNetActorCritic",
    "BiCNetConfig",
    "BiCNetTrunk",
    "COMM_KINDS",
    "mlp",
    "start_near_zero",
]
