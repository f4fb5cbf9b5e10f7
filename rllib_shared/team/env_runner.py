"""The env runner of every run built here: independent env streams per seed.

RLlib 2.60 seeds sub-env ``i`` of env runner ``w`` with ``seed + w + i``
(``EnvRunner.__init__`` adds the runner's index, ``SyncVectorMultiAgentEnv.reset``
the sub-env's), and only at the first reset. Runs with seeds 0 and 1 and 8
envs per runner therefore play 7 of the same 8 env streams, and "3 seeds"
measures far less env variance than it claims. :class:`TeamEnvRunner` is
RLlib's ``MultiAgentEnvRunner`` with every sub-env (and the runner's global
torch/numpy seed) drawn from ``SeedSequence([seed, w, in_evaluation])``
instead, so no two (seed, runner, sub-env) share a stream and a seed still
reproduces its run.
"""

from __future__ import annotations

import numpy as np
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.debug import update_global_seed_if_necessary


def stream_seeds(seed: int, worker_index: int, in_evaluation: bool, num_envs: int) -> list[int]:
    """The runner's global seed, then one seed per sub-env: ``num_envs + 1`` ints.

    >>> a, b = stream_seeds(0, 0, False, 8), stream_seeds(1, 0, False, 8)
    >>> len(a), set(a) & set(b)
    (9, set())
    >>> stream_seeds(0, 0, False, 8) == a  # a seed reproduces its streams
    True
    """
    state = np.random.SeedSequence([int(seed), int(worker_index or 0), int(bool(in_evaluation))])
    return [int(s) for s in state.generate_state(num_envs + 1)]


class TeamEnvRunner(MultiAgentEnvRunner):
    """RLlib's multi-agent env runner, seeded by :func:`stream_seeds`."""

    @override(MultiAgentEnvRunner)
    def __init__(self, config, **kwargs):
        super().__init__(config=config, **kwargs)
        if self.config.seed is not None:
            update_global_seed_if_necessary(self.config.framework_str, self._streams()[0])

    @override(MultiAgentEnvRunner)
    def make_env(self):
        super().make_env()
        if self.config.seed is not None:
            # A list: SyncVectorMultiAgentEnv.reset gives sub-env i seeds[i].
            self._seed = self._streams()[1:]

    def _streams(self) -> list[int]:
        return stream_seeds(self.config.seed, self.worker_index, self.config.in_evaluation, self.num_envs)
