"""The team layout's env: groups of PettingZoo agents as RLlib agents."""

from __future__ import annotations

import numpy as np
import pytest
from dying_env import DyingEnv

import rllib_shared
from rllib_shared.registry import make_pettingzoo_env
from rllib_shared.team.env import AGENT_DONES, AGENT_REWARDS, TeamEnv
from rllib_shared.team.groups import resolve_groups
from rllib_shared.team.layout import ALIVE


def test_one_group_keeps_dead_agents_out_and_reports_per_agent_vectors():
    env = TeamEnv(DyingEnv())
    assert env.possible_agents == ["team"]
    assert env.observation_spaces["team"].shape == (3, 4)
    np.testing.assert_array_equal(env.action_spaces["team"].low, [-2, -2, -2])
    obs, infos = env.reset(seed=0)
    assert obs["team"][:, ALIVE].tolist() == [1, 1, 1]
    obs, rewards, terms, truncs, infos = env.step({"team": np.array([1.0, -1.5, 0.5], np.float32)})
    np.testing.assert_allclose(infos["team"][AGENT_REWARDS], [1.0, -1.5, 0.5])
    assert rewards["team"] == pytest.approx(0.0)
    # agent_1 terminated while the group plays on: no bootstrap, dead row from now on.
    assert infos["team"][AGENT_DONES].tolist() == [False, True, False]
    assert obs["team"][:, ALIVE].tolist() == [1, 0, 1]
    assert not obs["team"][1].any()
    obs, rewards, *_, infos = env.step({"team": np.array([1.0, 2.0, 1.0], np.float32)})  # DyingEnv asserts
    assert infos["team"][AGENT_REWARDS].tolist() == [1.0, 0.0, 1.0]
    obs, rewards, terms, truncs, infos = env.step({"team": np.zeros(3, np.float32)})
    # The group is truncated: its last observation keeps the survivors alive, to bootstrap from.
    assert (terms["team"], truncs["team"], truncs["__all__"]) == (False, True, True)
    assert obs["team"][:, ALIVE].tolist() == [1, 0, 1]
    assert infos["team"][AGENT_DONES].tolist() == [False, False, False]


def test_two_groups_step_independently_and_end_separately():
    env = TeamEnv(DyingEnv(), {"dead": "agent_1", "rest": ["agent_0", "agent_2"]})
    assert env.possible_agents == ["dead", "rest"]
    assert env.observation_spaces["rest"].shape == (2, 4)
    env.reset()
    obs, rewards, terms, truncs, infos = env.step(
        {"dead": np.array([0.5], np.float32), "rest": np.array([1.0, 2.0], np.float32)}
    )
    assert rewards == {"dead": 0.5, "rest": 3.0}
    assert terms["dead"] and not terms["rest"] and not terms["__all__"]
    assert env.agents == ["rest"]
    obs, *_ = env.step({"rest": np.zeros(2, np.float32)})
    assert set(obs) == {"rest"}


def test_discrete_groups_get_multidiscrete_joint_actions():
    env = TeamEnv(make_pettingzoo_env("simple_spread_v3", {"N": 3}))
    space = env.action_spaces["team"]
    assert space.nvec.tolist() == [5, 5, 5]
    env.reset(seed=0)
    _, rewards, *_ = env.step({"team": space.sample()})
    assert np.isfinite(rewards["team"])


def test_group_patterns_and_their_errors():
    agents = ["adversary_0", "agent_0", "agent_1"]
    assert resolve_groups(agents, "prefix") == {"adversary": ("adversary_0",), "agent": ("agent_0", "agent_1")}
    with pytest.raises(rllib_shared.ConfigError, match=r"group 'red': pattern\(s\) \['red_\*'\] match none"):
        resolve_groups(agents, {"red": "red_*", "rest": "*"})
    with pytest.raises(rllib_shared.ConfigError, match="matches both group 'a' and group 'b'"):
        resolve_groups(agents, {"a": "agent_*", "b": "*_1", "c": "adversary_0"})
    with pytest.raises(rllib_shared.ConfigError, match=r"agents \['adversary_0'\] belong to no group"):
        resolve_groups(agents, {"good": "agent_*"})


def test_a_group_with_mixed_action_spaces_is_refused_with_the_fix():
    # simple_speaker_listener: the speaker says one of 3 words, the listener moves (5 actions).
    with pytest.raises(rllib_shared.ConfigError, match="mixes action spaces.*groups: prefix"):
        rllib_shared.build_config({"env": "pettingzoo", "env_config": {"pettingzoo_env": "mpe2.simple_speaker_listener_v4"}})


def test_group_policies_share_a_network_only_between_matching_groups():
    base = {"env": "guessing_sum_v0", "env_config": {"n_agents": 4}}
    two = {"a": "agent_[01]", "b": "agent_[23]"}
    config = rllib_shared.build_config({**base, "groups": two})
    assert sorted(config["policies"]) == ["a", "b"]
    shared = rllib_shared.build_config({**base, "groups": two, "group_policies": {"a": "shared", "b": "shared"}})
    assert sorted(shared["policies"]) == ["shared"]
    assert shared["policy_mapping_fn"]("b") == "shared"
    uneven = {"a": "agent_0", "b": ["agent_1", "agent_2", "agent_3"]}
    with pytest.raises(rllib_shared.ConfigError, match="share policy 'x' but their spaces differ"):
        rllib_shared.build_config({**base, "groups": uneven, "group_policies": {"a": "x", "b": "x"}})
    with pytest.raises(rllib_shared.ConfigError, match=r"names groups \['c'\] the env does not have"):
        rllib_shared.build_config({**base, "groups": two, "group_policies": {"c": "x"}})


def test_box_actions_with_different_bounds_are_one_group_error():
    """One joint action cannot hold per-agent bounds: refused at config time
    rather than acting with agent 0's bounds for everyone."""
    import gymnasium as gym

    from rllib_shared.errors import ConfigError
    from rllib_shared.team.actions import TeamActions

    with pytest.raises(ConfigError, match="group 'team' mixes action spaces"):
        TeamActions.of_group("team", ["a_0", "a_1"], [gym.spaces.Box(-1, 1, (2,)), gym.spaces.Box(-2, 2, (2,))])
