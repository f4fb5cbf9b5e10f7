"""The memory estimate: how it grows, the error it gives, and a real run's peak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import tiny

from rllib_shared.config import prepare_run
from rllib_shared.errors import ConfigError
from rllib_shared.memory import DRIVER, GB, RAY_PROCESSES

ROOT = Path(__file__).resolve().parents[1]


def estimate(algo="PPO", n_agents=8, **settings):
    user = {"algo": algo, "env": "guessing_sum_v0", "env_config": {"n_agents": n_agents},
            "num_env_runners": 0, **settings}
    return prepare_run(user).memory_estimate()


def test_team_layout_grows_linearly_and_per_agent_rows_quadratically_with_the_team():
    for algo, setting, power in [("PPO", "minibatch_size", 1), ("APPO", "train_batch_size_per_learner", 2)]:
        small = estimate(algo, 16, train_batch_size_per_learner=400).parts[setting]
        large = estimate(algo, 64, train_batch_size_per_learner=400).parts[setting]
        assert large / small == pytest.approx(4**power, rel=0.01), algo


def test_estimate_grows_with_each_setting_it_names():
    base = estimate(train_batch_size_per_learner=1000, minibatch_size=100)
    assert estimate(train_batch_size_per_learner=1000, minibatch_size=200).parts["minibatch_size"] == \
        pytest.approx(2 * base.parts["minibatch_size"])
    assert estimate(train_batch_size_per_learner=2000, minibatch_size=100).parts["train_batch_size_per_learner"] == \
        pytest.approx(2 * base.parts["train_batch_size_per_learner"])
    wider = estimate(train_batch_size_per_learner=1000, minibatch_size=100, model={"encoder_hidden": [256]})
    assert wider.parts["minibatch_size"] > base.parts["minibatch_size"]
    runners = estimate(train_batch_size_per_learner=1000, minibatch_size=100, num_env_runners=3)
    assert runners.total - base.total == pytest.approx(runners.parts["num_env_runners"])
    replay = estimate("BiCNet", replay_buffer_config={"type": "EpisodeReplayBuffer", "capacity": 2_000_000})
    assert replay.parts["replay_buffer_config.capacity"] > 2 * estimate("BiCNet").parts["replay_buffer_config.capacity"]


@pytest.mark.parametrize("settings, setting", [
    ({"algo": "BiCNet", "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 10**9}},
     "replay_buffer_config.capacity"),
    ({"train_batch_size_per_learner": 10**7, "minibatch_size": 10**7}, "minibatch_size"),
])
def test_a_run_that_does_not_fit_names_the_setting_to_lower(settings, setting):
    with pytest.raises(ConfigError, match=rf"this run needs about [\d.]+ GB of memory .*machine has 8.0 GB "
                                          rf"available: lower {setting} \(it accounts for"):
        estimate(**settings).check_fits(8 * GB)
    estimate().check_fits(8 * GB)  # the defaults fit


def test_train_refuses_a_run_that_cannot_fit_before_starting_ray(tmp_path):
    config = tmp_path / "huge.yaml"
    config.write_text(yaml.safe_dump({**tiny("guessing_sum_v0", {"n_agents": 64}), "algo": "BiCNet",
                                      "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 10**11},
                                      "stop": {"training_iteration": 1}}))
    train = subprocess.run([sys.executable, "scripts/train.py", str(config), "--storage-path",
                            str(tmp_path / "results")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert train.returncode == 2, train.stderr[-2000:]
    assert "lower replay_buffer_config.capacity" in train.stderr
    assert not (tmp_path / "results").exists()  # Ray and Tune never started


MEASURE = """
import json, sys
import ray, rllib_shared
from rllib_shared.algorithms import default_algorithm_config
user = json.loads(sys.argv[1])
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
algo = default_algorithm_config(user.get("algo", "PPO")).update_from_dict(rllib_shared.build_config(user)).build_algo()
for _ in range(2):
    algo.train()
peak = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] * 1024
print(json.dumps({"peak": peak}))
"""


def test_estimate_is_at_or_above_a_real_runs_peak_and_not_far_above():
    """The process that trains (env runner and learner in one), 32 agents."""
    user = {"env": "guessing_sum_v0", "env_config": {"n_agents": 32}, "num_env_runners": 0,
            "num_envs_per_env_runner": 4, "train_batch_size_per_learner": 1000, "minibatch_size": 500,
            "num_epochs": 1}
    run = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(user)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    peak = json.loads(run.stdout.strip().splitlines()[-1])["peak"]
    estimated = prepare_run(user).memory_estimate().total - RAY_PROCESSES - DRIVER
    # Measured here: 0.84 GB peak, 0.93 GB estimated.
    assert 0.9 * peak <= estimated <= 2 * peak, (peak / GB, estimated / GB)


def test_a_cnn_encoders_feature_maps_count_per_agent_row():
    user = {"env": "pursuit_v5", "env_config": {"n_pursuers": 3, "n_evaders": 4, "x_size": 8, "y_size": 8},
            "num_env_runners": 0, "train_batch_size_per_learner": 100, "minibatch_size": 100,
            "model": {"skip_input": False}}
    mlp = prepare_run(user).memory_estimate().parts["minibatch_size"]
    cnn = prepare_run({**user, "model": {"skip_input": False, "encoder": "cnn", "conv_filters": [[8, 3, 1]]}})
    # pursuit's 7x7x3 view -> 8 maps of 5x5 per agent, in the actor and the critic, 4 bytes each.
    assert cnn.memory_estimate().parts["minibatch_size"] - mlp == pytest.approx(100 * 3 * 2 * 8 * 5 * 5 * 4)
