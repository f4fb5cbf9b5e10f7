"""Replay of algo BiCNet: team transitions as flat arrays, handed to the learner as one batch.

One RLlib agent of the team layout is a whole group, so one transition is a
whole group at one step. :class:`TeamReplayBuffer` keeps, per module, a ring
of ``capacity`` transitions in preallocated arrays: observation ``(n, F + 2)``
(alive flags included), joint action, per-agent (n-step) return ``(n,)``,
per-agent bootstrap discount ``(n,)`` and the observation the return
bootstraps from. Episodes are turned into transitions once, when added
(:func:`n_step_transitions`); sampling is index arithmetic, and the sample is
a ``MultiAgentBatch`` of numpy arrays that the learner takes as it is (no
episode objects, no learner connector).

With ``alpha`` (prioritised replay, Schaul et al. 2016) rows are drawn with
probability ``p_i^alpha / sum p^alpha``, new rows get the largest priority
so far, ``weights`` are the importance weights ``(N P_i)^-beta`` over their
largest possible value, and :meth:`TeamReplayBuffer.update_priorities` takes
the learner's per-row TD errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from rllib_shared.errors import ConfigError
from rllib_shared.team.credit import assign_credit
from rllib_shared.team.env import AGENT_REWARDS, agent_vectors
from rllib_shared.team.layout import ALIVE

AGENT_DISCOUNTS = "agent_discounts"
"""Batch column ``(B, n)``: what agent ``i``'s target multiplies the bootstrap
value by, ``gamma^m`` (``m`` steps of its return) or 0 if it was done within them."""
WEIGHTS = "weights"
"""Batch column ``(B,)``: importance weights of prioritised replay (1 without)."""
COLUMNS = (Columns.OBS, Columns.ACTIONS, AGENT_REWARDS, AGENT_DISCOUNTS, Columns.NEXT_OBS)


def n_step_transitions(
    obs: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    dones: np.ndarray,
    *,
    n_step: int,
    gamma: float,
    complete: bool,
) -> tuple[dict[str, np.ndarray], int]:
    """Per-agent n-step transitions of one stretch of a group's episode.

    Args:
        obs: ``(T + 1, n, F + 2)``; ``obs[t + 1]`` follows action ``t``.
        actions: ``(T, ...)`` joint actions.
        rewards, dones: ``(T, n)``; ``dones[t, i]``: agent ``i`` is not
            bootstrapped after step ``t`` (it terminated or left).
        n_step: Steps summed per return.
        complete: The episode ends after step ``T - 1`` (then the last
            transitions get shorter returns); otherwise the last ``n_step - 1``
            steps wait for the episode's next stretch.

    Returns:
        The columns of :data:`COLUMNS` for the ``K`` transitions ready now,
        and ``K``. Agent ``i``'s return from step ``t`` is ``sum_k gamma^k
        r_i[t + k]`` over ``m = min(n_step, T - t)`` steps, cut after its first
        done; its discount is ``gamma^m``, or 0 if it was done within them.

    >>> r = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    >>> d = np.array([[False, True], [False, False], [False, False]])
    >>> out, k = n_step_transitions(np.zeros((4, 2, 3)), np.zeros((3, 2)), r, d,
    ...                             n_step=2, gamma=0.5, complete=True)
    >>> out["agent_rewards"].tolist(), out["agent_discounts"].tolist()
    ([[1.5, 1.0], [1.5, 1.5], [1.0, 1.0]], [[0.25, 0.0], [0.25, 0.25], [0.5, 0.5]])
    """
    steps = len(actions)
    ready = steps if complete else max(0, steps - (n_step - 1))
    n_agents = rewards.shape[1]
    returns = np.zeros((ready, n_agents), np.float32)
    running = np.ones((ready, n_agents), np.float32)  # gamma^k while not yet done
    window = np.zeros(ready, np.int64)
    starts = np.arange(ready)
    for k in range(n_step):
        inside = starts + k < steps
        if not inside.any():
            break
        at = np.minimum(starts + k, steps - 1)
        returns += np.where(inside[:, None], running * rewards[at], 0.0)
        running = np.where(inside[:, None], running * gamma * (1.0 - dones[at]), running)
        window += inside
    out = {
        Columns.OBS: obs[:ready],
        Columns.ACTIONS: actions[:ready],
        AGENT_REWARDS: returns,
        AGENT_DISCOUNTS: running.astype(np.float32),
        Columns.NEXT_OBS: obs[starts + window],
    }
    return out, ready


class _Ring:
    """One module's transitions: preallocated arrays, overwritten oldest first."""

    def __init__(self, capacity: int, example: dict[str, np.ndarray]):
        self.capacity = capacity
        self.arrays = {k: np.zeros((capacity, *v.shape[1:]), v.dtype) for k, v in example.items()}
        self.priorities = np.zeros(capacity, np.float64)
        self.size = 0
        self.next = 0

    def add(self, columns: dict[str, np.ndarray], count: int, priority: float) -> None:
        if count > self.capacity:  # only the newest fit
            columns = {k: v[-self.capacity :] for k, v in columns.items()}
            count = self.capacity
        rows = (self.next + np.arange(count)) % self.capacity
        for key, array in self.arrays.items():
            array[rows] = columns[key]
        self.priorities[rows] = priority
        self.next = int((self.next + count) % self.capacity)
        self.size = min(self.capacity, self.size + count)


class TeamReplayBuffer:
    """Ring buffers of team transitions, one per module, sampled as one batch.

    Args:
        capacity: Transitions kept per module.
        seed: Seeds the sampling.
        alpha: Prioritised replay's exponent (None: uniform sampling).
        beta: Its importance-weight exponent.
    """

    def __init__(self, capacity: int = 100_000, *, seed: int | None = None, alpha: float | None = None,
                 beta: float = 0.4):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigError(f"replay_buffer_config.capacity must be an integer >= 1, got {capacity!r}")
        for name, value, low in (("alpha", alpha, 0.0), ("beta", beta, 0.0)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < low):
                raise ConfigError(f"replay_buffer_config.{name} must be a number >= {low}, got {value!r}")
        self.capacity = capacity
        self.alpha = alpha
        self.beta = beta
        self.rng = np.random.default_rng(seed)
        self.rings: dict[str, _Ring] = {}
        self._waiting: dict[tuple, dict[str, np.ndarray]] = {}
        self._max_priority = 1.0
        self._last_rows: dict[str, np.ndarray] = {}

    @property
    def prioritized(self) -> bool:
        return self.alpha is not None

    def __len__(self) -> int:
        return sum(ring.size for ring in self.rings.values())

    def add(self, episodes: Iterable[Any], *, n_step: int = 1, gamma: float = 0.99,
            team_reward: str = "none") -> int:
        """Adds the transitions of sampled multi-agent episode chunks.

        The rewards get the team's credit assignment (``team_reward``, see
        :mod:`rllib_shared.team.credit`) step by step, then are summed into
        n-step returns. The last ``n_step - 1`` steps of an unfinished chunk
        wait for the episode's next chunk. Returns how many transitions were stored.
        """
        stored = 0
        for episode in episodes:
            for agent_id, chunk in episode.agent_episodes.items():
                steps = len(chunk)
                if steps == 0:
                    continue
                rewards, dones = agent_vectors(chunk, steps)
                obs = np.stack(chunk.get_observations(slice(0, steps + 1))).astype(np.float32)
                columns = {
                    "obs": obs,
                    "actions": np.stack(chunk.get_actions(slice(0, steps))),
                    "rewards": assign_credit(rewards, obs[:-1, :, ALIVE] > 0.5, team_reward).astype(np.float32),
                    "dones": dones,
                }
                key = (episode.id_, agent_id)
                waiting = self._waiting.pop(key, None)
                if waiting is not None:  # the steps of the last chunk that waited for these
                    columns = {
                        k: np.concatenate([waiting[k][:-1] if k == "obs" else waiting[k], v])
                        for k, v in columns.items()
                    }
                complete = chunk.is_done
                out, ready = n_step_transitions(
                    columns["obs"], columns["actions"], columns["rewards"], columns["dones"],
                    n_step=n_step, gamma=gamma, complete=complete,
                )
                if not complete and ready < len(columns["actions"]):
                    self._waiting[key] = {
                        k: v[ready:] for k, v in columns.items()
                    }
                if ready:
                    module_id = chunk.module_id
                    if module_id not in self.rings:
                        self.rings[module_id] = _Ring(self.capacity, out)
                    self.rings[module_id].add(out, ready, self._max_priority)
                    stored += ready
        return stored

    def sample(self, num_items: int) -> MultiAgentBatch | None:
        """``num_items`` transitions per module (drawn with replacement), as a
        ``MultiAgentBatch`` of numpy arrays with :data:`COLUMNS` and
        :data:`WEIGHTS`; None while the buffer is empty."""
        batches = {}
        for module_id, ring in self.rings.items():
            if ring.size == 0:
                continue
            if self.prioritized:
                scaled = ring.priorities[: ring.size] ** self.alpha
                probs = scaled / scaled.sum()
                rows = self.rng.choice(ring.size, size=num_items, p=probs)
                weights = (ring.size * probs[rows]) ** -self.beta / (ring.size * probs.min()) ** -self.beta
            else:
                rows = self.rng.integers(0, ring.size, size=num_items)
                weights = np.ones(num_items)
            self._last_rows[module_id] = rows
            batch = {key: array[rows] for key, array in ring.arrays.items()}
            batch[WEIGHTS] = weights.astype(np.float32)
            batches[module_id] = SampleBatch(batch)
        if not batches:
            return None
        return MultiAgentBatch(batches, env_steps=num_items)

    def update_priorities(self, td_errors: dict[str, np.ndarray], eps: float = 1e-6) -> None:
        """Sets the priorities of the rows :meth:`sample` drew last, per module,
        to their absolute TD errors ``(num_items,)`` (no-op without ``alpha``)."""
        if not self.prioritized:
            return
        for module_id, errors in td_errors.items():
            rows = self._last_rows.get(module_id)
            if rows is None or len(rows) != len(errors):
                raise ValueError(
                    f"{len(errors)} TD errors for module {module_id!r}, but the last sample had "
                    f"{0 if rows is None else len(rows)} rows"
                )
            priorities = np.abs(np.asarray(errors, np.float64)) + eps
            self.rings[module_id].priorities[rows] = priorities
            self._max_priority = max(self._max_priority, float(priorities.max()))

    def get_state(self) -> dict[str, Any]:
        """The stored transitions (what ``store_buffer_in_checkpoints`` saves)."""
        return {
            "rings": {
                mid: {"arrays": ring.arrays, "priorities": ring.priorities, "size": ring.size, "next": ring.next}
                for mid, ring in self.rings.items()
            },
            "max_priority": self._max_priority,
            "rng": self.rng.bit_generator.state,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores :meth:`get_state`'s transitions, oldest first; with a
        smaller capacity now, the newest that fit."""
        self.rings = {}
        for module_id, saved in state["rings"].items():
            arrays = saved["arrays"]
            saved_capacity = len(saved["priorities"])
            order = (saved["next"] - saved["size"] + np.arange(saved["size"])) % saved_capacity
            order = order[len(order) - min(len(order), self.capacity) :]
            ring = _Ring(self.capacity, arrays)
            ring.add({k: v[order] for k, v in arrays.items()}, len(order), 1.0)
            ring.priorities[: len(order)] = saved["priorities"][order]
            self.rings[module_id] = ring
        self._max_priority = float(state["max_priority"])
        self.rng.bit_generator.state = state["rng"]


class PrioritizedTeamReplayBuffer(TeamReplayBuffer):
    """:class:`TeamReplayBuffer` with prioritised sampling (``alpha`` 0.6 unless given)."""

    def __init__(self, capacity: int = 100_000, *, seed: int | None = None, alpha: float = 0.6,
                 beta: float = 0.4):
        super().__init__(capacity, seed=seed, alpha=alpha, beta=beta)


REPLAY_BUFFERS = {
    "TeamReplayBuffer": TeamReplayBuffer,
    "PrioritizedTeamReplayBuffer": PrioritizedTeamReplayBuffer,
    # RLlib's names, as users write them: the same sampling, on flat transitions.
    "EpisodeReplayBuffer": TeamReplayBuffer,
    "PrioritizedEpisodeReplayBuffer": PrioritizedTeamReplayBuffer,
}
"""``replay_buffer_config.type`` -> buffer class."""
