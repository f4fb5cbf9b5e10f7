"""Memory over time (``model.memory``) through RLlib's stateful-module machinery:
env runners carry each agent's state, the learner replays ``max_seq_len``
sequences from it, checkpoints restore into a policy that remembers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.columns import Columns

import rllib_shared
from rllib_shared import build_config, load_policy
from rllib_shared.evaluation import evaluate, message_ablation

pytestmark = pytest.mark.usefixtures("ray_session")

RECALL = {"n_agents": 2, "n_cues": 3, "delay": 4, "ask": "next"}  # 6-step episodes


def recall_config(memory: str = "lstm", **overrides) -> dict:
    user = tiny("recall_v0", RECALL, **overrides)
    user["model"].update(memory=memory, memory_hidden=8, max_seq_len=4)
    return build_config(user)


def team_chunks(episodes):
    """Each sampled multi-agent episode chunk's team episode."""
    return [episode.agent_episodes["team"] for episode in episodes]


def step_by_step(module, team_episode, memory):
    """The module's action-distribution inputs at each step of ``team_episode``,
    one step at a time from ``memory``, as an env runner acts."""
    obs = torch.as_tensor(np.stack(team_episode.get_observations()[:-1]))
    outputs = []
    for t in range(len(obs)):
        out = module.forward_inference({Columns.OBS: obs[None, t : t + 1], Columns.STATE_IN: memory})
        outputs.append(out[Columns.ACTION_DIST_INPUTS][0, 0])
        memory = out[Columns.STATE_OUT]
    return torch.stack(outputs)


def test_env_runners_start_every_episode_from_the_initial_state_and_carry_it():
    """The logits the env runner recorded at every step equal a replay that
    starts each episode from zeros and carries the state step to step."""
    algo = PPOConfig().update_from_dict(recall_config()).build_algo()
    try:
        module = algo.env_runner.module["shared"]
        initial = {k: torch.as_tensor(v)[None] for k, v in module.get_initial_state().items()}
        episodes = team_chunks(algo.env_runner.sample(num_timesteps=60, explore=True))
        complete = [e for e in episodes if e.t_started == 0 and e.is_done]
        assert len(complete) >= 8  # several episodes ran one after another in each env
        with torch.no_grad():
            for episode in complete:
                recorded = torch.as_tensor(np.stack(episode.get_extra_model_outputs(Columns.ACTION_DIST_INPUTS)))
                torch.testing.assert_close(step_by_step(module, episode, initial), recorded)
            # Starting from the last episode's final state instead gives other logits:
            # the state matters, so the check above could fail.
            carried = module.forward_inference({
                Columns.OBS: torch.as_tensor(np.stack(complete[0].get_observations()[:-1]))[None],
                Columns.STATE_IN: initial,
            })[Columns.STATE_OUT]
            assert not torch.allclose(step_by_step(module, complete[1], carried),
                                      step_by_step(module, complete[1], initial))
    finally:
        algo.stop()


def test_learner_sequences_give_the_logits_the_env_runner_acted_on():
    """The learner cuts episodes into ``max_seq_len`` chunks, each starting from
    the state the env runner had there; its training pass over the padded
    sequences reproduces every logit the env runner computed step by step
    (episodes that continue from an earlier sample included)."""
    algo = PPOConfig().update_from_dict(recall_config()).build_algo()
    try:
        algo.env_runner.sample(num_timesteps=9, explore=True)  # leave episodes mid-way
        multi = algo.env_runner.sample(num_timesteps=40, explore=True)
        episodes = team_chunks(multi)
        assert any(e.t_started > 0 for e in episodes)
        recorded = [np.stack(e.get_extra_model_outputs(Columns.ACTION_DIST_INPUTS)) for e in episodes]
        learner = algo.learner_group._learner
        batch = learner._learner_connector(
            rl_module=learner.module, batch={}, episodes=multi, shared_data={}, metrics=learner.metrics
        )["shared"]
        seq_lens = batch[Columns.SEQ_LENS].numpy()
        assert batch[Columns.OBS].shape[1] == 4 and seq_lens.max() <= 4
        with torch.no_grad():
            out = learner.module["shared"].forward_train(batch)[Columns.ACTION_DIST_INPUTS].numpy()
        timesteps = np.arange(4)[None, :] < seq_lens[:, None]
        trained = out[timesteps][batch[Columns.LOSS_MASK].numpy()[timesteps]]  # no artificial steps
        np.testing.assert_allclose(trained, np.concatenate(recorded), rtol=1e-5, atol=1e-5)
        # Per-agent GAE came back in the same padded layout, zero outside the sequences.
        advantages = batch["advantages"].numpy()
        assert advantages.shape == (*timesteps.shape, 2)
        assert not advantages[~timesteps].any() and advantages[timesteps].any()
    finally:
        algo.stop()


def test_memory_trains_checkpoints_and_plays_through_load_policy(tmp_path):
    analysis = tune.run("PPO", config=recall_config(), stop={"training_iteration": 2},
                        storage_path=str(tmp_path), checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=True),
                        verbose=0)
    trial = analysis.trials[0]
    assert trial.status == "TERMINATED", trial.error_file
    assert np.isfinite(trial.last_result["learners"]["shared"]["vf_loss"])
    policy = load_policy(trial.checkpoint)
    assert policy.has_memory

    env = rllib_shared.registry.make_pettingzoo_env("recall_v0", RECALL)

    def play(seed):
        obs, _ = env.reset(seed=seed)
        actions = []
        while env.agents:
            act = policy(obs)
            actions.append(act)
            obs, *_ = env.step(act)
        return actions, {k: v.clone() for k, v in policy._memory["team"].items()}

    policy.reset()
    first, memory = play(3)
    assert any(v.abs().sum() > 0 for v in memory.values())  # the state moved during the episode
    policy.reset()
    again, memory_again = play(3)
    assert again == first and all(torch.equal(memory[k], memory_again[k]) for k in memory)
    _, carried = play(3)  # without reset: the episode starts from the last one's final state
    assert any(not torch.equal(memory[k], carried[k]) for k in memory)

    result = evaluate(policy, "recall_v0", RECALL, episodes=3, gif=tmp_path / "recall.gif")
    assert result.gif.stat().st_size > 0 and 0.0 <= result.team_return <= 2.0
    with pytest.raises(rllib_shared.ConfigError, match="does not support policies with memory"):
        message_ablation(policy, "recall_v0", RECALL, episodes=1)


@pytest.mark.parametrize("algo", ["BiCNet", "APPO", "IMPALA"])
def test_memory_needs_algo_ppo(algo):
    user = tiny("guessing_sum_v0", {"n_agents": 2}, algo=algo)
    user["model"]["memory"] = "gru"
    with pytest.raises(rllib_shared.ConfigError, match=f"model.memory: gru .* works with algo PPO, not {algo}"):
        build_config(user)
