#!/usr/bin/env python
"""Train a shared BiCNet team from a YAML config with ``ray.tune.run``.

    python scripts/train.py configs/bicnet_ppo_guessing_sum.yaml --stop-timesteps 20000

Prints one line per iteration, writes checkpoints (one at the end at least)
and a learning-curve PNG, and says where they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ray
from ray import tune

import rllib_shared
from rllib_shared.progress import ProgressCallback


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML file, e.g. configs/bicnet_ppo_guessing_sum.yaml")
    parser.add_argument("--stop-iters", type=int, help="stop after this many iterations")
    parser.add_argument("--stop-timesteps", type=int, help="stop after this many env steps")
    parser.add_argument("--num-env-runners", type=int, help="override num_env_runners")
    parser.add_argument("--seed", type=int, help="override the seed")
    parser.add_argument("--storage-path", default="results", help="where Tune writes (default: results)")
    parser.add_argument("--name", help="experiment name (default: the config file's stem)")
    parser.add_argument("--checkpoint-freq", type=int, default=0, help="checkpoint every N iterations")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        user_config = rllib_shared.load_yaml(args.config)
        algo, stop = rllib_shared.experiment_settings(user_config)
        if args.num_env_runners is not None:
            user_config["num_env_runners"] = args.num_env_runners
        if args.seed is not None:
            user_config["seed"] = args.seed
        config = rllib_shared.build_config(user_config)
    except rllib_shared.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.stop_iters is not None:
        stop["training_iteration"] = args.stop_iters
    if args.stop_timesteps is not None:
        stop["num_env_steps_sampled_lifetime"] = args.stop_timesteps
    if not stop:
        print("error: no stop condition: give 'stop' in the config or --stop-iters/--stop-timesteps",
              file=sys.stderr)
        return 2

    name = args.name or Path(args.config).stem
    storage = Path(args.storage_path).resolve()
    png = storage / name / "learning_curve.png"
    progress = ProgressCallback(png_path=png, title=f"{algo} on {config['env']} ({name})")
    print(f"training {algo} on {config['env']} until {stop}; results in {storage / name}", flush=True)
    analysis = tune.run(
        algo,
        name=name,
        config=config,
        stop=stop,
        storage_path=str(storage),
        checkpoint_freq=args.checkpoint_freq,
        checkpoint_at_end=True,
        callbacks=[progress],
        verbose=0,
    )
    trial = analysis.trials[0]
    if trial.status != "TERMINATED":
        print(f"error: trial ended as {trial.status}: {trial.error_file}", file=sys.stderr)
        return 1
    print(f"checkpoint: {trial.checkpoint.path}")
    print(f"learning curve: {progress.png_for(trial.trial_id)}")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
