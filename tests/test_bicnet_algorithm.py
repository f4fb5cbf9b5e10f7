"""The BiCNet algorithm: losses, vectorised DPG, targets, Tune, checkpoints, groups."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TINY_MODEL
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

import rllib_shared
from rllib_shared.algorithms.bicnet import BiCNet, BiCNetAlgorithmConfig
from rllib_shared.algorithms.bicnet.learner import bicnet_losses, proximal_penalty
from rllib_shared.algorithms.bicnet.module import Q_POLICY, BiCNetDDPGTorchRLModule
from rllib_shared.team.layout import ALIVE
from rllib_shared.team.metrics import PETTINGZOO_AGENT_RETURNS

GUESS = {"n_agents": 3, "continuous": True, "max_cycles": 5}
TINY_BICNET = {
    "algo": "BiCNet",
    "env": "guessing_sum_v0",
    "env_config": GUESS,
    "model": dict(TINY_MODEL),
    "seed": 3,
    "num_envs_per_env_runner": 2,
    "rollout_fragment_length": 5,
    "train_batch_size_per_learner": 32,
    "num_steps_sampled_before_learning_starts": 20,
    "min_sample_timesteps_per_iteration": 40,
}


# -- config ----------------------------------------------------------------------------


def test_algorithm_config_maps_names_to_team_envs_and_refuses_others():
    config = BiCNetAlgorithmConfig().update_from_dict({"env": "guessing_sum_v0"})
    config.validate()
    assert config.env == "guessing_sum_v0-team"
    assert set(config.policies) == {"shared"}  # a plain dict gets the team's one policy
    with pytest.raises(rllib_shared.ConfigError, match="got env 'Pendulum-v1', valid names: simple_spread_v3"):
        BiCNetAlgorithmConfig().update_from_dict({"env": "Pendulum-v1"}).validate()


# -- discrete actions: straight-through Gumbel-softmax ------------------------------


def _discrete_module(n: int = 3, features: int = 2, k: int = 4):
    torch.manual_seed(0)
    module = RLModuleSpec(
        module_class=BiCNetDDPGTorchRLModule,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (n, features + 2), np.float32),
        action_space=gym.spaces.MultiDiscrete([k] * n),
        model_config=dict(TINY_MODEL),
    ).build()
    module.make_target_networks()
    return module


def test_straight_through_gradients_reach_every_agents_logits():
    module = _discrete_module()
    obs = _team_obs(8, [1, 1, 1])
    logits = []
    module.actor.register_forward_hook(lambda m, i, out: logits.append(out) or out.retain_grad())
    actions = module.policy(obs, relaxed=True)
    # Forward: exact one-hot actions.
    assert set(actions.unique().tolist()) <= {0.0, 1.0} and torch.all(actions.sum(-1) == 1)
    module.q_values(obs, actions).sum().backward()
    grad = logits[0].grad  # (B, n, k)
    assert all(float(grad[:, i].abs().sum()) > 0 for i in range(3))


@pytest.mark.parametrize("epsilon", [0.0, 0.3])
def test_discrete_inference_is_the_argmax_and_exploration_samples_the_softmax(monkeypatch, epsilon):
    """Exploring: the softmax's sample, or with probability epsilon (the annealed
    exploration_noise) a uniform random action; acting: the argmax."""
    module = _discrete_module(n=2, k=3)
    module.exploration_sigma.fill_(epsilon)
    obs = _team_obs(4, [1, 1])
    logits = module.actor_out(obs)
    greedy = module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    torch.testing.assert_close(greedy, logits.argmax(-1))
    torch.testing.assert_close(module.policy(obs), torch.nn.functional.one_hot(greedy, 3).float())
    fixed = torch.log(torch.tensor([0.1, 0.3, 0.6])).expand(20_000, 2, 3)
    monkeypatch.setattr(module, "actor_out", lambda obs, target=False: fixed)
    sampled = module.forward_exploration({Columns.OBS: obs})[Columns.ACTIONS]
    frequencies = torch.bincount(sampled.flatten(), minlength=3).float() / sampled.numel()
    expected = (1 - epsilon) * torch.tensor([0.1, 0.3, 0.6]) + epsilon / 3
    torch.testing.assert_close(frequencies, expected, atol=0.015, rtol=0)


def test_discrete_replayed_actions_reach_the_critic_one_hot():
    module = _discrete_module(n=3, k=4)
    obs = _team_obs(2, [1, 1, 1])
    actions = torch.tensor([[0, 3, 1], [2, 2, 0]])
    out = module.forward_train({Columns.OBS: obs, Columns.ACTIONS: actions})
    torch.testing.assert_close(out["q_values"], module.q_values(obs, torch.nn.functional.one_hot(actions, 4).float()))


def test_gumbel_temperature_anneals_with_the_exploration_schedule():
    config = BiCNetAlgorithmConfig().training(gumbel_temperature=2.0, final_gumbel_temperature=0.5,
                                              exploration_noise_steps=100)
    assert [config.gumbel_temperature_at(t) for t in (0, 50, 100, 1000)] == [2.0, 1.25, 0.5, 0.5]
    with pytest.raises(rllib_shared.ConfigError, match="gumbel_temperature must be a number > 0, got 0"):
        rllib_shared.build_config({**TINY_BICNET, "gumbel_temperature": 0})


def test_discrete_team_trains_and_plays_from_its_checkpoint(ray_session, tmp_path):
    from ray import tune

    from rllib_shared.evaluation import evaluate

    env_config = {**GUESS, "continuous": False}
    config = rllib_shared.build_config({**TINY_BICNET, "env_config": env_config})
    analysis = tune.run("BiCNet", config=config, stop={"training_iteration": 3}, storage_path=str(tmp_path),
                        verbose=0, checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=True))
    trial = analysis.trials[0]
    learner = trial.last_result["learners"]["shared"]
    assert np.isfinite(learner["critic_loss"]) and learner["num_module_steps_trained"] > 0
    assert learner["gumbel_temperature"] < 1.0  # annealed by the learner
    assert learner["actor_penalty"] > 0  # MADDPG's regulariser is in the actor loss
    policy = rllib_shared.load_policy(trial.checkpoint)
    result = evaluate(policy, "guessing_sum_v0", env_config, episodes=2)
    assert np.isfinite(result.team_return) and set(result.agent_returns) == {"agent_0", "agent_1", "agent_2"}


# -- losses, the vectorised deterministic policy gradient, masks ---------------------


def _module(comm: str = "bilstm", n: int = 3, features: int = 2, action_dim: int = 2, **model):
    obs_space = gym.spaces.Box(-np.inf, np.inf, (n, features + 2), np.float32)
    act_space = gym.spaces.Box(-1, 1, (n * action_dim,), np.float32)
    torch.manual_seed(0)
    module = RLModuleSpec(
        module_class=BiCNetDDPGTorchRLModule,
        observation_space=obs_space,
        action_space=act_space,
        model_config={**TINY_MODEL, "comm": comm, **model},
    ).build()
    module.make_target_networks()
    return module


def _team_obs(batch: int, alive: list[int], features: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    obs = torch.zeros(batch, len(alive), features + 2)
    obs[..., :features] = torch.randn(batch, len(alive), features, generator=g)
    obs[..., ALIVE] = torch.tensor(alive, dtype=torch.float32)
    return obs * obs[..., ALIVE:ALIVE + 1]  # dead rows are all zero, as the team env writes them


def test_untrained_actor_acts_in_the_middle_of_the_action_range():
    """DDPG's small output-layer init: actions near 0 (the middle of [-1, 1]), yet
    they still depend on the observation, so the actor's gradient is not zero."""
    module = _module()
    obs = 3 * _team_obs(64, [1, 1, 1])
    actions = module.actor_out(obs)
    assert float(actions.abs().max()) < 0.05
    assert float(actions.std(0).mean()) > 0
    module.actor_out(obs).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.actor.parameters())


@pytest.mark.parametrize("alive", [[1, 1, 1], [1, 0, 1]])
def test_actor_gradient_is_the_vectorised_deterministic_policy_gradient(alive):
    """grad L_mu = -1/B sum_b sum_i m_i sum_j dQ_i/da_j da_j/dtheta (Peng et al., eq. 8),
    computed term by term from the critic's Jacobian and compared with the learner's loss."""
    module = _module()
    obs = _team_obs(4, alive)
    mask = torch.tensor(alive, dtype=torch.float32)
    params = list(module.actor.parameters())

    # The learner's actor loss, through RLlib's forward_train.
    z = torch.zeros(4, 3)
    fwd = module.forward_train({Columns.OBS: obs, Columns.ACTIONS: torch.zeros(4, 6)})
    loss = bicnet_losses(
        q_values=z, q_policy=fwd[Q_POLICY], q_target_next=z, rewards=z, discounts=z + 0.9,
        alive=mask.expand(4, 3), next_alive=mask.expand(4, 3),
    )["actor_loss"]
    learned = torch.autograd.grad(loss, params, retain_graph=True)
    # The actor's loss reaches no critic weight (they were frozen for its pass, and
    # are trainable again after it).
    critic_params = list(module.critic.parameters())
    assert all(p.requires_grad for p in critic_params)
    assert all(g is None for g in torch.autograd.grad(loss, critic_params, allow_unused=True))

    # By hand: the Jacobian dQ_i/da_j at a = mu(s), then the chain rule into theta.
    actions = module.policy(obs)  # (B, n, A), depends on theta
    fixed = actions.detach()
    jac = torch.stack([
        torch.autograd.functional.jacobian(lambda a, b=b: module.q_values(obs[b:b + 1], a[None])[0], fixed[b])
        for b in range(4)
    ])  # (B, n_i, n_j, A)
    upstream = -(mask[None, :, None, None] * jac).sum(1) / 4  # (B, n_j, A)
    by_hand = torch.autograd.grad(actions, params, grad_outputs=upstream)

    for a, b in zip(learned, by_hand, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # Communication: agent 0's value depends on agent 2's action (and not on the dead one).
    assert jac[:, 0, 2].abs().sum() > 0
    if alive[1] == 0:
        assert jac[:, :, 1].abs().sum() == 0


def test_without_communication_an_agent_value_ignores_teammates_actions():
    module = _module(comm="none")
    obs = _team_obs(1, [1, 1, 1])
    jac = torch.autograd.functional.jacobian(
        lambda a: module.q_values(obs, a[None])[0], module.policy(obs).detach()[0]
    )
    assert jac[0, 1].abs().sum() == 0 and jac[0, 0].abs().sum() > 0


@pytest.mark.parametrize("critic_comm", [None, "none"])
def test_critic_comm_none_keeps_the_actor_communicating_and_the_critic_local(critic_comm):
    module = _module(critic_comm=critic_comm)
    obs = _team_obs(1, [1, 1, 1])
    q_jac = torch.autograd.functional.jacobian(
        lambda a: module.q_values(obs, a[None])[0], module.policy(obs).detach()[0]
    )
    pi_jac = torch.autograd.functional.jacobian(lambda o: module.policy(o)[0], obs)
    assert pi_jac[0, :, 0, 1].abs().sum() > 0  # agent 0's action hears agent 1 either way
    assert (q_jac[0, 1].abs().sum() > 0) == (critic_comm is None)  # its Q, only with a communicating critic
    assert q_jac[0, 0].abs().sum() > 0


def test_critic_loss_uses_per_agent_returns_discounts_and_masks():
    q = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    q_next = torch.tensor([[10.0, 10.0, 10.0]])
    common = {"q_policy": q, "q_target_next": q_next}
    out = bicnet_losses(
        q_values=q, rewards=torch.tensor([[1.0, 0.0, 2.0]]), discounts=torch.tensor([[0.5, 0.0, 0.5]]),
        alive=torch.tensor([[1.0, 1.0, 0.0]]), next_alive=torch.ones(1, 3), **common,
    )
    # agent 0: y = 1 + 0.5 * 10 = 6; agent 1 terminated: y = 0; agent 2 dead: out.
    assert out["td_error"].tolist() == [[5.0, -2.0, 0.0]]
    assert out["critic_loss"].item() == pytest.approx(25.0 + 4.0)
    # Whatever a dead agent's reward, value or target, the losses do not change.
    changed = bicnet_losses(
        q_values=q, rewards=torch.tensor([[1.0, 0.0, -99.0]]), discounts=torch.tensor([[0.5, 0.0, 0.0]]),
        alive=torch.tensor([[1.0, 1.0, 0.0]]), next_alive=torch.ones(1, 3),
        q_policy=q, q_target_next=torch.tensor([[10.0, 10.0, -5.0]]),
    )
    assert changed["critic_loss"].item() == out["critic_loss"].item()
    assert changed["actor_loss"].item() == out["actor_loss"].item() == -3.0
    grad = torch.autograd.grad(out["critic_loss"] + out["actor_loss"], q)[0]
    assert grad[0, 2] == 0


# -- the algorithm inside RLlib and Tune -----------------------------------------------


def test_target_update_moves_targets_by_exactly_tau_and_noise_anneals(ray_session):
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

    config = rllib_shared.build_config({**TINY_BICNET, "tau": 0.25, "exploration_noise_steps": 1000})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        learner = algo.learner_group._learner
        module = learner.module["shared"].unwrapped()
        with torch.no_grad():
            for p in module._target_critic.parameters():
                p.fill_(1.0)
        main = [p.detach().clone() for p in module.critic.parameters()]
        learner.after_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 500})
        for m, t in zip(main, module._target_critic.parameters(), strict=True):
            torch.testing.assert_close(t, 0.25 * m + 0.75 * torch.ones_like(m))
        # Noise std halfway through its decay from 0.3 to 0.05.
        assert float(module.exploration_sigma) == pytest.approx(0.175)
    finally:
        algo.stop()


@pytest.mark.parametrize("warm_up", [True, False])
def test_env_runners_act_uniformly_at_random_until_learning_starts(ray_session, warm_up):
    """With the warm-up, the sampled actions before the first update span [-1, 1]
    uniformly (a fifth beyond +-0.8), where the untrained actor plus noise
    std 0.1 stays near its output; the learner's first update ends it on the
    env runners too."""
    config = rllib_shared.build_config({
        **TINY_BICNET, "num_steps_sampled_before_learning_starts": 100, "exploration_noise": 0.1,
        "random_actions_before_learning_starts": warm_up})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        env_runner_module = algo.env_runner.module["shared"]
        learner_module = algo.learner_group._learner.module["shared"].unwrapped()
        algo.train()  # 40 env steps: still warming up
        assert algo.learner_group._learner.critic_updates == 0
        actions = algo.local_replay_buffer.rings["shared"].arrays[Columns.ACTIONS]
        actions = actions[: len(algo.local_replay_buffer)].reshape(-1)
        assert actions.size >= 100
        wide = float(np.mean(np.abs(actions) > 0.8))
        assert (0.12 < wide < 0.3) if warm_up else wide < 0.02
        assert float(env_runner_module.uniform_actions) == float(warm_up)
        while algo.learner_group._learner.critic_updates == 0:
            algo.train()
        assert float(learner_module.uniform_actions) == 0.0
        assert float(env_runner_module.uniform_actions) == 0.0  # synced with the weights
    finally:
        algo.stop()


@pytest.mark.parametrize("num_env_runners", [0, 1])
def test_tune_run_bicnet_trains(ray_session, tmp_path, num_env_runners):
    from ray import tune

    config = rllib_shared.build_config({**TINY_BICNET, "num_env_runners": num_env_runners})
    analysis = tune.run(
        "BiCNet", config=config, stop={"training_iteration": 3}, storage_path=str(tmp_path),
        verbose=0, checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=True),
    )
    result = analysis.trials[0].last_result
    learner = result["learners"]["shared"]
    assert result["num_env_steps_sampled_lifetime"] >= 120
    assert np.isfinite(learner["critic_loss"]) and np.isfinite(learner["actor_loss"])
    assert learner["num_module_steps_trained"] > 0
    episode_return = result["env_runners"]["episode_return_mean"]
    # Per-agent returns from the infos add up to RLlib's team return.
    agents = result["env_runners"][PETTINGZOO_AGENT_RETURNS]
    assert {"agent_0", "agent_1", "agent_2"} <= set(agents)
    assert sum(agents[f"agent_{k}"] for k in range(3)) == pytest.approx(episode_return, rel=1e-4)


def test_hand_written_dict_runs_with_tune(ray_session, tmp_path):
    """No build_config: a plain dict with a registered PettingZoo name."""
    from ray import tune

    config = {
        "env": "guessing_sum_v0",
        "env_config": GUESS,
        "_model_config": dict(TINY_MODEL),
        "rollout_fragment_length": 5,
        "train_batch_size_per_learner": 32,
        "num_steps_sampled_before_learning_starts": 20,
        "min_sample_timesteps_per_iteration": 40,
    }
    analysis = tune.run("BiCNet", config=config, stop={"training_iteration": 2},
                        storage_path=str(tmp_path), verbose=0)
    assert analysis.trials[0].last_result["training_iteration"] == 2


@pytest.fixture(scope="module")
def bicnet_checkpoint(ray_session, tmp_path_factory):
    config = rllib_shared.build_config(TINY_BICNET)
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        for _ in range(2):
            result = algo.train()
        path = tmp_path_factory.mktemp("bicnet") / "checkpoint"
        algo.save_to_path(str(path))
        actor = {k: v.clone() for k, v in algo.get_module("shared").actor.state_dict().items()}
        # The annealed noise std reaches the env runner with the weights.
        learner_sigma = float(algo.learner_group._learner.module["shared"].exploration_sigma)
        assert float(algo.env_runner.module["shared"].exploration_sigma) == learner_sigma < 0.3
    finally:
        algo.stop()
    return path, result, actor


def test_restored_checkpoint_continues_training(bicnet_checkpoint):
    path, before, actor = bicnet_checkpoint
    algo = BiCNet.from_checkpoint(str(path))
    try:
        for key, value in algo.get_module("shared").actor.state_dict().items():
            torch.testing.assert_close(value, actor[key])
        after = algo.train()
    finally:
        algo.stop()
    assert after["training_iteration"] == before["training_iteration"] + 1
    assert after["num_env_steps_sampled_lifetime"] > before["num_env_steps_sampled_lifetime"]


@pytest.mark.parametrize("store", [True, False])
def test_checkpoints_keep_the_replay_buffer_when_asked(ray_session, tmp_path, store):
    config = rllib_shared.build_config({**TINY_BICNET, "store_buffer_in_checkpoints": store, "n_step": 3,
                                        "replay_buffer_config": {"type": "PrioritizedTeamReplayBuffer",
                                                                 "capacity": 50}})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        for _ in range(3):
            result = algo.train()
        assert result["replay_buffer"]["num_transitions"] == len(algo.local_replay_buffer) == 50  # wrapped
        saved = algo.local_replay_buffer.get_state()
        algo.save_to_path(str(tmp_path / "checkpoint"))
    finally:
        algo.stop()
    restored = BiCNet.from_checkpoint(str(tmp_path / "checkpoint"))
    try:
        buffer = restored.local_replay_buffer
        if not store:
            assert len(buffer) == 0
            return
        ring, saved_ring = buffer.rings["shared"], saved["rings"]["shared"]
        np.testing.assert_array_equal(np.sort(ring.priorities), np.sort(saved_ring["priorities"]))
        for key, array in ring.arrays.items():
            np.testing.assert_array_equal(np.sort(array, axis=0), np.sort(saved_ring["arrays"][key], axis=0))
        restored.train()  # trains on from the restored buffer
    finally:
        restored.stop()


def test_replay_settings_are_checked():
    for replay, message in [
        ({"type": "ReservoirBuffer"}, "replay_buffer_config.type must be one of TeamReplayBuffer"),
        ({"type": "TeamReplayBuffer", "alpha": 0.6}, "alpha and beta are prioritised replay's settings, but type is TeamReplayBuffer"),
        ({"type": "PrioritizedEpisodeReplayBuffer", "capacity": -5}, "capacity must be an integer >= 1"),
        ({"type": "PrioritizedTeamReplayBuffer", "size": 5}, "unknown key 'size' in replay_buffer_config"),
    ]:
        with pytest.raises(rllib_shared.ConfigError, match=message):
            BiCNetAlgorithmConfig().update_from_dict(
                rllib_shared.build_config({**TINY_BICNET, "replay_buffer_config": replay})).validate()
    with pytest.raises(rllib_shared.ConfigError, match="n_step must be an integer >= 1, got 0"):
        BiCNetAlgorithmConfig().update_from_dict(rllib_shared.build_config({**TINY_BICNET, "n_step": 0})).validate()


def test_load_policy_acts_like_the_trained_module(bicnet_checkpoint):
    from rllib_shared.evaluation import evaluate
    from rllib_shared.inference import TeamPolicy

    path, _, _ = bicnet_checkpoint
    policy = rllib_shared.load_policy(path)
    assert isinstance(policy, TeamPolicy)
    env = rllib_shared.registry.make_pettingzoo_env("guessing_sum_v0", GUESS)
    obs, _ = env.reset(seed=1)
    actions = policy(obs)
    assert sorted(actions) == sorted(obs)
    # Greedy actions are the module's tanh outputs mapped onto the env's bounds.
    layout = policy.groups["team"].layout
    team = torch.from_numpy(layout.encode_team(obs))[None]
    raw = policy.modules["shared"].forward_inference({Columns.OBS: team})[Columns.ACTIONS][0].detach().numpy()
    space = env.action_space("agent_0")
    expected = space.low + (raw.reshape(3, -1) + 1.0) * (space.high - space.low) / 2.0
    for k, agent in enumerate(layout.agents):
        np.testing.assert_allclose(actions[agent], expected[k], rtol=1e-5)
        assert space.contains(actions[agent])
    result = evaluate(policy, "guessing_sum_v0-team", GUESS, episodes=2)
    assert result.episodes == 2 and np.isfinite(result.team_return)


def test_evaluate_script_plays_a_bicnet_checkpoint(bicnet_checkpoint, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    path, _, _ = bicnet_checkpoint
    gif = tmp_path / "team.gif"
    script = Path(__file__).resolve().parents[1] / "scripts" / "evaluate.py"
    run = subprocess.run([sys.executable, str(script), str(path), "--episodes", "2", "--gif", str(gif)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"2 episodes \| team return -?\d+\.\d+ \| agent_0: ", run.stdout)
    assert Image.open(gif).n_frames == GUESS["max_cycles"] + 1


def train_twice(config: dict) -> dict:
    """Builds algo BiCNet from a tune config dict, trains 2 iterations, returns the last result."""
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        algo.train()
        return algo.train()
    finally:
        algo.stop()


def assert_trained(result: dict, policies) -> None:
    for policy in policies:
        assert np.isfinite(result["learners"][policy]["critic_loss"])
        assert result["learners"][policy]["num_module_steps_trained"] > 0


def test_two_groups_train_with_their_own_networks(ray_session):
    """The same team env class as PPO: two groups, each its own actor and critic."""
    config = rllib_shared.build_config({**TINY_BICNET, "env_config": {**GUESS, "n_agents": 4},
                                        "groups": {"a": "agent_[01]", "b": "agent_[23]"}})
    assert config["policies"] == {"a", "b"}
    result = train_twice(config)
    assert_trained(result, ("a", "b"))
    assert len(result["env_runners"][PETTINGZOO_AGENT_RETURNS]) == 4


@pytest.mark.parametrize("prioritized", [True, False])
def test_td_errors_reach_a_prioritized_buffer_only(ray_session, prioritized):
    """The learner's per-row TD errors become the replayed rows' priorities; a
    uniform buffer keeps its rows' equal weight."""
    buffer = {"type": "PrioritizedEpisodeReplayBuffer", "alpha": 0.6, "beta": 0.4} if prioritized else {}
    config = rllib_shared.build_config({**TINY_BICNET, "replay_buffer_config": {**buffer, "capacity": 1000}})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        algo.train()
        result = algo.train()
        ring = algo.local_replay_buffer.rings["shared"]
        priorities = set(ring.priorities[: ring.size].round(6))
    finally:
        algo.stop()
    assert_trained(result, ("shared",))
    # New rows share the largest priority so far; replayed rows got their own |TD error|.
    assert len(priorities) > 2 if prioritized else priorities == {1.0}


def test_team_reward_trains(ray_session):
    config = rllib_shared.build_config({**TINY_BICNET, "team_reward": "sum"})
    assert config["learner_config_dict"]["team_reward"] == "sum"
    assert_trained(train_twice(config), ("shared",))


def test_normalize_obs_is_refused_with_one_clear_error():
    with pytest.raises(rllib_shared.ConfigError, match="model.normalize_obs is not supported by algo BiCNet"):
        rllib_shared.build_config({**TINY_BICNET, "model": {"normalize_obs": True}})


def weights_after_training(seed: int, iterations: int = 3) -> dict:
    config = rllib_shared.build_config({**TINY_BICNET, "seed": seed})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        assert algo.config.replay_buffer_config["seed"] == seed
        for _ in range(iterations):
            algo.train()
        module = algo.learner_group._learner.module["shared"]
        return {k: v.detach().clone() for k, v in module.state_dict().items()}
    finally:
        algo.stop()


def test_same_seed_gives_identical_weights(ray_session):
    """Seeded replay sampling included: two runs with one seed end equal, another seed differs."""
    first, second, other = weights_after_training(5), weights_after_training(5), weights_after_training(6)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_overlap_sampling_keeps_every_step_syncs_weights_and_is_reproducible(ray_session):
    """A remote env runner samples while the learner updates: every sampled step
    reaches the buffer, the runner acts with the learner's latest weights, and
    one seed gives one result."""
    config = rllib_shared.build_config({**TINY_BICNET, "num_env_runners": 1, "overlap_sampling": True})

    def run() -> dict:
        algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
        try:
            for _ in range(3):
                result = algo.train()
            learner_weights = algo.learner_group.get_weights()["shared"]
            runner_weights = algo.env_runner_group.foreach_env_runner(
                lambda runner: runner.module["shared"].get_state(), local_env_runner=False)[0]
            assert set(runner_weights) and all(
                np.array_equal(runner_weights[k], learner_weights[k]) for k in runner_weights)
            return result
        finally:
            algo.stop()

    first, second = run(), run()
    steps = first["env_runners"]["num_env_steps_sampled_lifetime"]
    assert steps >= 120 and first["replay_buffer"]["num_transitions"] == steps
    assert first["learners"]["shared"]["num_module_steps_trained"] > 0
    assert first["learners"]["shared"]["critic_loss"] == second["learners"]["shared"]["critic_loss"]
    assert first["env_runners"]["episode_return_mean"] == second["env_runners"]["episode_return_mean"]


# -- TD3's fixes: twin critics, target policy smoothing, delayed updates ----------------


def _td3_module(target_noise: float = 0.0, clip: float = 0.5):
    torch.manual_seed(0)
    module = RLModuleSpec(
        module_class=BiCNetDDPGTorchRLModule,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (3, 4), np.float32),
        action_space=gym.spaces.Box(-1, 1, (6,), np.float32),
        model_config={**TINY_MODEL, "twin_q": True, "target_noise": target_noise, "target_noise_clip": clip},
    ).build()
    module.make_target_networks()
    return module


def test_clipped_double_q_target_is_the_smaller_target_critic_at_the_smoothed_action():
    module = _td3_module(target_noise=0.3, clip=0.1)
    next_obs = _team_obs(16, [1, 0, 1])
    torch.manual_seed(5)
    target = module.forward_target({Columns.NEXT_OBS: next_obs})["q_target_next"]
    torch.manual_seed(5)
    smoothed = module.target_actions(next_obs)
    clean = module.policy(next_obs, target=True)
    assert 0 < float((smoothed - clean).abs().max()) <= 0.1 + 1e-6  # noise, within its clip
    q1 = module.q_values(next_obs, smoothed, target=True)
    q2 = module.q_values(next_obs, smoothed, target=True, second=True)
    assert not torch.allclose(q1, q2)
    torch.testing.assert_close(target, torch.minimum(q1, q2))
    # Both critics learn from that one target.
    z = torch.zeros(2, 3)
    losses = bicnet_losses(q_values=z, q_values_2=z + 2, q_policy=z, q_target_next=z, rewards=z + 1,
                           discounts=z + 0.9, alive=z + 1, next_alive=z + 1)
    assert float(losses["critic_loss"]) == pytest.approx(3 * 1.0 + 3 * 1.0)


def test_actor_and_targets_update_exactly_every_policy_delay_updates(ray_session):
    config = rllib_shared.build_config({**TINY_BICNET, "twin_q": True, "policy_delay": 3})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        for _ in range(3):
            result = algo.train()
        learner = algo.learner_group._learner
        updates = learner.critic_updates
        assert updates >= 6
        steps = {}
        for name in ("actor", "critic"):
            optim = learner.get_optimizer("shared", name)
            steps[name] = {int(optim.state[p]["step"]) for p in optim.param_groups[0]["params"]}
        # Adam counts the steps each parameter took: the critics all, the actor every third.
        assert steps == {"critic": {updates}, "actor": {updates // 3}}
        assert result["learners"]["shared"]["num_target_updates"] == updates // 3
    finally:
        algo.stop()


def test_grad_clip_clips_each_optimizer_on_its_own(ray_session):
    """RLlib's grad_clip (by global norm) applies per optimizer: after an update
    the actor's and the critic's gradients each have norm exactly grad_clip
    (one clip over both would leave each below it)."""
    config = rllib_shared.build_config({**TINY_BICNET, "grad_clip": 1e-3, "grad_clip_by": "global_norm"})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        algo.train()
        results = algo.learner_group.update(batch=algo.local_replay_buffer.sample(32), timesteps={})[0]["shared"]
        module = algo.learner_group._learner.module["shared"].unwrapped()
        for name, net in (("actor", module.actor), ("critic", module.critic)):
            assert float(results[f"gradients_{name}_global_norm"].peek()) > 1e-3  # before the clip
            norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in net.parameters() if p.grad is not None))
            assert float(norm) == pytest.approx(1e-3, rel=1e-3), name
    finally:
        algo.stop()


def test_proximal_penalty_counts_alive_agents_only():
    actor_out = torch.tensor([[[1.0, 2.0], [3.0, 0.0], [9.0, 9.0]]])
    target_out = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]])
    alive = torch.tensor([[True, True, False]])
    # (1 + 4) and 4 for the two alive agents; the dead one's 162 is left out.
    assert float(proximal_penalty(actor_out, target_out, alive)) == pytest.approx(4.5)


@pytest.mark.parametrize("coeff", [0.0, 1000.0])
def test_actor_proximal_coeff_pulls_the_actor_toward_its_target(ray_session, coeff):
    """With ``actor_proximal_coeff`` the actor loss adds coeff * mean ||mu(s) - mu'(s)||^2:
    the learner logs that drift, and a coefficient that outweighs the critic's
    action gradient makes one update bring the actor's actions closer to the
    target actor's (tau is tiny, so the target itself barely moves)."""
    config = rllib_shared.build_config({**TINY_BICNET, "actor_proximal_coeff": coeff, "actor_lr": 0.003,
                                        "tau": 1e-6})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        algo.train()
        module = algo.learner_group._learner.module["shared"].unwrapped()
        torch.manual_seed(0)
        with torch.no_grad():
            for param in module.actor.parameters():
                param.add_(0.1 * torch.randn_like(param))
        batch = algo.local_replay_buffer.sample(64)
        obs = torch.as_tensor(batch.policy_batches["shared"][Columns.OBS])
        alive = obs[..., ALIVE] > 0

        def drift() -> float:
            with torch.no_grad():
                return float(proximal_penalty(module.actor_out(obs), module.actor_out(obs, target=True), alive))

        before = drift()
        results = algo.learner_group.update(batch=batch, timesteps={})[0]["shared"]
        after = drift()
        if coeff:
            assert float(results["actor_drift"].peek()) == pytest.approx(before, rel=1e-4)
            assert after < 0.9 * before
        else:
            assert "actor_drift" not in results
    finally:
        algo.stop()


@pytest.mark.parametrize("settings, message", [
    ({"env_config": {**GUESS, "continuous": False}, "target_noise": 0.2}, "this team's actions are discrete"),
    ({"policy_delay": 0}, "policy_delay must be an integer >= 1, got 0"),
    ({"twin_q": "yes"}, "twin_q.? must be true or false"),
    ({"target_noise": -0.1}, "target_noise must be a number >= 0"),
    ({"actor_regularization": -1}, "actor_regularization must be a number >= 0"),
    ({"actor_proximal_coeff": -0.5}, "actor_proximal_coeff must be a number >= 0, got -0.5"),
    ({"overlap_sampling": True}, "overlap_sampling: true needs remote env runners.*set num_env_runners: 1"),
])
def test_td3_settings_are_checked(settings, message):
    with pytest.raises(rllib_shared.ConfigError, match=message):
        rllib_shared.build_config({**TINY_BICNET, **settings})


# -- Ornstein-Uhlenbeck exploration ----------------------------------------------------


def exploration_noise(noise_type: str) -> list[np.ndarray]:
    """Per complete episode ``(T, n * A)``: the actions the env runner took minus
    the actor's own actions at the same observations (the exploration noise)."""
    config = rllib_shared.build_config({**TINY_BICNET, "exploration_noise_type": noise_type, "ou_theta": 0.15,
                                        "exploration_noise": 0.2, "final_exploration_noise": 0.2,
                                        "env_config": {**GUESS, "max_cycles": 20}})
    algo = BiCNetAlgorithmConfig().update_from_dict(config).build_algo()
    try:
        episodes = algo.env_runner.sample(num_timesteps=400, explore=True)
        module = algo.env_runner.module["shared"]
        noises = []
        for episode in episodes:
            team = episode.agent_episodes["team"]
            if team.t_started != 0 or not team.is_done:
                continue
            actions = np.stack(team.get_actions())
            with torch.no_grad():
                clean = module.forward_inference({Columns.OBS: torch.as_tensor(
                    np.stack(team.get_observations()[:-1]))})[Columns.ACTIONS].numpy()
            assert np.all(np.abs(clean) < 0.5)  # far from the clip at 1
            noises.append(actions - clean)
        return noises
    finally:
        algo.stop()


def test_ou_noise_is_correlated_in_time_and_starts_from_zero_each_episode(ray_session):
    ou, gaussian = exploration_noise("ou"), exploration_noise("gaussian")
    assert len(ou) >= 10 and len(gaussian) >= 10

    def lag1(noises):
        a = np.concatenate([n[:-1].ravel() for n in noises])
        b = np.concatenate([n[1:].ravel() for n in noises])
        keep = (np.abs(a) < 0.5) & (np.abs(b) < 0.5)  # away from the action clip
        return np.corrcoef(a[keep], b[keep])[0, 1]

    assert lag1(ou) > 0.6 and abs(lag1(gaussian)) < 0.2
    # Each episode's noise starts from 0: its first step has std sigma (0.2), while
    # later steps have the process's stationary std, sigma / sqrt(1 - (1 - theta)^2) ~ 0.38.
    first = np.concatenate([n[0] for n in ou])
    late = np.concatenate([n[10:].ravel() for n in ou])
    assert 0.12 < first.std() < 0.28 < late.std()


def test_ou_noise_settings_are_checked(ray_session):
    for settings, message in [({"exploration_noise_type": "pink"}, "unknown exploration_noise_type 'pink'"),
                              ({"ou_theta": 0}, "ou_theta must be a number in \\(0, 1\\]")]:
        with pytest.raises(rllib_shared.ConfigError, match=message):
            BiCNetAlgorithmConfig().update_from_dict(
                rllib_shared.build_config({**TINY_BICNET, **settings})).validate()
    discrete = {**TINY_BICNET, "env_config": {**GUESS, "continuous": False}, "exploration_noise_type": "ou"}
    with pytest.raises(rllib_shared.ConfigError, match="exploration_noise_type: ou is for real actions"):
        rllib_shared.build_config(discrete)  # at config time, before any trial starts
