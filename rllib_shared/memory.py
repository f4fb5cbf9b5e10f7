"""How much memory a run will need, estimated before Ray starts.

:func:`estimate_memory` adds up what grows with the settings a user can
lower, each under the name of that setting:

- ``minibatch_size``: the activations autograd keeps for one minibatch,
  per agent row (PPO; APPO and IMPALA train on the whole batch at once,
  algo BiCNet on ``train_batch_size_per_learner`` transitions for its actor
  and its critic).
- ``train_batch_size_per_learner``: the sampled observations, their copies
  in the learner batch, and per-agent rewards and flags.
- ``replay_buffer_config.capacity`` (algo BiCNet): the stored transitions.
- ``num_env_runners``: each remote env runner is a process of its own.
- ``Ray and this plugin``: Ray's own processes, the driver and the process
  that trains.

The coefficients were measured on this plugin (guessing_sum with 8-64 agents,
three model widths, MAgent2 battle_v4 with 162 agents, PPO and algo BiCNet:
the training process's peak resident memory); the estimate aims at the
peak or a little above it, and ``tests/test_memory.py`` checks it against a
real run. On the per-agent-row layout (APPO, IMPALA)
every agent row carries the whole team, so the sample and activation terms
grow with the square of the team size.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetConfig
from rllib_shared.nn.encoders import feature_map_sizes

GB = 1e9
FLOAT = 4  # bytes

RAY_PROCESSES = 0.8 * GB
"""Ray's system processes: GCS, raylet, dashboard and its agents, monitors, idle workers."""
DRIVER = 0.4 * GB
"""``scripts/train.py`` with torch and RLlib imported."""
TRAINING_PROCESS = 0.6 * GB
"""The process that trains (Tune's trainable actor), before any sample."""
BASE = "Ray and this plugin"
PER_ENV_RUNNER = 0.5 * GB
PER_LEARNER = 0.6 * GB

ACTIVATION_FLOATS_PER_DENSE_UNIT = 9.4
"""Floats autograd keeps per agent row for each unit of the dense layers
(encoder and head, actor and critic)."""
ACTIVATION_FLOATS_PER_COMM_UNIT = {"bilstm": 37.0, "bigru": 30.0, "attention": 16.0, "mean": 12.0, "none": 0.0}
ACTIVATION_FLOATS_PER_MAP_UNIT = 1.0
"""Per unit of a CNN encoder's feature maps, actor and critic each (measured on
battle_v4 with ``configs/bicnet_ppo_battle_cnn.yaml``: 3.2 GB peak)."""
ACTIVATION_FLOATS_PER_INPUT = 4.0
ACTIVATION_FLOATS_PER_ROW = 234.0
SAMPLE_COPIES = 3
"""The sampled episodes, the learner's batch and a minibatch (measured on
MAgent2 battle_v4, 162 agents of 847 features: 3.0 GB peak, 3.5 GB estimated)."""
SAMPLE_BYTES_PER_AGENT_STEP = 300
"""Per-agent rewards, done flags, log-probabilities and action inputs."""
REPLAY_BYTES_PER_AGENT_STEP = 16
"""Per-agent return, bootstrap factor and action of a stored transition
(besides its two observations)."""
REPLAY_BYTES_PER_STEP = 8
"""A stored transition's priority (algo BiCNet's flat ring arrays)."""

TEAM_LAYOUT = ("PPO", "BiCNet")


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs, by the setting that drives each part."""

    parts: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def largest(self) -> tuple[str, float]:
        """The part a user can lower that needs the most memory."""
        lowerable = {k: v for k, v in self.parts.items() if k != BASE}
        return max(lowerable.items(), key=lambda kv: kv[1])

    def breakdown(self) -> str:
        """``minibatch_size 1.2 GB, ...``, largest part first."""
        parts = sorted(self.parts.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{k} {v / GB:.1f} GB" for k, v in parts)

    def summary(self) -> str:
        return f"about {self.total / GB:.1f} GB ({self.breakdown()})"

    def check_fits(self, available: float) -> None:
        """Raises ConfigError when the run needs more than ``available`` bytes,
        naming the setting to lower."""
        if self.total <= available:
            return
        setting, size = self.largest()
        raise ConfigError(
            f"this run needs about {self.total / GB:.1f} GB of memory ({self.breakdown()}), and this "
            f"machine has {available / GB:.1f} GB available: lower {setting} (it accounts for "
            f"{size / GB:.1f} GB) or the model's widths, or train on a larger machine "
            "(scripts/train.py --skip-memory-check starts it anyway)"
        )


def activation_floats(
    model: BiCNetConfig, width: int, n_agents: int, image_shape: tuple | None = None
) -> float:
    """Floats autograd keeps per agent row of a training pass."""
    dense = 2 * (sum(model.encoder_hidden) + sum(model.head_hidden))  # actor and critic
    maps = 0.0
    if model.encoder == "cnn" and image_shape is not None:
        maps = 2 * ACTIVATION_FLOATS_PER_MAP_UNIT * sum(feature_map_sizes(image_shape, model.conv_filters))
    comm = ACTIVATION_FLOATS_PER_COMM_UNIT[model.comm] * model.comm_hidden
    if model.comm == "attention":
        comm += 2 * n_agents  # each agent's weights over the team, actor and critic
    return (
        ACTIVATION_FLOATS_PER_DENSE_UNIT * dense + maps + comm + ACTIVATION_FLOATS_PER_INPUT * width
        + ACTIVATION_FLOATS_PER_ROW
    )


def estimate_memory(
    algo: str,
    algorithm_config: Any,
    groups: list[tuple[int, int, tuple | None]],
    model: BiCNetConfig,
) -> MemoryEstimate:
    """The memory a run of ``algo`` needs.

    Args:
        algo: PPO, APPO, IMPALA or BiCNet.
        algorithm_config: The RLlib ``AlgorithmConfig`` of the run (its
            batch sizes, runners and replay buffer are read).
        groups: ``(n_agents, team row width, agent observation shape)`` per group.
        model: The network's options.
    """
    batch = int(algorithm_config.train_batch_size_per_learner)
    minibatch = batch
    if algo == "PPO":
        minibatch = min(batch, int(algorithm_config.minibatch_size or batch))
    elif algo == "BiCNet":
        minibatch = 2 * batch  # observations and next observations, actor and critic
    parts = {BASE: RAY_PROCESSES + DRIVER + TRAINING_PROCESS}
    activation_setting = "minibatch_size" if algo == "PPO" else "train_batch_size_per_learner"
    for setting in (activation_setting, "train_batch_size_per_learner"):
        parts.setdefault(setting, 0.0)
    for n_agents, width, image_shape in groups:
        rows = n_agents if algo in TEAM_LAYOUT else n_agents * n_agents  # agent rows per env step
        parts[activation_setting] += minibatch * rows * FLOAT * activation_floats(model, width, n_agents, image_shape)
        parts["train_batch_size_per_learner"] += batch * rows * (
            SAMPLE_COPIES * FLOAT * width + SAMPLE_BYTES_PER_AGENT_STEP
        )
        if algo == "BiCNet":
            capacity = int(algorithm_config.replay_buffer_config.get("capacity", 0))
            parts["replay_buffer_config.capacity"] = parts.get("replay_buffer_config.capacity", 0.0) + capacity * (
                REPLAY_BYTES_PER_STEP + n_agents * (2 * FLOAT * width + REPLAY_BYTES_PER_AGENT_STEP)
            )
    runners = int(algorithm_config.num_env_runners or 0)
    if runners:
        parts["num_env_runners"] = runners * PER_ENV_RUNNER
    learners = int(algorithm_config.num_learners or 0)
    if learners:
        parts["num_learners"] = learners * PER_LEARNER
    return MemoryEstimate(parts)


def available_memory() -> float | None:
    """Bytes this machine can give a new run (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None
