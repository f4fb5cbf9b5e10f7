"""ConnectorV2 pieces that feed the shared team network."""

from rllib_shared.connectors.team_rewards import (
    AddTeamRewardsFromInfos,
    team_rewards_connector,
)
from rllib_shared.connectors.team_view import TeamViewConnector, team_view_connector

__all__ = [
    "AddTeamRewardsFromInfos",
    "TeamViewConnector",
    "team_rewards_connector",
    "team_view_connector",
]
