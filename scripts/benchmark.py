#!/usr/bin/env python
"""Side-by-side benchmark: learning quality and training speed in one run.

    python scripts/benchmark.py [--guessing-steps 100000] [--spread-steps 100000]
                                [--recall-steps 100000]
                                [--only guessing|discrete|spread|discrete_spread|recall]

guessing_sum (3 agents, continuous; and discrete: numbers 0..2, the sum
said as one of 7 actions), simple_spread (N=3, continuous actions; and
discrete) and recall (2 agents, each asked at the last step for the cue its
partner saw at the first), at equal env steps per task:

- BiCNet: the off-policy algorithm of the paper (``algo: BiCNet``);
- BiCNet-PPO: the BiCNet network trained by RLlib's PPO;
- the no-communication ablation: BiCNet-PPO with ``model.comm: none``;
- simple_spread only: RLlib's built-in parameter sharing (RLlib's
  ParallelPettingZooEnv + RLlib's default PPO module, one policy) with the
  BiCNet-PPO run's runner and PPO settings, and MAPPO (``comm: none`` with
  the critic on the global state, ``configs/mappo_simple_spread.yaml``);
- recall: BiCNet-PPO with an LSTM memory after communication
  (``configs/bicnet_ppo_recall.yaml``, not algo BiCNet: memory is PPO only),
  its memory ablation (``model.memory: none``) and its communication ablation;
- discrete guessing_sum: algo BiCNet (``configs/bicnet_guessing_sum_discrete.yaml``),
  its ``none`` ablation and BiCNet-PPO (``configs/bicnet_ppo_guessing_sum_discrete.yaml``);
- discrete simple_spread (MPE's default, 5 moves): algo BiCNet
  (``configs/bicnet_simple_spread.yaml`` with discrete actions) and
  BiCNet-PPO (``configs/bicnet_ppo_simple_spread.yaml``);
- references without learning: the best no-communication answer
  (guessing_sum), random actions (simple_spread, discrete simple_spread,
  recall) and, for recall,
  the right answer read from the env (the best possible return).

Prints a table (final team return = mean of the last 3 iterations; env
steps/s = env steps over training wall time) and writes results/benchmark.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import ray
from ray import tune
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.tune.registry import register_env

import rllib_shared
from rllib_shared.config import apply_overrides
from rllib_shared.registry import make_pettingzoo_env
from rllib_shared.plotting import plot_comparison
from rllib_shared.progress import ProgressCallback

ROOT = Path(__file__).resolve().parents[1]
BUILTIN_SPREAD = "rllib_builtin_simple_spread_v3"


def builtin_simple_spread(env_config):
    """The env as an RLlib user wires it today: RLlib's own PettingZoo wrapper."""
    from mpe2 import simple_spread_v3

    return ParallelPettingZooEnv(simple_spread_v3.parallel_env(**env_config))


def run(label, algo, config, steps, storage):
    progress = ProgressCallback()
    print(f"\n=== {label}: {steps:,} env steps", flush=True)
    analysis = tune.run(algo, name=label.replace(" ", "_"), config=config,
                        stop={"num_env_steps_sampled_lifetime": steps},
                        storage_path=str(storage), callbacks=[progress], verbose=0)
    trial = analysis.trials[0]
    if trial.status != "TERMINATED":
        sys.exit(f"{label} failed: {trial.error_file}")
    history = next(iter(progress.histories.values()))
    returns = [row["team_return"] for row in history]
    result = trial.last_result
    return {
        "label": label,
        "env_steps": int(result["num_env_steps_sampled_lifetime"]),
        "team_return": float(np.nanmean(returns[-3:])),
        "steps_per_s": result["num_env_steps_sampled_lifetime"] / result["time_total_s"],
        "curve": ([row["env_steps"] for row in history], returns),
    }


def reference(label, env_name, env_config, act, episodes=200):
    """Team return of a fixed policy ``act(env, obs) -> actions``, no learning."""
    env = make_pettingzoo_env(env_name, env_config)
    totals = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        total = 0.0
        while env.agents:
            obs, rewards, *_ = env.step(act(env, obs))
            total += sum(rewards.values())
        totals.append(total)
    return {"label": label, "env_steps": None, "team_return": float(np.mean(totals)),
            "steps_per_s": None, "curve": None}


def own_number_only(env, obs):
    return {a: np.asarray(o, np.float32) for a, o in obs.items()}


def own_number_plus_mean(env, obs):
    """Discrete guessing_sum without communication: own number plus the others' mean."""
    return {a: int(o) + (env.n_agents - 1) * (env.n_values - 1) // 2 for a, o in obs.items()}


def random_actions(env, obs):
    return {a: env.action_space(a).sample() for a in obs}


def recall_right_answer(env, obs):
    return {a: int(env.wanted[i]) for i, a in enumerate(env.agents)}


def config_of(name, *overrides):
    user = rllib_shared.load_yaml(ROOT / "configs" / name)
    return user, rllib_shared.build_config(apply_overrides(user, list(overrides)))


def guessing_sum(steps, storage):
    _, bicnet = config_of("bicnet_guessing_sum.yaml")
    user, bicnet_ppo = config_of("bicnet_ppo_guessing_sum.yaml")
    _, ablation = config_of("none_ppo_guessing_sum.yaml")
    rows = [
        run("guessing_sum BiCNet", "BiCNet", bicnet, steps, storage),
        run("guessing_sum BiCNet-PPO", "PPO", bicnet_ppo, steps, storage),
        run("guessing_sum no-comm ablation", "PPO", ablation, steps, storage),
    ]
    rows.append(reference("guessing_sum best without communication (say own number)",
                          user["env"], user["env_config"], own_number_only))
    return rows


def guessing_sum_discrete(steps, storage):
    user, bicnet = config_of("bicnet_guessing_sum_discrete.yaml")
    _, ablation = config_of("bicnet_guessing_sum_discrete.yaml", "model.comm=none")
    _, bicnet_ppo = config_of("bicnet_ppo_guessing_sum_discrete.yaml")
    rows = [
        run("discrete_guessing_sum BiCNet", "BiCNet", bicnet, steps, storage),
        run("discrete_guessing_sum BiCNet no-comm ablation", "BiCNet", ablation, steps, storage),
        run("discrete_guessing_sum BiCNet-PPO", "PPO", bicnet_ppo, steps, storage),
    ]
    rows.append(reference("discrete_guessing_sum best without communication (own number + others' mean)",
                          user["env"], user["env_config"], own_number_plus_mean))
    return rows


def simple_spread(steps, storage):
    _, bicnet = config_of("bicnet_simple_spread.yaml")
    user, bicnet_ppo = config_of("bicnet_ppo_simple_spread_continuous.yaml")
    _, ablation = config_of("bicnet_ppo_simple_spread_continuous.yaml", "model.comm=none")
    _, mappo = config_of("mappo_simple_spread.yaml")
    register_env(BUILTIN_SPREAD, builtin_simple_spread)
    # Same env settings, runner settings and PPO settings; only env wrapper,
    # module and learner are RLlib's own.
    shared_settings = {k: v for k, v in bicnet_ppo.items()
                       if k not in ("env", "rl_module_spec", "_learner_class", "callbacks_on_episode_end")}
    # One row of RLlib's built-in sharing is one agent, of the team layout the whole
    # team: the same agent steps per minibatch make the same number of updates.
    builtin = {**shared_settings, "env": BUILTIN_SPREAD,
               "minibatch_size": bicnet_ppo["minibatch_size"] * user["env_config"]["N"]}
    rows = [
        run("simple_spread BiCNet", "BiCNet", bicnet, steps, storage),
        run("simple_spread BiCNet-PPO", "PPO", bicnet_ppo, steps, storage),
        run("simple_spread no-comm ablation", "PPO", ablation, steps, storage),
        run("simple_spread RLlib built-in sharing", "PPO", builtin, steps, storage),
        run("simple_spread MAPPO (no comm, critic on the global state)", "PPO", mappo, steps, storage),
    ]
    rows.append(reference("simple_spread random actions", user["env"], user["env_config"], random_actions))
    return rows


def simple_spread_discrete(steps, storage):
    user, bicnet = config_of("bicnet_simple_spread.yaml", "env_config.continuous_actions=false")
    _, bicnet_ppo = config_of("bicnet_ppo_simple_spread.yaml")
    rows = [
        run("discrete_spread BiCNet", "BiCNet", bicnet, steps, storage),
        run("discrete_spread BiCNet-PPO", "PPO", bicnet_ppo, steps, storage),
    ]
    rows.append(reference("discrete_spread random actions", user["env"], user["env_config"], random_actions))
    return rows


def recall(steps, storage):
    user, memory = config_of("bicnet_ppo_recall.yaml")
    _, no_memory = config_of("bicnet_ppo_recall.yaml", "model.memory=none")
    _, no_comm = config_of("bicnet_ppo_recall.yaml", "model.comm=none")
    rows = [
        run("recall BiCNet-PPO with LSTM memory", "PPO", memory, steps, storage),
        run("recall memory ablation (memory none)", "PPO", no_memory, steps, storage),
        run("recall communication ablation (comm none)", "PPO", no_comm, steps, storage),
    ]
    rows.append(reference("recall random answers", user["env"], user["env_config"], random_actions))
    rows.append(reference("recall right answers (read from the env)", user["env"], user["env_config"],
                          recall_right_answer))
    return rows


def print_table(rows):
    print(f"\n{'method':<58} {'env steps':>10} {'team return':>12} {'env steps/s':>12}")
    for row in rows:
        steps = f"{row['env_steps']:,}" if row["env_steps"] else "-"
        speed = f"{row['steps_per_s']:.0f}" if row["steps_per_s"] else "-"
        print(f"{row['label']:<58} {steps:>10} {row['team_return']:>12.2f} {speed:>12}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guessing-steps", type=int, default=100_000)
    parser.add_argument("--spread-steps", type=int, default=100_000)
    parser.add_argument("--recall-steps", type=int, default=100_000)
    parser.add_argument("--only", choices=["guessing", "discrete", "spread", "discrete_spread", "recall"])
    parser.add_argument("--storage-path", default="results/benchmark")
    parser.add_argument("--png", default="results/benchmark.png")
    args = parser.parse_args(argv)
    storage = Path(args.storage_path).resolve()
    ray.init(include_dashboard=False, log_to_driver=False)
    panels, rows = {}, []
    for task, fn, steps in (("guessing", guessing_sum, args.guessing_steps),
                            ("discrete", guessing_sum_discrete, args.guessing_steps),
                            ("spread", simple_spread, args.spread_steps),
                            ("discrete_spread", simple_spread_discrete, args.spread_steps),
                            ("recall", recall, args.recall_steps)):
        if args.only and args.only != task:
            continue
        task_rows = fn(steps, storage)
        rows += task_rows
        panels[task_rows[0]["label"].split()[0]] = {
            " ".join(r["label"].split()[1:]): r["curve"] for r in task_rows if r["curve"]
        }
    print_table(rows)
    print(f"\nlearning curves: {plot_comparison(panels, args.png)}")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
