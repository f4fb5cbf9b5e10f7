"""algo BiCNet's flat team replay: n-step transitions, the ring buffer, priorities, checkpoints.

Episodes are real: RLlib's ``MultiAgentEpisode`` filled by stepping the real
team env, and cut into chunks the way env runners cut them.
"""

from __future__ import annotations

import numpy as np
import pytest
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from rllib_shared.algorithms.bicnet.replay import (
    AGENT_DISCOUNTS,
    COLUMNS,
    WEIGHTS,
    PrioritizedTeamReplayBuffer,
    TeamReplayBuffer,
    n_step_transitions,
)
from rllib_shared.errors import ConfigError
from rllib_shared.registry import make_team_env
from rllib_shared.team.env import AGENT_REWARDS, agent_vectors


def team_episode(steps: int, *, cut_at=(), seed: int = 0, env_name="guessing_sum_v0-team", env_config=None):
    """One real team-env episode of ``steps`` steps, cut after the given steps."""
    env = make_team_env(env_name, {"n_agents": 3, "max_cycles": steps, **(env_config or {})})
    env.action_space.seed(seed)
    obs, infos = env.reset(seed=seed)
    episode = MultiAgentEpisode(agent_to_module_mapping_fn=lambda agent, episode: "shared")
    episode.add_env_reset(observations=obs, infos=infos)
    chunks = []
    for t in range(steps):
        actions = {a: env.action_spaces[a].sample() for a in obs}
        obs, rewards, terminateds, truncateds, infos = env.step(actions)
        episode.add_env_step(observations=obs, actions=actions, rewards=rewards, infos=infos,
                             terminateds=terminateds, truncateds=truncateds)
        if t + 1 in cut_at:
            chunks.append(episode)
            episode = episode.cut()
    return [*chunks, episode]


def rows(buffer: TeamReplayBuffer, module="shared") -> list[tuple]:
    ring = buffer.rings[module]
    return sorted(
        tuple(np.round(ring.arrays[k][i], 5).tobytes() for k in COLUMNS) for i in range(ring.size)
    )


def brute_force_n_step(rewards, dones, n_step, gamma):
    steps, n = rewards.shape
    returns, discounts = np.zeros((steps, n)), np.zeros((steps, n))
    for t in range(steps):
        for i in range(n):
            total, factor = 0.0, 1.0
            for k in range(min(n_step, steps - t)):
                total += factor * rewards[t + k, i]
                factor *= gamma
                if dones[t + k, i]:
                    factor = 0.0
                    break
            returns[t, i], discounts[t, i] = total, factor
    return returns, discounts


@pytest.mark.parametrize("n_step", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(3))
def test_n_step_returns_equal_the_hand_computed_sum_cut_at_each_agents_done(n_step, seed):
    rng = np.random.default_rng(seed)
    steps, n, gamma = 9, 4, 0.9
    rewards = rng.normal(size=(steps, n)).astype(np.float32)
    dones = rng.random((steps, n)) < 0.15
    obs = rng.normal(size=(steps + 1, n, 3)).astype(np.float32)
    out, ready = n_step_transitions(obs, np.arange(steps), rewards, dones, n_step=n_step, gamma=gamma,
                                    complete=True)
    returns, discounts = brute_force_n_step(rewards, dones, n_step, gamma)
    assert ready == steps
    np.testing.assert_allclose(out[AGENT_REWARDS], returns, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[AGENT_DISCOUNTS], discounts, rtol=1e-5, atol=1e-7)
    # Each transition bootstraps from the observation after its last step.
    window = np.minimum(n_step, steps - np.arange(steps))
    np.testing.assert_array_equal(out[Columns.NEXT_OBS], obs[np.arange(steps) + window])
    # An unfinished stretch keeps its last n_step - 1 steps back.
    _, waiting = n_step_transitions(obs, np.arange(steps), rewards, dones, n_step=n_step, gamma=gamma,
                                    complete=False)
    assert waiting == steps - (n_step - 1)


@pytest.mark.parametrize("n_step", [1, 3])
def test_chunks_of_an_episode_give_the_transitions_of_the_whole_episode(n_step):
    whole, cut = TeamReplayBuffer(100), TeamReplayBuffer(100)
    assert whole.add(team_episode(10), n_step=n_step, gamma=0.9) == 10
    stored = sum(cut.add([chunk], n_step=n_step, gamma=0.9) for chunk in team_episode(10, cut_at=(2, 3, 7)))
    assert stored == 10
    assert rows(whole) == rows(cut)


def test_buffer_returns_exactly_what_was_added_and_wraps_at_capacity():
    chunk = team_episode(12)[0].agent_episodes["team"]
    rewards, dones = agent_vectors(chunk, 12)
    expected, _ = n_step_transitions(np.stack(chunk.get_observations(slice(0, 13))),
                                     np.stack(chunk.get_actions(slice(0, 12))), rewards, dones,
                                     n_step=1, gamma=0.5, complete=True)
    buffer = TeamReplayBuffer(12, seed=0)
    buffer.add(team_episode(12), n_step=1, gamma=0.5)
    assert rows(buffer) == sorted(tuple(np.round(expected[k][i], 5).tobytes() for k in COLUMNS)
                                  for i in range(12))
    batch = buffer.sample(500)["shared"]
    assert batch[Columns.OBS].shape == (500, 3, 3) and batch[WEIGHTS].tolist() == [1.0] * 500
    sampled = {tuple(np.round(batch[k][i], 5).tobytes() for k in COLUMNS) for i in range(500)}
    assert sampled == set(rows(buffer))  # every stored row, nothing else
    # Five more transitions overwrite the five oldest: what is left are the
    # first episode's last seven steps and the new five.
    buffer.add(team_episode(5, seed=1), n_step=1, gamma=0.5)
    assert len(buffer) == 12
    last_seven, new_five = TeamReplayBuffer(100), TeamReplayBuffer(100)
    last_seven.add(team_episode(12, cut_at=(5,))[1:], n_step=1, gamma=0.5)
    new_five.add(team_episode(5, seed=1), n_step=1, gamma=0.5)
    assert rows(buffer) == sorted(rows(last_seven) + rows(new_five))


def test_priorities_steer_sampling_and_weights_correct_for_it():
    buffer = PrioritizedTeamReplayBuffer(50, seed=0, alpha=1.0, beta=1.0)
    buffer.add(team_episode(10), n_step=1, gamma=0.9)
    first = buffer.sample(10)
    drawn = buffer._last_rows["shared"]
    errors = np.where(drawn == drawn[0], 100.0, 0.0)
    buffer.update_priorities({"shared": errors})
    batch = buffer.sample(2000)["shared"]
    favourite = buffer._last_rows["shared"] == drawn[0]
    assert favourite.mean() > 0.9  # priority 100 against 1e-6 (and 1 for never-replayed rows)
    # Importance weights: (N P)^-beta over the largest, so the favourite gets the smallest.
    assert batch[WEIGHTS][favourite].max() < batch[WEIGHTS][~favourite].min() <= 1.0
    assert first["shared"][WEIGHTS].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="3 TD errors for module 'shared', but the last sample had 2000"):
        buffer.update_priorities({"shared": np.zeros(3)})


def test_state_round_trip_keeps_transitions_priorities_and_sampling():
    buffer = PrioritizedTeamReplayBuffer(8, seed=3)
    buffer.add(team_episode(11), n_step=2, gamma=0.9)  # wrapped: the newest 8 of 11
    buffer.sample(4)
    buffer.update_priorities({"shared": np.arange(4) + 1.0})
    state = buffer.get_state()
    restored = PrioritizedTeamReplayBuffer(8, seed=99)
    restored.set_state(state)
    assert rows(restored) == rows(buffer)
    a, b = buffer.sample(16)["shared"], restored.sample(16)["shared"]
    for key in (*COLUMNS, WEIGHTS):
        np.testing.assert_array_equal(a[key], b[key])
    smaller = PrioritizedTeamReplayBuffer(3, seed=0)
    smaller.set_state(state)
    assert len(smaller) == 3 and set(rows(smaller)) <= set(rows(buffer))


@pytest.mark.parametrize("kwargs, message", [
    ({"capacity": 0}, "capacity must be an integer >= 1"),
    ({"capacity": 10, "alpha": -1}, "alpha must be a number >= 0"),
    ({"capacity": 10, "beta": "high"}, "beta must be a number >= 0"),
])
def test_buffer_settings_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PrioritizedTeamReplayBuffer(**kwargs)
