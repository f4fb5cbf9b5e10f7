"""Cluster runs, fault tolerance and resume, on real Ray (no mocks).

Every cluster started here is stopped by this test through its own process
groups; no other Ray instance on the machine is touched.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import tiny
from ray.rllib.algorithms.ppo import PPOConfig

from rllib_shared import build_config
from rllib_shared.inference import find_checkpoint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from local_cluster import WORKER_RESOURCE, LocalCluster  # noqa: E402

ITER_LINE = re.compile(r"iter +(\d+) \| env steps +([\d,]+)")
TINY_SETS = ["--set", "train_batch_size_per_learner=400", "--set", "minibatch_size=200",
             "--set", "num_epochs=1", "--set", "num_envs_per_env_runner=2"]


def iterations(text: str) -> dict[int, int]:
    """{iteration: lifetime env steps} from train.py's progress lines."""
    return {int(i): int(s.replace(",", "")) for i, s in ITER_LINE.findall(text)}


def ray_list(cluster: LocalCluster, what: str, *filters: str) -> list[dict]:
    """Ray's state API through its CLI (which sends the cluster's auth token)."""
    args = [cluster.ray, "list", what, "--address", cluster.dashboard_url, "--format", "json",
            "--detail", "--limit", "1000"]
    for f in filters:
        args += ["--filter", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True,
                         env={**os.environ, "RAY_AUTH_MODE": "token"})
    return json.loads(out.stdout)


def test_job_runs_env_runners_on_the_second_node_and_checkpoints(tmp_path):
    with LocalCluster(cpus_per_node=2, worker_nodes=1) as cluster:
        submit = subprocess.run(
            [sys.executable, "scripts/submit_job.py", "configs/bicnet_ppo_guessing_sum.yaml",
             "--address", cluster.dashboard_url, "--storage-path", str(tmp_path), "--wait",
             "--timeout", "400", "--", "--stop-iters", "2", "--name", "cluster_job",
             "--set", "num_env_runners=1",
             # Only the second node has this resource, so the env runner must run there.
             "--set", f"custom_resources_per_env_runner={{{WORKER_RESOURCE}: 1}}", *TINY_SETS],
            cwd=ROOT, capture_output=True, text=True, timeout=500,
        )
        node_ips = {n["node_id"]: n["node_ip"] for n in ray_list(cluster, "nodes")}
        runners = ray_list(cluster, "actors", "class_name=TeamEnvRunner")
    assert runners and {node_ips[r["node_id"]] for r in runners} == {"127.0.0.3"}
    assert submit.returncode == 0, submit.stdout[-4000:] + submit.stderr[-2000:]
    assert re.search(r"job \S+: SUCCEEDED", submit.stdout)
    assert max(iterations(submit.stdout)) == 2
    assert (find_checkpoint(tmp_path / "cluster_job") / "rllib_checkpoint.json").is_file()


@pytest.mark.usefixtures("ray_session")
def test_training_goes_on_after_an_env_runner_process_is_killed():
    algo = PPOConfig().update_from_dict(build_config(
        tiny("guessing_sum_v0", {"n_agents": 3}, num_env_runners=2))).build_algo()
    try:
        algo.train()
        pids = algo.env_runner_group.foreach_env_runner(lambda runner: os.getpid(),
                                                        local_env_runner=False)
        assert len(set(pids)) == 2 and os.getpid() not in pids
        os.kill(pids[0], signal.SIGKILL)
        healthy = []
        for _ in range(12):  # RLlib restarts it in the background (~5 iterations seen)
            result = algo.train()
            healthy.append(algo.env_runner_group.num_healthy_remote_workers())
            if healthy[-1] == 2:
                break
        assert healthy[0] == 1 and healthy[-1] == 2, healthy
        assert math.isfinite(result["env_runners"]["episode_return_mean"])
        assert result["num_env_steps_sampled_lifetime"] == algo.iteration * 200
    finally:
        algo.stop()


def test_interrupted_run_saves_a_checkpoint_and_resumes_from_it(tmp_path):
    """Ctrl-C with the default checkpoint policy (only at the end) used to lose
    the run: now the next finished iteration is checkpointed before Tune stops."""
    config = tmp_path / "resume.yaml"
    config.write_text(yaml.safe_dump({**tiny("guessing_sum_v0", {"n_agents": 3}),
                                      "stop": {"training_iteration": 6}}))
    command = [sys.executable, "scripts/train.py", str(config), "--storage-path",
               str(tmp_path / "results"), "--name", "resume"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    seen = ""
    for line in first.stdout:
        seen += line
        if re.search(r"iter +2 \|", line):
            first.send_signal(signal.SIGINT)  # what Ctrl-C does
            break
    seen += first.communicate(timeout=180)[0]
    assert first.returncode == 130, seen[-3000:]
    assert "SIGINT received: saving a checkpoint after the current iteration" in seen
    # The signal lands while iteration 2's result is handled, or during iteration 3.
    saved = int(re.search(r"checkpoint saved at iteration (\d+); stopping", seen).group(1))
    assert "--resume" in seen
    before = iterations(seen)
    assert saved in (2, 3) and max(before) == saved

    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = iterations(resumed.stdout)
    # It picks up right after the checkpointed iteration with that
    # iteration's lifetime env-step count, and runs to the original stop.
    assert min(after) == saved + 1
    assert after[saved + 1] == before[saved] + 200
    assert max(after) == 6
    assert "learning curve (iterations 1-6)" in resumed.stdout  # the history survives the resume

    # A finished run resumed with a higher stop trains on to it (Tune alone
    # kept the stop the run started with and never re-ran a finished trial).
    further = subprocess.run([*command, "--resume", "--stop-iters", "8"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert further.returncode == 0, further.stdout[-3000:] + further.stderr[-3000:]
    assert sorted(iterations(further.stdout)) == [7, 8]
    assert "learning curve (iterations 1-8)" in further.stdout
    results = [json.loads(line) for line in
               next((tmp_path / "results" / "resume").glob("*/result.json")).read_text().splitlines()]
    assert [r["training_iteration"] for r in results] == list(range(1, 9))

    # Resumed with a stop it has already reached, it says so and trains nothing.
    again = subprocess.run([*command, "--resume", "--stop-iters", "8"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing to train" in again.stdout and "at iteration 8" in again.stdout
    assert iterations(again.stdout) == {}


def test_resume_without_a_checkpoint_is_refused_and_touches_nothing(tmp_path):
    experiment = tmp_path / "results" / "empty"
    experiment.mkdir(parents=True)
    (experiment / "progress.csv").write_text("kept")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({**tiny("guessing_sum_v0", {"n_agents": 3}), "stop": {"training_iteration": 1}}))
    resumed = subprocess.run([sys.executable, "scripts/train.py", str(config), "--storage-path",
                              str(tmp_path / "results"), "--name", "empty", "--resume"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 2
    assert "nothing to resume" in resumed.stderr and "holds no checkpoint" in resumed.stderr
    assert [p.name for p in experiment.iterdir()] == ["progress.csv"]
    assert (experiment / "progress.csv").read_text() == "kept"


def test_local_cluster_script_stops_its_nodes_on_sigterm(tmp_path):
    up = subprocess.Popen([sys.executable, "scripts/local_cluster.py", "up"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = up.stdout.readline()
    while first and not first.startswith("cluster up:"):
        first = up.stdout.readline()
    assert first.startswith("cluster up: address 127.0.0.2:"), first
    up.send_signal(signal.SIGTERM)
    rest = up.communicate(timeout=120)[0]
    assert up.returncode == 0 and "stopping the cluster" in rest, (up.returncode, rest[-3000:])
    port = int(re.search(r"address 127\.0\.0\.2:(\d+)", first).group(1))
    with pytest.raises(ConnectionRefusedError):  # the head's GCS is gone
        socket.create_connection(("127.0.0.2", port), timeout=5).close()
