"""The PettingZoo wrapper, the guessing-sum and recall games and the env registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import tiny
from pettingzoo.test import parallel_api_test
from ray.rllib.utils.pre_checks.env import check_multiagent_environments

from rllib_shared import build_config
from rllib_shared.envs import GuessingSumEnv, PettingZooEnv, RecallEnv
from rllib_shared.registry import ENV_NAMES, make_pettingzoo_env, make_rllib_env
from rllib_shared.errors import ConfigError

ENV_CASES = {
    "simple_spread_discrete": ("simple_spread_v3", {"N": 3}),
    "simple_spread_continuous": ("simple_spread_v3", {"N": 2, "continuous_actions": True}),
    "simple_reference": ("simple_reference_v3", {}),
    "pursuit": ("pursuit_v5", {"n_pursuers": 3, "n_evaders": 4, "x_size": 8, "y_size": 8}),
    "guessing_sum_continuous": ("guessing_sum_v0", {"n_agents": 4}),
    "guessing_sum_discrete": ("guessing_sum_v0", {"n_agents": 2, "continuous": False}),
    "recall": ("recall_v0", {"n_agents": 3, "ask": "next", "delay": 3}),  # 5 steps
    "generic": ("pettingzoo", {"pettingzoo_env": "mpe2.simple_spread_v3", "N": 2}),
}


@pytest.mark.parametrize("continuous", [True, False])
def test_guessing_sum_passes_pettingzoo_parallel_api_test(continuous):
    parallel_api_test(GuessingSumEnv(n_agents=3, continuous=continuous), num_cycles=30)


@pytest.mark.parametrize("ask", ["own", "next"])
def test_recall_passes_pettingzoo_parallel_api_test(ask):
    parallel_api_test(RecallEnv(n_agents=3, ask=ask, delay=2), num_cycles=30)


@pytest.mark.parametrize("ask", ["own", "next"])
def test_recall_rewards_only_the_remembered_cue_at_the_question(ask):
    """The cue shows at step 0 only, the question flag at step delay + 1 only;
    naming the wanted cue there earns 1, anything else (or earlier) nothing."""
    env = RecallEnv(n_agents=3, n_cues=5, delay=3, ask=ask)
    obs, _ = env.reset(seed=4)
    cues = np.array([int(np.argmax(obs[a][:5])) for a in env.possible_agents])
    wanted = cues if ask == "own" else np.roll(cues, -1)
    returns = dict.fromkeys(env.possible_agents, 0.0)
    for step in range(5):
        flags = [obs[a][-1] for a in env.agents]
        assert flags == [float(step == 4)] * 3
        if step > 0:
            assert all(not obs[a][:5].any() for a in env.agents)
        answers = {a: int(wanted[i]) if (step == 4 and i != 1) else int(wanted[i] + 1) % 5
                   for i, a in enumerate(env.agents)}
        obs, rewards, terminations, _, _ = env.step(answers)
        for agent, reward in rewards.items():
            returns[agent] += reward
        assert all(terminations.values()) == (step == 4)
    assert not env.agents
    assert returns == {"agent_0": 1.0, "agent_1": 0.0, "agent_2": 1.0}


def test_recall_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown recall_v0 ask 'mine'"):
        RecallEnv(ask="mine")
    with pytest.raises(ConfigError, match=r"n_agents >= 1 \(>= 2 with ask: next\).*got n_agents=1"):
        RecallEnv(n_agents=1, ask="next")


@pytest.mark.parametrize("case", ENV_CASES)
def test_wrapped_envs_pass_rllib_env_check(case):
    name, env_config = ENV_CASES[case]
    env = make_rllib_env(name, env_config)
    check_multiagent_environments(env)
    assert env.possible_agents == sorted(env.possible_agents)
    assert list(env.observation_space.spaces) == env.possible_agents


@pytest.mark.parametrize("case", ENV_CASES)
def test_episode_ends_exactly_when_no_agent_is_left(case):
    name, env_config = ENV_CASES[case]
    fixed_length = name in ("pettingzoo", "recall_v0")
    env = make_rllib_env(name, env_config if fixed_length else {**env_config, "max_cycles": 5})
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        actions = {a: env.action_spaces[a].sample() for a in env.agents}
        _, _, terminateds, truncateds, _ = env.step(actions)
        done = terminateds["__all__"] or truncateds["__all__"]
        steps += 1
        assert done == (not env.agents)
    assert steps == (5 if name != "pettingzoo" else 25)


def test_agent_order_is_natural_even_with_ten_or_more_agents():
    env = make_rllib_env("guessing_sum_v0", {"n_agents": 12})
    assert env.possible_agents[:3] == ["agent_0", "agent_1", "agent_2"]
    assert env.possible_agents[-2:] == ["agent_10", "agent_11"]


@pytest.mark.parametrize("name, env_config", [ENV_CASES["simple_spread_discrete"], ENV_CASES["guessing_sum_continuous"]])
def test_seeding_is_reproducible_and_only_when_given(name, env_config):
    env = make_rllib_env(name, env_config)
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3)
    unseeded, _ = env.reset()
    for agent in first:
        np.testing.assert_array_equal(first[agent], again[agent])
    assert any(not np.array_equal(first[a], unseeded[a]) for a in first)


@pytest.mark.parametrize("name, env_config", [("simple_spread_v3", {"N": 2}), ("guessing_sum_v0", {})])
def test_render_returns_rgb_frames(name, env_config):
    env = make_rllib_env(name, {**env_config, "render_mode": "rgb_array"})
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8


def test_parallelizable_aec_env_is_converted():
    from mpe2 import simple_spread_v3

    env = PettingZooEnv(simple_spread_v3.env(N=2))
    obs, _ = env.reset(seed=0)
    assert sorted(obs) == ["agent_0", "agent_1"]


def test_turn_based_aec_env_is_refused_clearly():
    from pettingzoo.classic import tictactoe_v3

    with pytest.raises(ConfigError, match="turn-based"):
        PettingZooEnv(tictactoe_v3.env())


def test_unknown_env_name_lists_valid_names():
    with pytest.raises(ConfigError, match="did you mean 'simple_spread_v3'.*" + ", ".join(ENV_NAMES)):
        make_pettingzoo_env("simple_sprad_v3")


def test_unknown_env_kwarg_is_named_with_suggestion():
    with pytest.raises(ConfigError, match="unknown key 'n' in env_config of mpe2.simple_spread_v3; did you mean 'N'"):
        make_pettingzoo_env("simple_spread_v3", {"n": 4})
    with pytest.raises(ConfigError, match="did you mean 'n_agents'"):
        make_pettingzoo_env("guessing_sum_v0", {"n_agent": 4})


def test_generic_env_errors():
    with pytest.raises(ConfigError, match="needs env_config\\['pettingzoo_env'\\]"):
        make_pettingzoo_env("pettingzoo", {})
    with pytest.raises(ConfigError, match="cannot import PettingZoo env module 'mpe2.nope'"):
        make_pettingzoo_env("pettingzoo", {"pettingzoo_env": "mpe2.nope"})


def test_guessing_sum_rewards_measure_the_error():
    env = GuessingSumEnv(n_agents=3, continuous=True)
    obs, _ = env.reset(seed=0)
    total = float(sum(o[0] for o in obs.values()))
    actions = {"agent_0": np.array([total]), "agent_1": np.array([total + 1.5]), "agent_2": np.array([0.0])}
    _, rewards, *_ = env.step(actions)
    assert rewards["agent_0"] == pytest.approx(0.0, abs=1e-6)
    assert rewards["agent_1"] == pytest.approx(-0.5)
    assert rewards["agent_2"] == pytest.approx(-abs(total) / 3)


def test_nan_observations_are_refused_naming_env_agent_and_step():
    from failing_env import FailingEnv

    from rllib_shared.errors import ObservationError

    env = PettingZooEnv(FailingEnv("nan"))
    env.reset(seed=0)
    for _ in range(2):
        env.step({"agent_0": 0, "agent_1": 1})
    with pytest.raises(ObservationError, match="env 'failing_v0' gave agent 'agent_1' an observation with NaN or "
                                               "inf at step 3"):
        env.step({"agent_0": 0, "agent_1": 1})


def test_nonfinite_observations_warn_replaces_them_by_zero_and_warns_at_powers_of_ten(caplog):
    from failing_env import FailingEnv

    env = PettingZooEnv(FailingEnv("nan"), nonfinite_observations="warn")
    env.reset(seed=0)
    warnings = []
    for t in range(1, 13):
        caplog.clear()
        with caplog.at_level("WARNING", logger="rllib_shared.envs.pettingzoo_env"):
            obs = env.step({"agent_0": 0, "agent_1": 1})[0]
        assert np.isfinite(obs["agent_1"]).all() and obs["agent_1"].dtype == np.float32
        warnings += [(t, r.getMessage()) for r in caplog.records]
    # NaN from step 3 on: the 1st and the 10th of them are reported, with the count.
    assert [t for t, _ in warnings] == [3, 12]
    assert "gave agent 'agent_1' an observation with NaN or inf at step 3" in warnings[0][1]
    assert "replaced by 0" in warnings[0][1] and "10 such observations of 'agent_1'" in warnings[1][1]


def test_nonfinite_observations_setting_is_checked():
    from failing_env import FailingEnv

    with pytest.raises(ConfigError, match="unknown nonfinite_observations 'ignore'"):
        PettingZooEnv(FailingEnv("nan"), nonfinite_observations="ignore")
    with pytest.raises(ConfigError, match="unknown nonfinite_observations 'warning'.*did you mean 'warn'"):
        build_config(tiny("pettingzoo", {"pettingzoo_env": "failing_env"}, nonfinite_observations="warning"))
    with pytest.raises(ConfigError, match="'groups' needs the team env 'guessing_sum_v0-team'"):
        make_rllib_env("guessing_sum_v0", {"groups": "prefix"})


def test_ppo_trains_on_with_nonfinite_observations_warn(ray_session):
    from ray.rllib.algorithms.ppo import PPOConfig

    user_config = tiny("pettingzoo", {"pettingzoo_env": "failing_env", "breaks_with": "nan"},
                       nonfinite_observations="warn")
    algo = PPOConfig().update_from_dict(build_config(user_config)).build_algo()
    try:
        result = algo.train()
        assert math.isfinite(result["learners"]["shared"]["policy_loss"])
        module = algo.learner_group._learner.module["shared"]
        assert all(torch.isfinite(p).all() for p in module.parameters())
    finally:
        algo.stop()


def _first_observations(seed: int) -> list[bytes]:
    """The first observation of each of 4 sub-envs of one env runner, as bytes."""
    from rllib_shared.algorithms import default_algorithm_config

    config = default_algorithm_config("PPO").update_from_dict(
        build_config({"env": "simple_spread_v3", "env_config": {"N": 3}, "seed": seed,
                      "num_env_runners": 0, "num_envs_per_env_runner": 4})
    )
    runner = config.env_runner_cls(config=config)
    try:
        episodes = runner.sample(num_timesteps=4, random_actions=True)
    finally:
        runner.stop()
    return [
        np.concatenate([np.ravel(o) for _, o in sorted(e.get_observations(0).items())]).tobytes()
        for e in episodes
    ]


def test_seeds_give_independent_env_streams(ray_session):
    # RLlib alone seeds sub-env i with seed + i: seeds 0 and 1 would share 3 of these 4 layouts.
    seed0, seed1 = _first_observations(0), _first_observations(1)
    assert len(set(seed0)) == 4
    assert not set(seed0) & set(seed1)
    assert _first_observations(0) == seed0  # a seed still reproduces its run
