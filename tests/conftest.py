"""Shared fixtures: one local Ray session for the end-to-end tests, tiny configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Ray's workers inherit the environment: let them import the test envs (dying_env, ...).
TESTS = str(Path(__file__).resolve().parent)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# One torch thread in this process, as Ray gives every Tune trial: the tests that
# build an algorithm here ran 25x slower with torch's default two threads when
# another process held the second core (idle, one thread is as fast).
os.environ.setdefault("OMP_NUM_THREADS", "1")

TINY_MODEL = {"encoder_hidden": [16], "comm_hidden": 8, "head_hidden": [16]}
TINY_RUN = {
    "num_env_runners": 0,
    "num_envs_per_env_runner": 2,
    "train_batch_size_per_learner": 200,
    "minibatch_size": 100,
    "num_epochs": 1,
    "seed": 7,
}


def tiny(env: str, env_config: dict | None = None, **overrides) -> dict:
    """A user config that trains in a second or two."""
    return {"env": env, "env_config": env_config or {}, "model": dict(TINY_MODEL), **TINY_RUN, **overrides}


@pytest.fixture(scope="session")
def ray_session():
    import ray

    # APPO and IMPALA ask for 3 logical CPUs (main, learner, env runner); on a
    # 2-CPU Ray, Tune would wait forever. Tiny runs may oversubscribe the cores.
    ray.init(num_cpus=4, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()
