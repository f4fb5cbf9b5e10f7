"""BiCNet-PPO on the team layout: per-agent GAE, per-agent loss, the module."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchCategorical, TorchDiagGaussian
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

from rllib_shared.algorithms.ppo import TeamPPOTorchRLModule
from rllib_shared.algorithms.ppo.gae import per_agent_gae
from rllib_shared.algorithms.ppo.learner import team_ppo_loss
from rllib_shared.team.actions import TeamActions, TeamCategorical, TeamDiagGaussian
from rllib_shared.team.layout import ALIVE


def rllib_targets_one_agent(values, rewards, last, terminated, gamma, lambda_):
    """RLlib's own GAE on one agent's stream, steps 0..last, as its episode
    chunk looks after AddOneTsToEpisodesAndTruncate (one artificial step)."""
    length = last + 1
    vals = np.append(values[:length], values[length])  # bootstrap value (ignored if terminated)
    rews = np.append(rewards[:length], 0.0)
    terms = np.zeros(length + 1)
    truncs = np.zeros(length + 1)
    if terminated:
        terms[last] = 1.0
    else:
        truncs[last] = 1.0
    return compute_value_targets(vals, rews, terms, truncs, gamma=gamma, lambda_=lambda_)[:length]


@pytest.mark.parametrize("seed", range(5))
def test_per_agent_gae_equals_rllib_gae_per_agent(seed):
    rng = np.random.default_rng(seed)
    steps, n, gamma, lambda_ = 12, 4, 0.93, 0.9
    values = rng.normal(size=(steps + 1, n)).astype(np.float32)
    rewards = rng.normal(size=(steps, n)).astype(np.float32)
    dones = np.zeros((steps, n), bool)
    dies_at = int(rng.integers(1, steps - 2))
    dones[dies_at, 1] = True  # agent 1 dies mid-chunk
    dones[steps - 1, 2] = True  # agent 2 terminates at the last step
    # agents 0 and 3 are truncated at the chunk's end: bootstrap from values[steps]
    _, targets = per_agent_gae(values, rewards, dones, gamma=gamma, lambda_=lambda_)
    for agent, last, terminated in [(0, steps - 1, False), (1, dies_at, True),
                                    (2, steps - 1, True), (3, steps - 1, False)]:
        expected = rllib_targets_one_agent(
            values[:, agent], rewards[:, agent], last, terminated, gamma, lambda_
        )
        np.testing.assert_allclose(targets[: last + 1, agent], expected, rtol=1e-5, atol=1e-5)


def _loss_inputs(discrete: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    batch, n, k = 7, 3, 4
    width = k if discrete else 2 * 2
    curr = torch.randn(batch, n, width, generator=g, requires_grad=True)
    prev = torch.randn(batch, n, width, generator=g)
    cls = TeamCategorical if discrete else TeamDiagGaussian
    actions = cls.from_logits(prev).sample()
    mask = torch.rand(batch, n, generator=g) > 0.3
    return dict(
        curr=curr, prev=prev, cls=cls, actions=actions, mask=mask,
        advantages=torch.randn(batch, n, generator=g),
        values=torch.randn(batch, n, generator=g, requires_grad=True),
        targets=torch.randn(batch, n, generator=g),
    )


SETTINGS = dict(clip_param=0.2, vf_clip_param=1.5, vf_loss_coeff=0.7, entropy_coeff=0.01)


def _team_loss(x, **overrides):
    inputs = {**x, **overrides}
    return team_ppo_loss(
        curr_dist=inputs["cls"].from_logits(inputs["curr"]),
        prev_dist=inputs["cls"].from_logits(inputs["prev"]),
        actions=inputs["actions"], advantages=inputs["advantages"], values=inputs["values"],
        value_targets=inputs["targets"], mask=inputs["mask"], kl_coeff=0.3, **SETTINGS,
    )


@pytest.mark.parametrize("discrete", [True, False])
def test_team_loss_is_mean_of_single_agent_losses(discrete):
    """One agent at a time with RLlib's own single-agent distributions."""
    x = _loss_inputs(discrete)
    total, _ = _team_loss(x)
    n = x["curr"].shape[1]
    single_cls = TorchCategorical if discrete else TorchDiagGaussian
    summed, count = 0.0, 0
    for i in range(n):
        rows = x["mask"][:, i]
        curr = single_cls.from_logits(x["curr"][rows, i])
        prev = single_cls.from_logits(x["prev"][rows, i])
        act = x["actions"][rows, i] if discrete else x["actions"].unflatten(-1, (n, -1))[rows, i]
        ratio = torch.exp(curr.logp(act) - prev.logp(act))
        adv = x["advantages"][rows, i]
        surrogate = torch.min(adv * ratio, adv * ratio.clamp(0.8, 1.2))
        vf = (x["values"][rows, i] - x["targets"][rows, i]).pow(2).clamp(0, 1.5)
        per_step = -surrogate + 0.7 * vf - 0.01 * curr.entropy() + 0.3 * prev.kl(curr)
        summed = summed + per_step.sum()
        count += int(rows.sum())
    torch.testing.assert_close(total, summed / count)


@pytest.mark.parametrize("discrete", [True, False])
def test_dead_agent_steps_change_nothing(discrete):
    x = _loss_inputs(discrete, seed=1)
    total, _ = _team_loss(x)
    total.backward()
    dead = ~x["mask"]
    assert float(x["curr"].grad[dead].abs().sum()) == 0.0
    assert float(x["values"].grad[dead].abs().sum()) == 0.0
    garbage = dict(
        advantages=torch.where(dead, 1e6, x["advantages"]),
        targets=torch.where(dead, -1e6, x["targets"]),
        prev=torch.where(dead[..., None], 50.0, x["prev"]),
    )
    changed, _ = _team_loss(x, **garbage)
    torch.testing.assert_close(changed, total)


@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(5), gym.spaces.Box(-1, 1, (2,))])
def test_module_gradients_reach_every_parameter_through_communication(action_space):
    n, features = 4, 3
    obs_space = gym.spaces.Box(-np.inf, np.inf, (n, features + 2), np.float32)
    joint = TeamActions(agent_space=action_space, n_agents=n).joint_space
    module = TeamPPOTorchRLModule(observation_space=obs_space, action_space=joint,
                                  model_config={"comm": "bilstm"})
    obs = torch.randn(6, n, features + 2)
    obs[..., ALIVE] = 1.0
    obs.requires_grad_(True)
    out = module.forward_train({Columns.OBS: obs})
    assert out[Columns.ACTION_DIST_INPUTS].shape[:2] == (6, n)
    values = module.compute_values({Columns.OBS: obs}, embeddings=out[Columns.EMBEDDINGS])
    assert values.shape == (6, n)
    dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    loss = -dist.logp(dist.sample()).mean() + values.pow(2).mean()
    loss.backward(retain_graph=True)
    no_grad = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not no_grad, no_grad
    # Agent 0's policy depends on agent 3's observation: the channel carries it.
    grad = torch.autograd.grad(out[Columns.ACTION_DIST_INPUTS][:, 0].sum(), obs)[0]
    assert float(grad[:, 3, :features].abs().sum()) > 0.0


def test_gae_value_pass_runs_in_chunks_without_autograd(monkeypatch):
    from rllib_shared.algorithms.ppo import gae

    n = 3
    obs_space = gym.spaces.Box(-np.inf, np.inf, (n, 4), np.float32)
    module = TeamPPOTorchRLModule(observation_space=obs_space, action_space=gym.spaces.MultiDiscrete([5] * n),
                                  model_config={"comm": "bilstm"})
    obs = torch.randn(50, n, 4)
    obs[..., ALIVE] = 1.0
    calls = []
    compute_values = module.compute_values
    monkeypatch.setattr(module, "compute_values", lambda batch: calls.append(1) or compute_values(batch))
    monkeypatch.setattr(gae, "VALUE_CHUNK_AGENT_ROWS", 6 * n)  # 6 rows a pass
    values = gae.batch_values(module, {Columns.OBS: obs})
    assert len(calls) == 9 and not values.requires_grad
    torch.testing.assert_close(values, compute_values({Columns.OBS: obs}).detach())


def test_inference_only_module_has_no_value_parts():
    obs_space = gym.spaces.Box(-np.inf, np.inf, (3, 4), np.float32)
    joint = gym.spaces.MultiDiscrete([5, 5, 5])
    module = TeamPPOTorchRLModule(observation_space=obs_space, action_space=joint,
                                  model_config={"normalize_value": True}, inference_only=True)
    assert not any(name.startswith(("net.vf", "net.value_norm")) for name in module.state_dict())


def _learner_batch(user_config: dict, num_timesteps: int, *, with_module: bool = False):
    """A PPO train batch of sampled episodes, through PPO's real learner pipeline
    (and, ``with_module``, the learner's module after it)."""
    import rllib_shared
    from rllib_shared.algorithms import default_algorithm_config

    config = rllib_shared.build_config({
        "model": {"encoder_hidden": [8], "comm_hidden": 4, "head_hidden": [8]},
        "num_env_runners": 0, "num_envs_per_env_runner": 1, "train_batch_size_per_learner": num_timesteps,
        "minibatch_size": num_timesteps, "num_epochs": 1, "seed": 0, **user_config,
    })
    algo = default_algorithm_config("PPO").update_from_dict(config).build_algo()
    try:
        episodes = algo.env_runner.sample(num_timesteps=num_timesteps, random_actions=False)
        learner = algo.learner_group._learner
        batch = learner._learner_connector(rl_module=learner.module, batch={}, episodes=episodes,
                                           shared_data={}, metrics=learner.metrics)["shared"]
        return (batch, learner.module["shared"]) if with_module else batch
    finally:
        algo.stop()


def _dying_env_learner_batch(**settings):
    """A PPO train batch of sampled DyingEnv episodes."""
    batch = _learner_batch({"env": "pettingzoo", "env_config": {"pettingzoo_env": "dying_env"}, **settings}, 9)
    obs = batch[Columns.OBS].numpy()
    # Every DyingEnv episode is 3 steps (+1 artificial): rows t=0,1,2,(3).
    starts = np.flatnonzero(obs[:, 0, 0] == 0)  # obs[..., 0] is the env's step counter
    assert len(starts) >= 2
    # Each agent's reward is its own action; RLlib maps normalised [-1, 1] onto [-2, 2].
    rewards = np.clip(batch[Columns.ACTIONS].numpy(), -1, 1) * 2.0
    return batch, starts, rewards


def test_learner_pipeline_on_real_episodes_masks_dead_agents_and_cuts_their_bootstrap(ray_session):
    """agent_1 terminates at its first step, so it counts at t=0 only and its
    value target there is its reward alone."""
    from rllib_shared.algorithms.ppo.gae import AGENT_MASK
    from ray.rllib.evaluation.postprocessing import Postprocessing

    batch, starts, rewards = _dying_env_learner_batch(gamma=0.9)
    mask = batch[AGENT_MASK].numpy()
    for start in starts:
        np.testing.assert_array_equal(mask[start:start + 3, 1], [True, False, False])
        np.testing.assert_array_equal(mask[start:start + 3, 0], [True, True, True])
    np.testing.assert_allclose(batch[Postprocessing.VALUE_TARGETS].numpy()[starts, 1], rewards[starts, 1],
                               rtol=1e-5)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_team_reward_trains_every_acting_agent_on_the_team_reward(ray_session, mode):
    """With gamma 0 the value targets are the rewards the loss trains on: at every
    step each acting agent's is the team's sum (or mean) over the agents that
    acted; agent_1, dead after t=0, is left out from t=1 on."""
    from ray.rllib.evaluation.postprocessing import Postprocessing

    batch, starts, rewards = _dying_env_learner_batch(gamma=0.0, team_reward=mode)
    targets = batch[Postprocessing.VALUE_TARGETS].numpy()
    for start in starts:
        for t, acting in enumerate(([0, 1, 2], [0, 2], [0, 2])):
            row = start + t
            team = rewards[row, acting].sum() / (len(acting) if mode == "mean" else 1)
            np.testing.assert_allclose(targets[row, acting], team, rtol=1e-5, atol=1e-6)
            if 1 not in acting:
                assert targets[row, 1] == 0.0


def test_state_critic_reads_the_state_of_each_observations_row_in_real_ppo(ray_session):
    """simple_spread's state() is every agent's observation in a row, so in
    the learner batch each row's STATE must equal that row's team array."""
    from rllib_shared.team.env import STATE

    batch = _learner_batch({
        "env": "simple_spread_v3", "env_config": {"N": 3, "max_cycles": 5},
        "model": {"encoder_hidden": [8], "comm_hidden": 4, "head_hidden": [8], "comm": "none",
                  "critic_input": "state"},
    }, 12)
    obs, state = batch[Columns.OBS].numpy(), batch[STATE].numpy()
    assert state.shape == (len(obs), 54)
    np.testing.assert_array_equal(state, obs[:, :, :18].reshape(len(obs), 54))


def test_normalized_value_learns_in_units_of_the_live_value_targets(ray_session):
    """model.normalize_value: the learner pipeline adds the value targets of
    the agent-steps in the loss (dead agent_1 left out) to the critic's
    statistics, and the module's values are its head's output denormalised."""
    from ray.rllib.evaluation.postprocessing import Postprocessing

    from rllib_shared.algorithms.ppo.gae import AGENT_MASK
    from rllib_shared.team.layout import split_team

    batch, module = _learner_batch({
        "env": "pettingzoo", "env_config": {"pettingzoo_env": "dying_env"},
        "model": {"encoder_hidden": [8], "comm_hidden": 4, "head_hidden": [8], "normalize_value": True},
    }, 9, with_module=True)
    mask = batch[AGENT_MASK].numpy()
    live = batch[Postprocessing.VALUE_TARGETS].numpy()[mask].astype(np.float64)
    norm = module.net.value_norm
    assert int(norm.count) == mask.sum() < mask.size
    np.testing.assert_allclose(float(norm.mean), live.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(norm.var), live.var(), rtol=1e-4)
    assert float(norm.var) > 0.1  # the statistics moved from (0, 1)
    with torch.no_grad():
        head = module.net.vf_head(module.net.value_features(*split_team(batch[Columns.OBS]))).squeeze(-1)
        torch.testing.assert_close(module.compute_values(batch), head * norm.std + norm.mean)
    assert module.value_scale() == norm.std


def test_value_loss_divides_the_error_by_the_value_scale():
    values, targets = torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, -1.0]])
    dist = TeamCategorical.from_logits(torch.zeros(1, 2, 3))
    common = dict(curr_dist=dist, prev_dist=dist, actions=torch.zeros(1, 2), advantages=torch.zeros(1, 2),
                  values=values, value_targets=targets, mask=torch.tensor([[True, True]]), clip_param=0.2,
                  vf_clip_param=1000.0, vf_loss_coeff=1.0, entropy_coeff=0.0, kl_coeff=None)
    _, plain = team_ppo_loss(**common)
    _, scaled = team_ppo_loss(**common, value_scale=torch.tensor(2.0))
    assert float(plain["vf_loss"]) == pytest.approx((4 + 36) / 2)
    assert float(scaled["vf_loss"]) == pytest.approx((1 + 9) / 2)


@pytest.mark.parametrize("algo", ["APPO", "IMPALA", "BiCNet"])
def test_normalized_value_is_refused_where_no_learner_updates_it(algo):
    import rllib_shared

    with pytest.raises(rllib_shared.ConfigError, match=f"model.normalize_value works with algo PPO, not {algo}"):
        rllib_shared.build_config({"algo": algo, "env": "simple_spread_v3", "model": {"normalize_value": True}})


@pytest.mark.parametrize("user, message", [
    ({"env": "guessing_sum_v0"}, "env 'guessing_sum_v0' has no global state\\(\\), which model.critic_input"),
    ({"env": "simple_spread_v3", "algo": "APPO"}, "works with algo PPO, not APPO"),
    ({"env": "simple_spread_v3", "algo": "BiCNet"}, "works with algo PPO, not BiCNet"),
])
def test_state_critic_is_refused_where_it_cannot_work(user, message):
    import rllib_shared

    with pytest.raises(rllib_shared.ConfigError, match=message):
        rllib_shared.build_config({**user, "model": {"critic_input": "state"}})


@pytest.mark.parametrize("algo, message", [
    ("PPO", "encoder: cnn needs image observations of one shape \\(H, W, C\\) for every agent of policy "
            "'shared'; they have \\(18,\\)"),
    ("APPO", "they have \\(18,\\)"),
    ("BiCNet", "model.encoder: cnn is not supported by algo BiCNet yet"),
])
def test_cnn_encoder_is_refused_where_it_cannot_work(algo, message):
    import rllib_shared

    with pytest.raises(rllib_shared.ConfigError, match=message):
        rllib_shared.build_config({"algo": algo, "env": "simple_spread_v3", "model": {"encoder": "cnn"}})
