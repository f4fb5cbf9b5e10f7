"""scripts/train.py and scripts/evaluate.py run as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TINY_MODEL, tiny
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def script(name: str, *args, timeout: int = 300, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


TINY_BICNET_RUN = {"rollout_fragment_length": 5, "train_batch_size_per_learner": 32,
                   "num_steps_sampled_before_learning_starts": 20, "min_sample_timesteps_per_iteration": 40}
TINY_USER_CONFIGS = {
    "PPO": tiny("guessing_sum_v0", {"n_agents": 3}, algo="PPO"),
    "BiCNet": {"algo": "BiCNet", "env": "guessing_sum_v0", "env_config": {"n_agents": 3},
               "model": dict(TINY_MODEL), "seed": 7, **TINY_BICNET_RUN},
}


@pytest.mark.parametrize("algo", TINY_USER_CONFIGS)
def test_train_then_evaluate_with_gif(tmp_path, algo):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_USER_CONFIGS[algo]))
    train = script("train.py", config, "--stop-iters", 2, "--storage-path", tmp_path / "results")
    assert train.returncode == 0, train.stderr[-3000:]
    assert re.search(r"iter +2 \| env steps +\d", train.stdout)
    checkpoint = Path(re.search(r"^checkpoint: (.+)$", train.stdout, re.M).group(1))
    png = Path(re.search(r"^learning curve \(iterations 1-\d+\): (.+)$", train.stdout, re.M).group(1))
    assert (checkpoint / "rllib_checkpoint.json").is_file()
    assert Image.open(png).size[0] > 100

    gif = tmp_path / "team.gif"
    # A relative experiment dir, as a user types it.
    evaluate = script("evaluate.py", Path("results") / "tiny", "--episodes", 2, "--gif", gif, cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert re.search(r"2 episodes \| team return -?\d+\.\d+ \| agent_0: ", evaluate.stdout)
    assert Image.open(gif).n_frames > 2

    ablate = script("evaluate.py", Path("results") / "tiny", "--episodes", 2, "--ablate-messages", cwd=tmp_path)
    assert ablate.returncode == 0, ablate.stderr[-3000:]
    assert re.search(r"message ablation: team return -?\d+\.\d+ with messages, -?\d+\.\d+ with teammates "
                     r"heard from other episodes \(drop -?\d+\.\d+\), -?\d+\.\d+ with every agent alone "
                     r"\(drop -?\d+\.\d+\); 2 episodes", ablate.stdout)


def test_train_reports_config_errors_in_one_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"env": "guessing_sum_v0", "lrr": 0.1, "stop": {"training_iteration": 1}}))
    train = script("train.py", config)
    assert train.returncode == 2
    assert train.stderr.strip() == ("error: unknown key 'lrr' in the PPO config; did you mean 'lr'?")


def test_evaluate_reports_missing_checkpoint(tmp_path):
    evaluate = script("evaluate.py", tmp_path)
    assert evaluate.returncode == 2
    assert "no RLlib algorithm checkpoint found" in evaluate.stderr


def test_benchmark_prints_table_and_png(tmp_path):
    png = tmp_path / "benchmark.png"
    bench = script("benchmark.py", "--only", "guessing", "--guessing-steps", 100,
                   "--storage-path", tmp_path / "bench", "--png", png, timeout=600)
    assert bench.returncode == 0, bench.stderr[-3000:]
    for label in ("guessing_sum BiCNet", "guessing_sum BiCNet-PPO", "guessing_sum no-comm ablation",
                  "guessing_sum best without communication"):
        assert re.search(re.escape(label) + r" .* -?\d+\.\d\d", bench.stdout), label
    assert Image.open(png).size[0] > 100


def test_throughput_benchmark_prints_every_method_and_the_battle_line():
    bench = script("benchmark_throughput.py", "--agents", 3, "--rounds", 1, "--batch", 200, "--minibatch", 100,
                   "--epochs", 1, "--skip-spread", "--battle-overrides", "env_config.map_size=12",
                   "env_config.max_cycles=20", "train_batch_size_per_learner=100", "minibatch_size=50",
                   "num_epochs=1", timeout=600)
    assert bench.returncode == 0, bench.stderr[-3000:]
    for method in ("BiCNet-PPO", "no-comm ablation", "RLlib built-in sharing", "algo BiCNet, overlapped",
                   "algo BiCNet, sequential"):
        assert re.search(rf"guessing_sum n=3 +{re.escape(method)} +\d+ +\d+ +\d+\.\d\dx", bench.stdout), method
    assert re.search(r"RLlib built-in sharing +\d+ +\d+ +1\.00x", bench.stdout)
    for mode in ("overlapped", "sequential"):
        assert re.search(rf"guessing_sum n=3, {mode}: sampling \d+\.\d ms, .*learner update \d+\.\d ms.*"
                         r"\(replay: \d+\.\d% of the step\)", bench.stdout), mode
    assert re.search(r"battle_v4 \(4 agents\).* \d+ env steps/s, .*peak memory \d+\.\d\d GB", bench.stdout)


@pytest.mark.parametrize("breaks_with, message", [
    ("error", "failing_env broke on purpose"),
    ("nan", "env 'failing_v0' gave agent 'agent_1' an observation with NaN or inf at step 3 of the episode"),
])
def test_train_names_the_error_file_of_a_failed_trial(tmp_path, breaks_with, message):
    import os

    config = tmp_path / "failing.yaml"
    config.write_text(yaml.safe_dump(tiny("pettingzoo", {"pettingzoo_env": "failing_env", "breaks_with": breaks_with})))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    train = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), str(config), "--stop-iters", "1",
                            "--max-failures", "0", "--storage-path", str(tmp_path / "results")],
                           capture_output=True, text=True, timeout=300, env=env)
    assert train.returncode == 1, train.stderr[-3000:]
    error_file = re.search(r"^error: the trial failed; see (.+)$", train.stderr, re.M).group(1)
    assert message in Path(error_file).read_text()


@pytest.mark.parametrize("args, message", [
    (["--episodes", "0"], "--episodes must be at least 1, got 0"),
    (["--episodes", "-3"], "--episodes must be at least 1, got -3"),
    (["--gif", "team.png"], "must end in .gif"),
    (["--gif", "{tmp}/a_file/team.gif"], "cannot write under"),
    (["--explore", "--ablate-messages"], "compares greedy play"),
])
def test_evaluate_refuses_bad_arguments_before_playing(tmp_path, args, message):
    (tmp_path / "a_file").write_text("not a directory")
    evaluate = script("evaluate.py", tmp_path, *(a.format(tmp=tmp_path) for a in args))
    assert evaluate.returncode == 2
    assert evaluate.stderr.startswith("error: ") and message in evaluate.stderr


def test_train_gives_ray_the_cpus_an_appo_run_needs(tmp_path):
    """APPO asks for 4 logical CPUs (algorithm, learner, 2 env runners): on fewer
    cores Tune used to wait forever; train.py starts Ray with enough."""
    user = tiny("guessing_sum_v0", {"n_agents": 3}, algo="APPO")
    del user["num_epochs"], user["minibatch_size"], user["num_env_runners"]
    config = tmp_path / "appo.yaml"
    config.write_text(yaml.safe_dump(user))
    train = script("train.py", config, "--stop-iters", 1, "--num-cpus", 1, "--storage-path", tmp_path / "results")
    assert train.returncode == 0, train.stderr[-3000:]
    assert "note: this run needs 4 logical CPUs" in train.stdout
    assert re.search(r"iter +1 \| env steps", train.stdout)
