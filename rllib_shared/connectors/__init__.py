"""ConnectorV2 pieces that feed the shared team network."""

from rllib_shared.connectors.team_view import TeamViewConnector, team_view_connector

__all__ = ["TeamViewConnector", "team_view_connector"]
