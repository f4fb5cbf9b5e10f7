"""APPO and IMPALA on per-agent rows: every agent is an RLlib agent whose
observation is its team view (the whole team, n_agents x features), so
compute and episode storage grow with n_agents². PPO and BiCNet use the team
layout instead (:mod:`rllib_shared.team`), at linear cost."""

from rllib_shared.algorithms.rows.connector import TeamViewConnector, team_view_connector
from rllib_shared.algorithms.rows.module import BiCNetAPPOTorchRLModule, BiCNetPPOTorchRLModule

__all__ = [
    "BiCNetAPPOTorchRLModule",
    "BiCNetPPOTorchRLModule",
    "TeamViewConnector",
    "team_view_connector",
]
