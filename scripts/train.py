#!/usr/bin/env python
"""Train a shared BiCNet team from a YAML config with ``ray.tune.run``.

    python scripts/train.py configs/bicnet_ppo_guessing_sum.yaml --stop-timesteps 20000
    python scripts/train.py CONFIG --address auto          # on an existing Ray cluster
    python scripts/train.py CONFIG --resume                # continue a stopped run

Prints one line per iteration, writes checkpoints (by the config's
``checkpoint`` section; one at the end at least) and a learning-curve PNG,
and says where they are.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import ray
from ray import tune

import rllib_shared
from rllib_shared.config import apply_overrides, prepare_run
from rllib_shared.memory import GB, available_memory
from rllib_shared.interrupt import CheckpointOnInterrupt
from rllib_shared.progress import ProgressCallback
from rllib_shared.stopping import StopAt, last_result, reached

EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130
RESUME_EVERY_TRIAL = tune.ResumeConfig(finished=tune.ResumeConfig.ResumeType.RESUME,
                                       unfinished=tune.ResumeConfig.ResumeType.RESUME,
                                       errored=tune.ResumeConfig.ResumeType.RESUME)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML file, e.g. configs/bicnet_ppo_guessing_sum.yaml")
    parser.add_argument("--stop-iters", type=int, help="stop after this many iterations")
    parser.add_argument("--stop-timesteps", type=int, help="stop after this many env steps")
    parser.add_argument("--num-env-runners", type=int, help="override num_env_runners")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key; YAML value, dotted keys reach into "
                             "sections (e.g. --set model.comm=none --set lr=0.001)")
    parser.add_argument("--seed", type=int, help="override the seed")
    parser.add_argument("--storage-path", default="results",
                        help="where Tune writes (default: results); on a multi-node cluster "
                             "a path every node can reach (shared file system or s3://...)")
    parser.add_argument("--name", help="experiment name (default: the config file's stem)")
    parser.add_argument("--checkpoint-freq", type=int, help="override checkpoint.frequency")
    parser.add_argument("--address", help="connect to this Ray cluster ('auto' or HOST:PORT) "
                                          "and ship rllib_shared to its workers")
    parser.add_argument("--resume", action="store_true",
                        help="continue experiment NAME from its newest checkpoint until the stop given now "
                             "(a finished run too, with a higher --stop-*)")
    parser.add_argument("--num-cpus", type=int,
                        help="logical CPUs of the local Ray instance (default: this machine's cores, "
                             "raised to what the run needs so it cannot wait forever)")
    parser.add_argument("--skip-memory-check", action="store_true",
                        help="start even when the run's memory estimate exceeds the available memory")
    parser.add_argument("--max-failures", type=int, default=2,
                        help="restart a failed trial from its last checkpoint this often (default 2)")
    return parser.parse_args(argv)


def required_cpus(algo: str, config: dict) -> int:
    """Logical CPUs Tune reserves for one trial of ``algo`` with ``config``."""
    from ray.tune.registry import get_trainable_cls

    return int(math.ceil(get_trainable_cls(algo).default_resource_request(config).required_resources["CPU"]))


def connect(address: str | None, *, num_cpus: int | None, needed: int, seed: int | None) -> None:
    """Starts a local Ray instance with at least ``needed`` logical CPUs, or joins
    an existing cluster (every worker there gets this rllib_shared) and warns
    when it has fewer CPUs than the run needs. With a ``seed``, every worker's
    ``PYTHONHASHSEED`` is fixed too: set and dict-of-set orders inside RLlib
    then repeat, which RLlib's own seeding does not cover."""
    env_vars = {"PYTHONHASHSEED": str(seed)} if seed is not None else {}
    if address is None:
        cores = num_cpus or os.cpu_count() or 1
        if cores < needed:
            print(f"note: this run needs {needed} logical CPUs (the algorithm plus its env runners "
                  f"and learners); starting Ray with {needed} on {cores} core(s), so they share them",
                  flush=True)
        ray.init(num_cpus=max(cores, needed), include_dashboard=False, runtime_env={"env_vars": env_vars})
        return
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:
        # Inside a Ray job the job's working_dir already ships the package.
        ray.init(address=address)
    else:
        package_dir = str(Path(rllib_shared.__file__).resolve().parent)
        ray.init(address=address, runtime_env={"py_modules": [package_dir], "env_vars": env_vars})
    available = int(ray.cluster_resources().get("CPU", 0))
    if available < needed:
        print(f"warning: the cluster has {available} CPUs but this run needs {needed}; Tune will wait "
              "until it has them: lower num_env_runners or add nodes", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        user_config = apply_overrides(rllib_shared.load_yaml(args.config), args.set)
        if args.num_env_runners is not None:
            user_config["num_env_runners"] = args.num_env_runners
        if args.seed is not None:
            user_config["seed"] = args.seed
        settings = rllib_shared.experiment_settings(user_config)
        plan = prepare_run(user_config)
        config = plan.config
        memory = plan.memory_estimate()
        available = available_memory() if args.address is None else None
        if available is not None and not args.skip_memory_check:
            memory.check_fits(available)
    except rllib_shared.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    print(f"memory: {memory.summary()}"
          + (f"; {available / GB:.1f} GB available" if available is not None else ""), flush=True)
    stop = dict(settings.stop)
    if args.stop_iters is not None:
        stop["training_iteration"] = args.stop_iters
    if args.stop_timesteps is not None:
        stop["num_env_steps_sampled_lifetime"] = args.stop_timesteps
    if not stop:
        print("error: no stop condition: give 'stop' in the config or --stop-iters/--stop-timesteps",
              file=sys.stderr)
        return EXIT_CONFIG_ERROR

    name = args.name or Path(args.config).stem
    remote_storage = "://" in args.storage_path  # a URI such as s3://bucket/results
    storage = args.storage_path if remote_storage else str(Path(args.storage_path).resolve())
    experiment_dir = f"{storage}/{name}"
    if args.resume and not remote_storage:
        if not Path(experiment_dir).is_dir():
            print(f"error: nothing to resume: {experiment_dir} does not exist", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        if not any(Path(experiment_dir).rglob("rllib_checkpoint.json")):
            print(f"error: nothing to resume: {experiment_dir} holds no checkpoint, so resuming would "
                  "start again at iteration 1 over its results; start a new run (another --name), "
                  "and keep progress with checkpoint.frequency or --checkpoint-freq", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        done = last_result(experiment_dir)
        if reached(stop, done):
            print(f"nothing to train: {name} already reached {stop} at iteration "
                  f"{done.get('training_iteration')}; resume with a higher --stop-iters or "
                  "--stop-timesteps to train on")
            return 0
    png = Path(name + ".png") if remote_storage else Path(experiment_dir) / "learning_curve.png"
    progress = ProgressCallback(png_path=png, title=f"{settings.algo} on {config['env']} ({name})")
    checkpoint = settings.checkpoint
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ and not remote_storage:
        # A Ray job's driver runs inside the job's working_dir copy, which Ray
        # 2.60 may delete once the last actor using it on this node exits; Tune's
        # result analysis then fails in os.getcwd(). Everything is imported and
        # every path resolved by now, so leave it.
        Path(storage).mkdir(parents=True, exist_ok=True)
        os.chdir(storage)
    connect(args.address, num_cpus=args.num_cpus, needed=required_cpus(settings.algo, config),
            seed=config.get("seed"))
    verb = "resuming" if args.resume else "training"
    print(f"{verb} {settings.algo} on {config['env']} until {stop}; results in {experiment_dir}",
          flush=True)
    analysis = tune.run(
        settings.algo,
        name=name,
        config=config,
        stop=stop,
        storage_path=storage,
        checkpoint_freq=args.checkpoint_freq if args.checkpoint_freq is not None else checkpoint.frequency,
        keep_checkpoints_num=checkpoint.num_to_keep,
        checkpoint_at_end=checkpoint.at_end,
        max_failures=args.max_failures,
        # Finished and failed trials continue from their newest checkpoint too.
        resume_config=RESUME_EVERY_TRIAL if args.resume else None,
        callbacks=[progress, CheckpointOnInterrupt(), StopAt(stop)],
        raise_on_failed_trial=False,
        verbose=0,
    )
    trial = analysis.trials[0]
    if trial.checkpoint is not None:
        print(f"checkpoint: {trial.checkpoint.path}")
    if progress.png_for(trial.trial_id) and progress.histories:
        shown = [row["iteration"] for row in progress.histories[trial.trial_id]]
        print(f"learning curve (iterations {min(shown)}-{max(shown)}): {progress.write_png(trial.trial_id)}")
    # Tune resolves the trial's error file through the Ray session: read it first.
    error_file = trial.error_file if trial.status == "ERROR" else None
    ray.shutdown()
    if error_file is not None:
        print(f"error: the trial failed; see {error_file}", file=sys.stderr)
        return 1
    if not reached(stop, trial.last_result):
        if trial.checkpoint is None:
            print(f"stopped before the end ({trial.status}) and before any checkpoint was written")
        else:
            print(f"stopped before the end ({trial.status}); continue with: python scripts/train.py "
                  f"{args.config} --name {name} --storage-path {args.storage_path} --resume")
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
