"""team_reward: which reward each agent's loss sees (rllib_shared.team.credit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rllib_shared
from rllib_shared.errors import ConfigError
from rllib_shared.team.credit import assign_credit


@pytest.mark.parametrize("as_tensor", [False, True])
def test_assign_credit_on_numpy_and_torch(as_tensor):
    rewards = np.array([[1.0, -2.0, 4.0], [3.0, 0.5, 0.0]], np.float32)
    acted = np.array([[True, True, True], [True, False, True]])
    wrap = torch.as_tensor if as_tensor else np.asarray
    summed = assign_credit(wrap(rewards), wrap(acted), "sum")
    mean = assign_credit(wrap(rewards), wrap(acted), "mean")
    np.testing.assert_allclose(np.asarray(summed), [[3.0, 3.0, 3.0], [3.0, 0.0, 3.0]])
    np.testing.assert_allclose(np.asarray(mean), [[1.0, 1.0, 1.0], [1.5, 0.0, 1.5]])
    np.testing.assert_array_equal(np.asarray(assign_credit(wrap(rewards), wrap(acted), "none")), rewards)


def test_assign_credit_with_nobody_acting_gives_zeros():
    out = assign_credit(np.ones((2, 3), np.float32), np.zeros((2, 3), bool), "mean")
    assert out.dtype == np.float32 and not out.any()


@pytest.mark.parametrize(
    "value, algo, match",
    [("avg", "PPO", "unknown team_reward 'avg'"), (True, "PPO", "team_reward must be one of"),
     ("sum", "APPO", "team-layout algorithms")],
)
def test_bad_team_reward_settings_are_refused(value, algo, match):
    with pytest.raises(ConfigError, match=match):
        rllib_shared.build_config({"env": "guessing_sum_v0", "algo": algo, "team_reward": value})


def test_team_reward_reaches_the_learner_settings_and_keeps_the_users():
    config = rllib_shared.build_config(
        {"env": "guessing_sum_v0", "team_reward": "mean", "learner_config_dict": {"mine": 1}}
    )
    assert config["learner_config_dict"] == {"mine": 1, "team_reward": "mean"}
