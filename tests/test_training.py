"""Tiny end-to-end runs with real RLlib algorithms on real PettingZoo envs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import TINY_MODEL, tiny
from ray import tune
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

import rllib_shared
from rllib_shared import build_config, map_to_shared_policy
from rllib_shared.algorithms.ppo import TeamPPOTorchLearner, TeamPPOTorchRLModule
from rllib_shared.registry import make_pettingzoo_env
from rllib_shared.evaluation import evaluate
from rllib_shared.inference import load_policy
from rllib_shared.team.metrics import PETTINGZOO_AGENT_RETURNS

pytestmark = pytest.mark.usefixtures("ray_session")


def run(algo, config, tmp_path, iters=1, **kwargs):
    analysis = tune.run(algo, config=config, stop={"training_iteration": iters},
                        storage_path=str(tmp_path), verbose=0, **kwargs)
    trial = analysis.trials[0]
    assert trial.status == "TERMINATED", trial.error_file
    return trial


def check_result(result, n_agents, policies=("shared",)):
    env_runners = result["env_runners"]
    assert math.isfinite(env_runners["episode_return_mean"])
    # Every PettingZoo agent's own return; together they make the team return.
    agent_returns = env_runners[PETTINGZOO_AGENT_RETURNS]
    assert len(agent_returns) == n_agents
    assert sum(agent_returns.values()) == pytest.approx(env_runners["episode_return_mean"], rel=1e-3, abs=1e-3)
    assert result["num_env_steps_sampled_lifetime"] >= 100
    for policy in policies:
        stats = result["learners"][policy]
        assert all(math.isfinite(stats[k]) for k in ("policy_loss", "vf_loss", "total_loss", "entropy"))


CASES = {
    "guessing_sum-continuous-separate": ("guessing_sum_v0", {"n_agents": 3}, False),
    "guessing_sum-discrete-shared_trunk": ("guessing_sum_v0", {"n_agents": 3, "continuous": False}, True),
    "simple_spread-discrete-shared_trunk": ("simple_spread_v3", {"N": 3, "max_cycles": 10}, True),
    "simple_spread-continuous-separate": ("simple_spread_v3", {"N": 3, "max_cycles": 10, "continuous_actions": True}, False),
    "dying_agents-continuous-separate": ("pettingzoo", {"pettingzoo_env": "dying_env"}, False),
}


@pytest.mark.parametrize("case", CASES)
def test_tune_run_ppo(case, tmp_path):
    env, env_config, share = CASES[case]
    config = build_config(tiny(env, env_config, model={**TINY_MODEL, "share_actor_critic": share}))
    trial = run("PPO", config, tmp_path)
    check_result(trial.last_result, 3)


@pytest.mark.parametrize("algo, share_params", [("APPO", False), ("IMPALA", True)])
def test_tune_run_other_algorithms(algo, share_params, tmp_path):
    user_config = tiny("guessing_sum_v0", {"n_agents": 3}, algo=algo, num_env_runners=1,
                       model={**TINY_MODEL, "share_params": share_params})
    del user_config["num_epochs"], user_config["minibatch_size"]
    trial = run(algo, build_config(user_config), tmp_path, iters=2)
    env_runners = trial.last_result["env_runners"]
    assert math.isfinite(env_runners["episode_return_mean"])
    assert len(env_runners["agent_episode_returns_mean"]) == 3


TAG = {"pettingzoo_env": "mpe2.simple_tag_v3", "num_good": 1, "num_adversaries": 2, "num_obstacles": 0,
       "max_cycles": 10}
GROUP_CASES = {
    # simple_tag: predators and prey, each group its own network.
    "simple_tag-separate": ("pettingzoo", TAG, {"adversary": "adversary_*", "agent": "agent_*"}, None,
                            ("adversary", "agent"), 3),
    # guessing_sum split into two teams of equal size, both played by one network (self-play).
    "guessing_sum-shared": ("guessing_sum_v0", {"n_agents": 4}, {"a": "agent_[01]", "b": "agent_[23]"},
                            {"a": "shared", "b": "shared"}, ("shared",), 4),
}


@pytest.mark.parametrize("case", GROUP_CASES)
def test_two_groups_train_with_separate_or_shared_networks(tmp_path, case):
    env, env_config, groups, group_policies, policies, n_agents = GROUP_CASES[case]
    user = tiny(env, env_config, groups=groups, group_policies=group_policies)
    trial = run("PPO", build_config(user), tmp_path, checkpoint_at_end=True)
    check_result(trial.last_result, n_agents, policies)
    assert set(trial.last_result["env_runners"]["agent_episode_returns_mean"]) == set(groups)
    # The checkpoint plays every agent with its group's network, outside Ray.
    policy = load_policy(trial.checkpoint)
    assert set(policy.modules) == set(policies)
    result = evaluate(policy, f"{env}-team", {**env_config, "groups": groups}, episodes=1)
    assert len(result.agent_returns) == n_agents and math.isfinite(result.team_return)


def test_hand_written_dict_as_in_readme(tmp_path):
    # The README's "without build_config" example, verbatim apart from sizes.
    config = {
        "env": "simple_spread_v3-team",
        "env_config": {"N": 3, "continuous_actions": True, "max_cycles": 10},
        "policies": {"shared"},
        "policy_mapping_fn": map_to_shared_policy,
        "rl_module_spec": MultiRLModuleSpec(rl_module_specs={
            "shared": RLModuleSpec(module_class=TeamPPOTorchRLModule,
                                   model_config={"comm": "bilstm", "share_actor_critic": True}),
        }),
        "_learner_class": TeamPPOTorchLearner,
        "num_env_runners": 0,
        "train_batch_size_per_learner": 200,
        "minibatch_size": 100,
        "num_epochs": 1,
    }
    result = run("PPO", config, tmp_path).last_result
    assert math.isfinite(result["env_runners"]["episode_return_mean"])
    assert math.isfinite(result["learners"]["shared"]["policy_loss"])


def build_local(user_config) -> Algorithm:
    return PPOConfig().update_from_dict(build_config(user_config)).build_algo()


def learner_module(algo: Algorithm):
    return algo.learner_group._learner.module["shared"]


def test_shared_trunk_runs_once_per_minibatch_in_real_ppo():
    algo = build_local(tiny("guessing_sum_v0", {"n_agents": 3}, model={**TINY_MODEL, "share_actor_critic": True}))
    try:
        module = learner_module(algo)
        trunk_calls, train_calls = [], []
        module.net.pi_trunk.register_forward_hook(lambda *a: trunk_calls.append(1))
        forward_train = module._forward_train
        module._forward_train = lambda *a, **k: train_calls.append(1) or forward_train(*a, **k)
        algo.train()
        # One trunk pass per minibatch update, plus one value pass for GAE: the
        # value head reuses the policy trunk's output instead of a second pass.
        assert len(train_calls) >= 2 and len(trunk_calls) == len(train_calls) + 1
    finally:
        algo.stop()


def weights(algo) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in learner_module(algo).state_dict().items()}


def train_once(seed) -> dict:
    algo = build_local(tiny("guessing_sum_v0", {"n_agents": 3}, seed=seed))
    try:
        algo.train()
        return weights(algo)
    finally:
        algo.stop()


def test_same_seed_gives_identical_weights():
    first, second, other = train_once(3), train_once(3), train_once(4)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_checkpoint_evaluate_and_load_policy_round_trip(tmp_path):
    config = build_config(tiny("guessing_sum_v0", {"n_agents": 3}))
    trial = run("PPO", config, tmp_path, checkpoint_at_end=True)
    policy = rllib_shared.load_policy(trial.checkpoint)
    assert rllib_shared.load_policy is load_policy

    restored = Algorithm.from_checkpoint(trial.checkpoint.path)
    try:
        env = make_pettingzoo_env("guessing_sum_v0", {"n_agents": 3})
        obs, _ = env.reset(seed=11)
        team = policy.groups["team"].layout.encode_team(obs)
        batch = {Columns.OBS: torch.from_numpy(team[None])}
        expected = learner_module(restored).forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        got = policy.modules["shared"].forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        torch.testing.assert_close(got, expected)
        # Restored training continues from the checkpoint's counters.
        restored.train()
        assert restored.iteration == trial.last_result["training_iteration"] + 1
    finally:
        restored.stop()

    # A checkpoint whose module class no longer exists (the per-agent-row PPO
    # module of earlier versions) gets one clear error.
    import shutil

    stale = tmp_path / "stale"
    shutil.copytree(trial.checkpoint.path, stale)
    (stale / "learner_group/learner/rl_module/shared/class_and_ctor_args.pkl").write_bytes(
        b"crllib_shared.modules.bicnet_ppo\nBiCNetPPOTorchRLModule\n.")
    with pytest.raises(rllib_shared.ConfigError, match="saved by an older rllib_shared"):
        load_policy(stale)

    actions = policy(obs)
    # Input the checkpoint's spaces do not allow is refused, never silently reshaped.
    with pytest.raises(rllib_shared.ConfigError, match=r"unknown agents \['agent_9'\]; this policy plays"):
        policy({**obs, "agent_9": obs["agent_0"]})
    with pytest.raises(rllib_shared.ConfigError, match="observation of shape \\(3,\\) does not fit its space"):
        policy({"agent_0": np.zeros(3, np.float32)})  # the team row's width, flags included
    space = env.action_space("agent_0")
    assert set(actions) == set(obs) and all(space.contains(a) for a in actions.values())
    result = evaluate(policy, "guessing_sum_v0", {"n_agents": 3}, episodes=2, gif=tmp_path / "team.gif")
    assert set(result.agent_returns) == {"agent_0", "agent_1", "agent_2"}
    assert math.isfinite(result.team_return) and result.gif.stat().st_size > 0


@pytest.mark.parametrize("yaml_name", ["bicnet_ppo_battle.yaml", "bicnet_ppo_battle_cnn.yaml"])
def test_magent2_battle_config_trains_two_groups_on_a_small_map(tmp_path, yaml_name):
    """The battle configs as shipped, on the smallest map (2 red vs 2 blue)."""
    from pathlib import Path

    from rllib_shared.config import apply_overrides

    user = rllib_shared.load_yaml(Path(__file__).resolve().parents[1] / "configs" / yaml_name)
    user = apply_overrides(user, ["env_config.map_size=12", "env_config.max_cycles=20",
                                  "train_batch_size_per_learner=100", "minibatch_size=50", "num_epochs=1",
                                  *(f"model.{k}={v}" for k, v in TINY_MODEL.items())])
    user.pop("stop")
    trial = run("PPO", build_config(user), tmp_path, checkpoint_at_end=True)
    check_result(trial.last_result, 4, policies=("red", "blue"))
    if user["model"].get("encoder") == "cnn":  # the checkpoint plays, images unflattened again
        from magent2.environments import battle_v4

        env = battle_v4.parallel_env(map_size=12, max_cycles=20)
        obs, _ = env.reset(seed=0)
        actions = load_policy(trial.checkpoint)(obs)
        assert set(actions) == set(obs) and all(env.action_space(a).contains(x) for a, x in actions.items())


@pytest.mark.parametrize("comm", ["mean", "attention"])
def test_new_options_train_and_env_runners_act_on_the_learners_statistics(comm):
    """The order-free channels, team rewards, observation and value normalisation in
    real PPO: the statistics grow in the learner, and the observations' reach the env
    runner with the weights."""
    algo = build_local(tiny("simple_spread_v3", {"N": 3, "max_cycles": 10}, team_reward="mean",
                            model={**TINY_MODEL, "comm": comm, "normalize_obs": True, "normalize_value": True}))
    try:
        result = algo.train()
        check_result(result, 3)
        learned = learner_module(algo).net.input_norm
        acting = algo.env_runner.module["shared"].net.input_norm
        assert int(learned.count) > 0
        torch.testing.assert_close(acting.mean, learned.mean)
        assert int(acting.count) == int(learned.count)
        assert int(learner_module(algo).net.value_norm.count) > 0
    finally:
        algo.stop()


def test_mappo_configuration_trains_with_a_remote_runner_and_plays_from_its_checkpoint(tmp_path):
    """comm 'none' with a critic on the global state (MAPPO), an env runner of
    its own (the state travels in the episodes' infos), then load_policy."""
    user = tiny("simple_spread_v3", {"N": 3, "max_cycles": 10}, num_env_runners=1,
                model={**TINY_MODEL, "comm": "none", "critic_input": "state"})
    trial = run("PPO", build_config(user), tmp_path, iters=2, checkpoint_at_end=True)
    check_result(trial.last_result, 3)
    policy = load_policy(trial.checkpoint)
    env = make_pettingzoo_env("simple_spread_v3", {"N": 3, "max_cycles": 10})
    obs, _ = env.reset(seed=0)
    actions = policy(obs)
    assert set(actions) == set(obs) and all(env.action_space(a).contains(x) for a, x in actions.items())


@pytest.mark.parametrize("algo", ["PPO", "BiCNet"])
def test_per_agent_weights_train_on_the_team_layout(algo):
    """(APPO trains them in test_tune_run_other_algorithms.)"""
    from rllib_shared.algorithms import default_algorithm_config

    user = tiny("guessing_sum_v0", {"n_agents": 3}, algo=algo, model={**TINY_MODEL, "share_params": False})
    trainer = default_algorithm_config(algo).update_from_dict(build_config(user)).build_algo()
    try:
        module = trainer.learner_group._learner.module["shared"]
        before = {k: v.clone() for k, v in module.state_dict().items()}
        for _ in range(2):
            trainer.train()
        # The dense layers hold one slice per agent, and they train.
        per_agent = {k: v for k, v in module.state_dict().items() if v.ndim == 3}
        assert per_agent and all(v.shape[0] == 3 for v in per_agent.values())
        assert any(not torch.equal(before[k], v) for k, v in per_agent.items())
    finally:
        trainer.stop()
