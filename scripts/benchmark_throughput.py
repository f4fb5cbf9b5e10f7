#!/usr/bin/env python
"""Training throughput against team size, side by side in one process.

    python scripts/benchmark_throughput.py [--agents 3 8 16 32 64] [--rounds 5] [--skip-battle]

For guessing_sum (continuous, 25 rounds) at each team size, and for
simple_spread N=3 (continuous actions), four trainers are built in this
process and trained one iteration each in turn (round-robin), after one
warm-up iteration each, so machine noise hits all of them alike:

- BiCNet-PPO (team layout, ``model.comm: bilstm``);
- the no-communication ablation (the same, ``model.comm: none``);
- RLlib's built-in parameter sharing: RLlib's ``ParallelPettingZooEnv``,
  RLlib's default PPO module, one policy for every agent;
- algo BiCNet (team layout, off-policy) with ``configs/bicnet_simple_spread.yaml``'s
  settings, twice: sampling in the main process between updates
  ("sequential", ``num_env_runners: 0``), and on one remote env runner while
  the learner updates ("overlapped", ``overlap_sampling: true``).

PPO runs share the runner and PPO settings (batch counted in env steps;
RLlib's built-in sharing then trains on ``n_agents`` rows per env step).
The learners run on one torch thread, as in a Tune trial (Ray sets
``OMP_NUM_THREADS=1`` there; ``--torch-threads`` changes it). Printed per
task and method: env steps/s and agent steps/s (the median over the timed
iterations, each timed by its wall clock) and the env-steps/s ratio to
RLlib's built-in sharing; then where algo BiCNet's training step spends its
time (RLlib's timers: sampling, replay, learner update, weight sync).
Last, one line for MAgent2 battle_v4 (162 agents, the config
``configs/bicnet_ppo_battle.yaml``) in a fresh process: env steps/s and the
process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import ray
import torch
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.tune.registry import register_env

import rllib_shared
from rllib_shared.algorithms import default_algorithm_config
from rllib_shared.registry import make_pettingzoo_env

ROOT = Path(__file__).resolve().parents[1]
OVERLAPPED, SEQUENTIAL = "algo BiCNet, overlapped", "algo BiCNet, sequential"
METHODS = ("BiCNet-PPO", "no-comm ablation", "RLlib built-in sharing", OVERLAPPED, SEQUENTIAL)
BUILTIN = "RLlib built-in sharing"


def builtin_env(env_config):
    """The env as an RLlib user wires it today: RLlib's own PettingZoo wrapper."""
    env_config = dict(env_config)
    return ParallelPettingZooEnv(make_pettingzoo_env(env_config.pop("name"), env_config))


def ppo_settings(args) -> dict:
    return {"num_env_runners": 0, "num_envs_per_env_runner": 8, "seed": 0,
            "train_batch_size_per_learner": args.batch, "minibatch_size": args.minibatch,
            "num_epochs": args.epochs, "lr": 3e-4, "vf_clip_param": 1000.0}


def bicnet_settings(args, *, overlapped: bool) -> dict:
    base = rllib_shared.load_yaml(ROOT / "configs" / "bicnet_simple_spread.yaml")
    keep = ("model", "num_envs_per_env_runner", "rollout_fragment_length", "train_batch_size_per_learner",
            "actor_lr", "critic_lr", "tau", "actor_proximal_coeff", "replay_buffer_config")
    runners = {"num_env_runners": 1, "overlap_sampling": True} if overlapped else {"num_env_runners": 0}
    return {**{k: base[k] for k in keep}, **runners, "seed": 0,
            # Learning starts in the warm-up iteration, so every timed one trains.
            "num_steps_sampled_before_learning_starts": 32,
            "min_sample_timesteps_per_iteration": args.batch}


def build(algo: str, config: dict):
    return default_algorithm_config(algo).update_from_dict(config).build_algo()


def trainers(env: str, env_config: dict, args) -> dict:
    """The four trainers of one task, keyed by method."""
    ppo = {"env": env, "env_config": env_config, **ppo_settings(args)}
    bicnet_ppo = rllib_shared.build_config({**ppo, "model": {"comm": "bilstm"}})
    ablation = rllib_shared.build_config({**ppo, "model": {"comm": "none"}})
    register_env("rllib_builtin", builtin_env)
    builtin = {**ppo_settings(args), "env": "rllib_builtin", "env_config": {"name": env, **env_config},
               "policies": {"shared"}, "policy_mapping_fn": rllib_shared.map_to_shared_policy,
               "episodes_to_numpy": False}
    bicnet = {
        method: rllib_shared.build_config({"algo": "BiCNet", "env": env, "env_config": env_config,
                                           **bicnet_settings(args, overlapped=method == OVERLAPPED)})
        for method in (OVERLAPPED, SEQUENTIAL)
    }
    return {"BiCNet-PPO": build("PPO", bicnet_ppo), "no-comm ablation": build("PPO", ablation),
            BUILTIN: build("PPO", builtin), **{m: build("BiCNet", c) for m, c in bicnet.items()}}


BICNET_TIMERS = {
    "env_runner_sampling_timer": "sampling",
    "replay_buffer_add_data_timer": "replay add",
    "replay_buffer_sampling_timer": "replay sample",
    "learner_update_timer": "learner update",
    "replay_buffer_update_prios_timer": "priorities",
    "synch_weights": "weight sync",
}
"""algo BiCNet's timers (RLlib's names, mean seconds per training step) -> printed names."""


def bicnet_profile(timers: dict) -> str:
    """Where algo BiCNet's training step spends its time, in ms and shares."""
    parts = {name: 1000 * timers.get(key, 0.0) for key, name in BICNET_TIMERS.items()}
    total = sum(parts.values()) or 1.0
    replay = parts["replay add"] + parts["replay sample"] + parts["priorities"]
    listed = ", ".join(f"{name} {ms:.1f} ms" for name, ms in parts.items())
    return f"{listed} (replay: {100 * replay / total:.1f}% of the step)"


def round_robin(algos: dict, rounds: int, label: str) -> tuple[dict[str, float], dict[str, dict]]:
    """Each trainer's median env steps/s over ``rounds`` timed iterations after one
    warm-up (the median: a burst of load from elsewhere spoils one round, not the
    figure), and each trainer's timers of its last iteration."""
    speeds: dict[str, list[float]] = {m: [] for m in algos}
    timers: dict[str, dict] = {}
    for r in range(rounds + 1):
        for method, algo in algos.items():
            before = algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"), default=0)
            start = time.perf_counter()
            result = algo.train()
            elapsed = time.perf_counter() - start
            done = result["env_runners"]["num_env_steps_sampled_lifetime"] - before
            if r > 0:  # round 0 is the warm-up
                speeds[method].append(done / elapsed)
            timers[method] = result.get("timers", {})
            print(f"  {label} round {r}{' (warm-up)' if r == 0 else ''}: {method:<24} "
                  f"{done:>6.0f} env steps in {elapsed:6.1f} s", flush=True)
    return {m: statistics.median(v) for m, v in speeds.items()}, timers


def battle_line(args) -> dict:
    """BiCNet-PPO on MAgent2 battle_v4, one iteration after a warm-up, in a fresh process."""
    code = f"""
import json, resource, sys, time
import ray
from ray.rllib.algorithms.ppo import PPOConfig
import rllib_shared
from rllib_shared.config import apply_overrides
user = apply_overrides(rllib_shared.load_yaml({str(ROOT / 'configs' / 'bicnet_ppo_battle.yaml')!r}),
                       {args.battle_overrides!r})
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
algo = PPOConfig().update_from_dict(rllib_shared.build_config(user)).build_algo()
n_agents = sum(g.n_agents for g in algo.env_runner.env.envs[0].unwrapped.groups.values())
algo.train()
start = time.perf_counter()
result = algo.train()
elapsed = time.perf_counter() - start
print(json.dumps({{"env_steps_per_s": result["env_runners"]["num_env_steps_sampled"] / elapsed,
                  "n_agents": n_agents, "batch": user["train_batch_size_per_learner"],
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        sys.exit(f"battle_v4 run failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[3, 8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=5, help="timed iterations per method")
    parser.add_argument("--batch", type=int, default=2000, help="PPO batch in env steps")
    parser.add_argument("--minibatch", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads of this process (default 1: what Ray gives a Tune trial, "
                             "OMP_NUM_THREADS=1, so train.py's runs see the same)")
    parser.add_argument("--skip-spread", action="store_true")
    parser.add_argument("--skip-battle", action="store_true")
    parser.add_argument("--battle-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides of configs/bicnet_ppo_battle.yaml, e.g. env_config.map_size=12")
    args = parser.parse_args(argv)

    tasks = [(f"guessing_sum n={n}", n, "guessing_sum_v0", {"n_agents": n, "continuous": True, "max_cycles": 25})
             for n in args.agents]
    if not args.skip_spread:
        tasks.append(("simple_spread N=3", 3, "simple_spread_v3",
                      {"N": 3, "continuous_actions": True, "max_cycles": 25}))
    torch.set_num_threads(args.torch_threads)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    table, profiles = [], []
    for label, n_agents, env, env_config in tasks:
        algos = trainers(env, env_config, args)
        try:
            speeds, timers = round_robin(algos, args.rounds, label)
            profiles += [f"{label}, {m.split(', ')[1]}: {bicnet_profile(timers[m])}" for m in (OVERLAPPED, SEQUENTIAL)]
        finally:
            for algo in algos.values():
                algo.stop()
        for method in METHODS:
            table.append((label, method, speeds[method], speeds[method] * n_agents,
                          speeds[method] / speeds[BUILTIN]))
    ray.shutdown()

    print(f"\n{'task':<20} {'method':<24} {'env steps/s':>12} {'agent steps/s':>14} {'/ built-in':>11}")
    for label, method, speed, agent_speed, ratio in table:
        print(f"{label:<20} {method:<24} {speed:>12.0f} {agent_speed:>14.0f} {ratio:>10.2f}x")
    print("\nalgo BiCNet, mean time per training step:")
    for line in profiles:
        print(f"  {line}")
    if not args.skip_battle:
        battle = battle_line(args)
        print(f"\nmagent2 battle_v4 ({battle['n_agents']} agents), BiCNet-PPO, batch {battle['batch']} env steps: "
              f"{battle['env_steps_per_s']:.0f} env steps/s, "
              f"{battle['env_steps_per_s'] * battle['n_agents']:.0f} agent steps/s, "
              f"peak memory {battle['peak_rss_gb']:.2f} GB")
    print(f"(this process's peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
