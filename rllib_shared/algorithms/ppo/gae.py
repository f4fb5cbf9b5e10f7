"""Per-agent generalized advantage estimation on the team layout.

One row of a group's episode holds every agent of the group, so values,
rewards and "done" flags are ``(T, n)``. Each agent gets its own GAE from
its own reward and value stream; an agent whose ``AGENT_DONES`` flag is set
at step ``t`` (it terminated, or left while its group played on)
bootstraps from 0 there and no advantage flows back across that step. The
rewards are the env's per-agent rewards, or the team's with ``team_reward``
(:mod:`rllib_shared.team.credit`). With ``model.normalize_value`` the
value targets of the live agent-steps update the critic's running statistics
here, once per train batch, before the update uses them. Rows
where an agent is dead are masked out of the loss (``AGENT_MASK``). A module
with memory gets its batch as zero-padded ``max_seq_len`` sequences
``(S, T, ...)``; GAE runs on their real timesteps and is padded back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import tree
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.numpy import convert_to_numpy

from rllib_shared.team.credit import assign_credit, check_team_reward
from rllib_shared.team.env import STATE, agent_vectors
from rllib_shared.team.layout import ALIVE

AGENT_MASK = "agent_mask"
"""Batch column ``(B, n)`` bool: this agent acted at this step (alive, real timestep)."""
VALUE_CHUNK_AGENT_ROWS = 16_384
"""Agent rows per forward pass of :func:`batch_values`."""


@torch.no_grad()
def batch_values(module: Any, batch: dict[str, Any]) -> torch.Tensor:
    """Shapes: ``batch[OBS]`` ``(B, n, F + 2)`` (and ``batch[STATE]`` ``(B, S)``
    for a critic that reads the global state) -> values ``(B, n)``; for a
    module with memory ``(B, T, ...)`` sequences with ``batch[STATE_IN]``
    ``{key: (B, n, H)}`` -> ``(B, T, n)``.

    The value pass over a whole train batch, without autograd and in chunks of
    about :data:`VALUE_CHUNK_AGENT_ROWS` agent rows: in one pass, the
    communication layer's gates alone would hold ``B * n * 8 * hidden`` floats.
    """
    obs = batch[Columns.OBS]
    rows = max(1, VALUE_CHUNK_AGENT_ROWS // max(1, int(np.prod(obs.shape[1:-1]))))
    inputs = {c: batch[c] for c in (Columns.OBS, STATE, Columns.STATE_IN) if c in batch}
    return torch.cat([
        module.compute_values(tree.map_structure(lambda t: t[start : start + rows], inputs))
        for start in range(0, obs.shape[0], rows)
    ])


def per_agent_gae(
    values: np.ndarray,
    rewards: np.ndarray,
    dones: np.ndarray,
    *,
    gamma: float,
    lambda_: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE for every agent of one episode chunk at once.

    Args:
        values: ``(T + 1, n)`` values; row ``T`` is the bootstrap state after the chunk.
        rewards: ``(T, n)`` per-agent rewards.
        dones: ``(T, n)``, True where agent ``i`` is not bootstrapped after step ``t``.

    Returns:
        advantages and value targets, each ``(T, n)`` float32.

    >>> adv, targets = per_agent_gae(np.zeros((3, 2)), np.ones((2, 2)),
    ...     np.array([[False, True], [False, False]]), gamma=0.5, lambda_=1.0)
    >>> adv.tolist()  # agent 1 is done after step 0: nothing flows back from step 1
    [[1.5, 1.0], [1.0, 1.0]]
    """
    not_done = 1.0 - dones.astype(np.float32)
    deltas = rewards + gamma * not_done * values[1:] - values[:-1]
    advantages = np.zeros_like(deltas, dtype=np.float32)
    running = np.zeros(deltas.shape[1], np.float32)
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lambda_ * not_done[t] * running
        advantages[t] = running
    return advantages, (advantages + values[:-1]).astype(np.float32)


def _timesteps(batch: dict[str, Any]) -> np.ndarray:
    """``(S, T)`` bool: which entries of zero-padded sequences are timesteps
    (from ``SEQ_LENS`` ``(S,)``)."""
    seq_lens = convert_to_numpy(batch[Columns.SEQ_LENS])
    return np.arange(batch[Columns.OBS].shape[1])[None, :] < seq_lens[:, None]


def _pad(flat: np.ndarray, sequences: np.ndarray) -> np.ndarray:
    """Rows ``(N, ...)`` back into the zero-padded sequences ``(S, T, ...)``
    whose real timesteps ``sequences`` ``(S, T)`` marks (N of them)."""
    padded = np.zeros(sequences.shape + flat.shape[1:], flat.dtype)
    padded[sequences] = flat
    return padded


class TeamGeneralAdvantageEstimation(ConnectorV2):
    """Learner piece: per-agent advantages, value targets and loss mask, ``(B, n)`` each.

    Takes the place of RLlib's ``GeneralAdvantageEstimation`` at the end of
    PPO's learner pipeline, with the same contract: episodes arrive extended
    by one artificial timestep (``AddOneTsToEpisodesAndTruncate``), and the
    batch rows of a module are its episodes' timesteps in iteration order.
    """

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, gamma, lambda_, team_reward="none"
    ):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self.team_reward = check_team_reward(team_reward)

    @override(ConnectorV2)
    def __call__(self, *, rl_module, episodes, batch: dict[str, Any], **kwargs):
        sa_episodes = list(self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False))
        for module_id, module_batch in batch.items():
            module = rl_module[module_id]
            values = batch_values(module, module_batch)
            device = values.device
            values = convert_to_numpy(values)
            alive = convert_to_numpy(module_batch[Columns.OBS])[..., ALIVE] > 0.5
            # A module with memory gets zero-padded sequences (S, T, ...): GAE
            # runs on the real timesteps, in episode order, then is padded back.
            sequences = _timesteps(module_batch) if module.is_stateful() else None
            if sequences is not None:
                values, alive = values[sequences], alive[sequences]
            advantages = np.zeros_like(values, dtype=np.float32)
            targets = np.zeros_like(values, dtype=np.float32)
            row = 0
            for episode in sa_episodes:
                if episode.module_id not in (None, module_id):
                    continue
                rows = len(episode)  # real timesteps + the artificial one
                rewards, dones = agent_vectors(episode, rows - 1)
                rewards = assign_credit(rewards, alive[row : row + rows - 1], self.team_reward)
                adv, tgt = per_agent_gae(
                    values[row : row + rows], rewards, dones, gamma=self.gamma, lambda_=self.lambda_
                )
                advantages[row : row + rows - 1] = adv
                targets[row : row + rows - 1] = tgt
                row += rows
            if row != values.shape[0]:
                raise RuntimeError(
                    f"team GAE: {row} episode rows but {values.shape[0]} batch rows for {module_id!r}"
                )
            mask = alive.copy()
            if Columns.LOSS_MASK in module_batch:  # False at each episode's artificial last timestep
                loss_mask = convert_to_numpy(module_batch[Columns.LOSS_MASK]).astype(bool)
                mask &= (loss_mask if sequences is None else loss_mask[sequences])[:, None]
            module.observe_value_targets(torch.as_tensor(targets), torch.as_tensor(mask))
            valid = advantages[mask]
            if valid.size:
                advantages = (advantages - valid.mean()) / max(1e-4, float(valid.std()))
            advantages = np.where(mask, advantages, 0.0).astype(np.float32)
            if sequences is not None:
                advantages, targets, mask = (_pad(x, sequences) for x in (advantages, targets, mask))
            module_batch[Postprocessing.ADVANTAGES] = torch.as_tensor(advantages, device=device)
            module_batch[Postprocessing.VALUE_TARGETS] = torch.as_tensor(targets, device=device)
            module_batch[AGENT_MASK] = torch.as_tensor(mask, device=device)
        return batch
