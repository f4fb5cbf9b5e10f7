"""BiCNet-PPO on the team layout: RLlib's PPO with per-agent GAE and loss."""

from rllib_shared.algorithms.ppo.learner import TeamPPOTorchLearner
from rllib_shared.algorithms.ppo.module import TeamPPOTorchRLModule

__all__ = ["TeamPPOTorchLearner", "TeamPPOTorchRLModule"]
