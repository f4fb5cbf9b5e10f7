#!/usr/bin/env python
"""Submit a config from configs/ as a Ray job (Ray's JobSubmissionClient).

    python scripts/submit_job.py configs/bicnet_ppo_guessing_sum.yaml \\
        --address http://127.0.0.1:8265 --storage-path /shared/results --wait -- --stop-iters 20

The repository is the job's working_dir, so every node gets this rllib_shared.
Arguments after ``--`` go to scripts/train.py. With --wait, prints the job's
log as it runs and exits 0 only if the job SUCCEEDED.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from ray.job_submission import JobStatus, JobSubmissionClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_cluster import auth_headers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXCLUDES = [".git", ".venv", "results", "*.png", "*.gif", "__pycache__", "*.egg-info", ".pytest_cache"]


def entrypoint(python: str, config: Path, storage_path: str, train_args: list[str]) -> str:
    args = [python, "scripts/train.py", config.relative_to(ROOT).as_posix(),
            "--address", "auto", "--storage-path", storage_path, *train_args]
    return shlex.join(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--address", default="http://127.0.0.1:8265",
                        help="the cluster's dashboard/job server address")
    parser.add_argument("--storage-path", default=str(ROOT / "results"),
                        help="absolute path or URI every node can write (default: ./results)")
    parser.add_argument("--python", default="python",
                        help="the interpreter on the cluster that has the dependencies (default: python)")
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait at most")
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args, train_args = parser.parse_args(argv[:split]), argv[split + 1:]

    config = Path(args.config).resolve()
    if not config.is_file() or ROOT not in config.parents:
        print(f"error: {args.config} must be a config file inside {ROOT} (it ships as the "
              "job's working_dir)", file=sys.stderr)
        return 2
    storage = args.storage_path
    if "://" not in storage and not Path(storage).is_absolute():
        print("error: --storage-path must be absolute (the job runs in another directory)",
              file=sys.stderr)
        return 2

    client = JobSubmissionClient(args.address, headers=auth_headers())
    job_id = client.submit_job(
        entrypoint=entrypoint(args.python, config, storage, train_args),
        runtime_env={"working_dir": str(ROOT), "excludes": EXCLUDES},
    )
    print(f"submitted job {job_id} to {args.address}", flush=True)
    if not args.wait:
        print(f"follow it with: ray job logs --address {args.address} --follow {job_id}")
        return 0
    status = wait(client, job_id, args.timeout)
    print(f"job {job_id}: {status}")
    return 0 if status == JobStatus.SUCCEEDED else 1


def wait(client: JobSubmissionClient, job_id: str, timeout: float) -> JobStatus:
    """Polls until the job ends, printing new log lines as they come."""
    deadline = time.monotonic() + timeout
    shown = 0
    while True:
        status = client.get_job_status(job_id)
        logs = client.get_job_logs(job_id)
        print(logs[shown:], end="", flush=True)
        shown = len(logs)
        if status.is_terminal():
            return status
        if time.monotonic() > deadline:
            client.stop_job(job_id)
            return client.get_job_status(job_id)
        time.sleep(2.0)


if __name__ == "__main__":
    sys.exit(main())
