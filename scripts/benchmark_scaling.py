#!/usr/bin/env python
"""Training throughput against the number of env runners, and on a two-node cluster.

    python scripts/benchmark_scaling.py [--iters 6] [--config configs/bicnet_ppo_simple_spread.yaml]

Runs BiCNet-PPO for a few iterations with 0, 1 and 2 env runners on a local
Ray instance, then with 2 env runners placed on the worker node of a local
two-node cluster (scripts/local_cluster.py). Prints training env steps/s
(first iteration left out as warm-up).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ray
from ray import tune

import rllib_shared
from rllib_shared.config import apply_overrides
from rllib_shared.progress import ProgressCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_cluster import WORKER_RESOURCE, LocalCluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def throughput(user_config: dict, iters: int, storage: Path, name: str) -> float:
    """Env steps/s over iterations 2..iters of one tune.run."""
    progress = ProgressCallback()
    analysis = tune.run(user_config.get("algo", "PPO"), name=name,
                        config=rllib_shared.build_config(user_config), callbacks=[progress],
                        stop={"training_iteration": iters}, storage_path=str(storage), verbose=0)
    trial = analysis.trials[0]
    if trial.status != "TERMINATED":
        sys.exit(f"{name} failed: {trial.error_file}")
    first, last = progress.histories[trial.trial_id][0], progress.histories[trial.trial_id][-1]
    return (last["env_steps"] - first["env_steps"]) / (last["time_total_s"] - first["time_total_s"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "bicnet_ppo_simple_spread.yaml"))
    parser.add_argument("--iters", type=int, default=6)
    parser.add_argument("--storage-path", default="results/scaling")
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args(argv)
    storage = Path(args.storage_path).resolve()
    base = rllib_shared.load_yaml(args.config)
    rows = []

    # Logical CPUs: main process, learner and up to 2 runners must fit; they
    # share the machine's physical cores.
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    for runners in (0, 1, 2):
        config = apply_overrides(base, [f"num_env_runners={runners}"])
        speed = throughput(config, args.iters, storage, f"local_{runners}_runners")
        rows.append((f"local Ray, {runners} env runners", speed))
        print(f"{rows[-1][0]}: {speed:.0f} env steps/s", flush=True)
    ray.shutdown()

    if not args.skip_cluster:
        with LocalCluster(cpus_per_node=2, worker_nodes=1) as cluster:
            package_dir = str(Path(rllib_shared.__file__).resolve().parent)
            ray.init(address=cluster.address, runtime_env={"py_modules": [package_dir]},
                     log_to_driver=False)
            config = apply_overrides(base, ["num_env_runners=2",
                                            f"custom_resources_per_env_runner={{{WORKER_RESOURCE}: 1}}"])
            speed = throughput(config, args.iters, storage, "two_node_2_runners")
            rows.append(("two-node local cluster, 2 env runners on the worker node", speed))
            print(f"{rows[-1][0]}: {speed:.0f} env steps/s", flush=True)
            ray.shutdown()

    print(f"\n{'setup':<60} {'env steps/s':>12}")
    for label, speed in rows:
        print(f"{label:<60} {speed:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
