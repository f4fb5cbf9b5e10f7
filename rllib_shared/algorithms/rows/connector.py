"""Env-to-module connector that gives every agent the team view.

It replaces each agent's latest observation by its team view (see
:mod:`rllib_shared.team_view`) and writes it back into the episode, so the
learner trains on exactly what the module saw while sampling, without any
learner connector. Agents stay separate RLlib agents: per-agent rewards,
GAE, metrics and shuffling are RLlib's own.
"""

from __future__ import annotations

import gymnasium as gym
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    MultiAgentObservationPreprocessor,
)
from ray.rllib.utils.annotations import override

from rllib_shared.errors import ConfigError
from rllib_shared.team.layout import TeamLayout


class TeamViewConnector(MultiAgentObservationPreprocessor):
    """Observation dict ``{agent: obs}`` -> ``{agent: (n_agents, features + 2)}``."""

    @override(MultiAgentObservationPreprocessor)
    def recompute_output_observation_space(
        self, input_observation_space: gym.Space, input_action_space: gym.Space
    ) -> gym.Space:
        if not isinstance(input_observation_space, gym.spaces.Dict):
            raise ConfigError(
                "the team view needs a multi-agent env (a Dict observation space keyed by "
                f"agent), got {input_observation_space}"
            )
        self.layout = TeamLayout.from_spaces(input_observation_space.spaces)
        team_space = self.layout.observation_space()
        return gym.spaces.Dict({agent: team_space for agent in self.layout.agents})

    @override(MultiAgentObservationPreprocessor)
    def preprocess(self, observations, episode):
        return self.layout.encode(observations)


def team_view_connector(env=None, spaces=None, device=None) -> TeamViewConnector:
    """Factory for ``config["_env_to_module_connector"]`` (RLlib's signature)."""
    return TeamViewConnector()
