"""Credit assignment on the team layout: which reward each agent is trained on.

PettingZoo gives every agent its own reward. In cooperative tasks that reward
is often mostly about *other* agents (in mpe2's ``simple_reference`` an
agent's own term is its partner's distance to a landmark), so training each
agent on it alone hands it credit for moves it did not make. The
``team_reward`` setting trains every agent on the team's reward instead
(MAPPO's choice for cooperative MPE):

- ``none``: each agent its own reward (the default; PettingZoo's split);
- ``sum``: every acting agent gets the sum of the group's rewards at that step;
- ``mean``: every acting agent gets their mean.

Only agents that acted at a step (alive in its observation) take part, and
agents that did not act get 0. Episode returns and per-agent metrics always
report the env's own rewards; this changes only what the losses see.

Pure numpy/torch: the functions work on either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rllib_shared.errors import ConfigError, check_choice

TEAM_REWARD_MODES = ("none", "sum", "mean")
TEAM_REWARD_KEY = "team_reward"
"""Config key (and ``learner_config_dict`` key) of the setting."""


def check_team_reward(mode: Any) -> str:
    """Returns ``mode`` if it is a valid ``team_reward`` value, else raises ConfigError."""
    if not isinstance(mode, str):
        raise ConfigError(
            f"team_reward must be one of {', '.join(TEAM_REWARD_MODES)} (a string), got {mode!r}"
        )
    check_choice(mode, TEAM_REWARD_MODES, "team_reward")
    return mode


def assign_credit(rewards: Any, acted: Any, mode: str) -> Any:
    """The rewards the losses train on.

    Args:
        rewards: ``(*B, n)`` per-agent rewards (numpy or torch).
        acted: ``(*B, n)`` bool, True where the agent acted at that step.
        mode: a :data:`TEAM_REWARD_MODES` value.

    Returns:
        ``(*B, n)``, same type and dtype as ``rewards``.

    >>> import numpy as np
    >>> r = np.array([[1.0, 2.0, 5.0]], np.float32); acted = np.array([[True, True, False]])
    >>> assign_credit(r, acted, "sum").tolist(), assign_credit(r, acted, "mean").tolist()
    ([[3.0, 3.0, 0.0]], [[1.5, 1.5, 0.0]])
    """
    if mode == "none":
        return rewards
    acted_f = acted * 1.0
    total = (rewards * acted_f).sum(-1)[..., None]
    if mode == "mean":
        count = acted_f.sum(-1)[..., None]
        total = total / (count + (count == 0))
    elif mode != "sum":
        check_team_reward(mode)
    out = total * acted_f
    return out.astype(rewards.dtype) if isinstance(out, np.ndarray) else out.to(rewards.dtype)
