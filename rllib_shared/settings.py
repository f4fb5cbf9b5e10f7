"""Types and ranges of the RLlib settings a user config commonly holds.

RLlib accepts ``gamma: 1.5``, ``lr: -1`` or ``num_epochs: 2.5`` and fails late
(or never). :func:`check_setting` checks one setting against :data:`RULES`,
and every boolean setting against its default's type, before Ray starts.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from rllib_shared.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one numeric setting may hold."""

    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """``low`` itself is not allowed (rates and clips must be > 0)."""
    schedule: bool = False
    """May also be a schedule ``[[timestep, value], ...]`` (RLlib's lr and entropy_coeff)."""
    allow: tuple = ()
    """Further values RLlib accepts, e.g. ``"auto"`` or None."""

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            what += f" in {'(' if self.low_open else '['}{self.low}, {self.high}]"
        elif self.low is not None:
            what += f" {'>' if self.low_open else '>='} {self.low}"
        extras = [repr(a) if a is not None else "null" for a in self.allow]
        if self.schedule:
            extras.append("a schedule [[timestep, value], ...]")
        return what + (f" (or {', or '.join(extras)})" if extras else "")

    def number_ok(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def ok(self, value: Any) -> bool:
        if any(value is a or (isinstance(a, str) and value == a) for a in self.allow):
            return True
        if self.schedule and isinstance(value, list):
            return bool(value) and all(
                isinstance(p, (list, tuple))
                and len(p) == 2
                and isinstance(p[0], int)
                and not isinstance(p[0], bool)
                and p[0] >= 0
                and self.number_ok(p[1])
                for p in value
            )
        return self.number_ok(value)


_RATE = Rule(float, 0, low_open=True, schedule=True)
RULES: dict[str, Rule] = {
    "gamma": Rule(float, 0, 1),
    "lambda_": Rule(float, 0, 1),
    "lr": _RATE,
    "actor_lr": _RATE,
    "critic_lr": _RATE,
    "entropy_coeff": Rule(float, 0, schedule=True),
    "clip_param": Rule(float, 0, low_open=True),
    "vf_clip_param": Rule(float, 0, low_open=True),
    "vf_loss_coeff": Rule(float, 0),
    "kl_coeff": Rule(float, 0),
    "kl_target": Rule(float, 0, low_open=True),
    "grad_clip": Rule(float, 0, low_open=True, allow=(None,)),
    "tau": Rule(float, 0, 1, low_open=True),
    "train_batch_size_per_learner": Rule(int, 1),
    "minibatch_size": Rule(int, 1),
    "num_epochs": Rule(int, 1),
    "num_env_runners": Rule(int, 0),
    "num_envs_per_env_runner": Rule(int, 1),
    "num_learners": Rule(int, 0),
    "rollout_fragment_length": Rule(int, 1, allow=("auto",)),
    "num_steps_sampled_before_learning_starts": Rule(int, 0),
    "seed": Rule(int, 0, allow=(None,)),
}
"""Setting (RLlib's attribute name) -> what it may hold."""

REPLAY_RULES: dict[str, Rule] = {
    "capacity": Rule(int, 1),
    "alpha": Rule(float, 0),
    "beta": Rule(float, 0, 1),
}
"""``replay_buffer_config`` entries -> what they may hold."""


def check_setting(key: str, attr: str, value: Any, default: Any) -> None:
    """Raises ConfigError if ``value`` is not a valid ``key`` (RLlib attribute ``attr``)."""
    rule = RULES.get(attr)
    if rule is not None:
        if not rule.ok(value):
            hint = " (YAML reads '3e-4' as text: write 3.0e-4)" if isinstance(value, str) else ""
            raise ConfigError(f"config key {key!r} must be {rule.describe()}, got {value!r}{hint}")
        return
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ConfigError(f"config key {key!r} must be true or false (unquoted), got {value!r}")
    if attr == "replay_buffer_config" and isinstance(value, dict):
        for name, entry_rule in REPLAY_RULES.items():
            if name in value and not entry_rule.ok(value[name]):
                raise ConfigError(
                    f"replay_buffer_config.{name} must be {entry_rule.describe()}, got {value[name]!r}"
                )
