"""Replay buffers of algo BiCNet: RLlib's multi-agent episode buffers, with infos.

One RLlib agent of the team layout is a whole group, so RLlib's multi-agent
episode buffers keep every transition of a group whole. The per-agent
rewards and dones live in the infos, which RLlib's buffers drop unless
``sample(include_infos=True)``; DQN's training loop, which BiCNet reuses,
never asks for them. A ``seed`` (algo BiCNet passes the run's) makes the
sampling reproducible; RLlib's buffers draw from an unseeded generator.
"""

from __future__ import annotations

import numpy as np
from ray.rllib.utils.replay_buffers.multi_agent_episode_buffer import MultiAgentEpisodeReplayBuffer
from ray.rllib.utils.replay_buffers.multi_agent_prioritized_episode_buffer import (
    MultiAgentPrioritizedEpisodeReplayBuffer,
)


class TeamEpisodeReplayBuffer(MultiAgentEpisodeReplayBuffer):
    """RLlib's ``MultiAgentEpisodeReplayBuffer`` that always returns the infos."""

    def __init__(self, *args, seed: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rng = np.random.default_rng(seed)

    def sample(self, *args, **kwargs):
        kwargs["include_infos"] = True
        return super().sample(*args, **kwargs)


class TeamPrioritizedEpisodeReplayBuffer(MultiAgentPrioritizedEpisodeReplayBuffer):
    """RLlib's ``MultiAgentPrioritizedEpisodeReplayBuffer`` that always returns the infos."""

    def __init__(self, *args, seed: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rng = np.random.default_rng(seed)

    def sample(self, *args, **kwargs):
        kwargs["include_infos"] = True
        return super().sample(*args, **kwargs)


REPLAY_BUFFERS = {
    "EpisodeReplayBuffer": f"{__name__}.{TeamEpisodeReplayBuffer.__name__}",
    "PrioritizedEpisodeReplayBuffer": f"{__name__}.{TeamPrioritizedEpisodeReplayBuffer.__name__}",
}
"""``replay_buffer_config.type`` a user writes -> the buffer class path RLlib gets."""
