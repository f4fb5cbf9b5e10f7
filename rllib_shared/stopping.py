"""When a run is done: the ``stop`` criteria, checked against results, and
honoured when a run is resumed.

Tune saves each trial's ``stop`` dict with the trial and restores it on
``resume``, and it restores its experiment-level stopper as well, so a run
resumed with a new stop would still end at the old one. :class:`StopAt`
sets the criteria of the current call on every trial before each step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ray import tune
from ray.tune.utils import flatten_dict


def reached(stop: Mapping[str, float], result: Mapping[str, Any] | None) -> bool:
    """Whether a result meets any stop criterion (Tune stops on the first met).

    Nested metrics use Tune's ``a/b`` spelling.

    >>> reached({"training_iteration": 3}, {"training_iteration": 3})
    True
    >>> reached({"env_runners/episode_return_mean": -5}, {"env_runners": {"episode_return_mean": -7.0}})
    False
    """
    flat = flatten_dict(dict(result or {}), delimiter="/")
    return any(
        isinstance(flat.get(key), (int, float)) and flat[key] >= value for key, value in stop.items()
    )


def last_result(experiment_dir: str | Path) -> dict[str, Any] | None:
    """The newest result a local experiment directory holds (its trials'
    ``result.json`` files, one JSON result per line), or None."""
    newest: dict[str, Any] | None = None
    for path in Path(experiment_dir).glob("*/result.json"):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        if not lines:
            continue
        result = json.loads(lines[-1])
        if newest is None or result.get("timestamp", 0) > newest.get("timestamp", 0):
            newest = result
    return newest


class StopAt(tune.Callback):
    """A Tune callback that makes every trial stop at ``stop``, also trials
    restored by ``resume`` with the criteria they were started with."""

    def __init__(self, stop: Mapping[str, float]) -> None:
        self.stop = dict(stop)

    def on_step_begin(self, iteration, trials, **info) -> None:
        for trial in trials:
            if trial.stopping_criterion != self.stop:
                trial.stopping_criterion = dict(self.stop)
