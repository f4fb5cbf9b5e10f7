"""A Tune callback that prints one line per iteration and keeps the learning curve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ray import tune

from rllib_shared.plotting import plot_learning_curve
from rllib_shared.team.metrics import PETTINGZOO_AGENT_RETURNS
from rllib_shared.team.groups import natural_sorted

ENV_STEPS = "num_env_steps_sampled_lifetime"


def team_return(result: dict[str, Any]) -> float:
    return float(result.get("env_runners", {}).get("episode_return_mean", float("nan")))


def agent_returns(result: dict[str, Any]) -> dict[str, float]:
    """Mean episode return per PettingZoo agent: on the team layout from the
    infos (RLlib's own per-agent entry is then one per group), otherwise RLlib's."""
    env_runners = result.get("env_runners", {})
    returns = env_runners.get(PETTINGZOO_AGENT_RETURNS) or env_runners.get("agent_episode_returns_mean") or {}
    return {str(a): float(r) for a, r in returns.items()}


def throughput(result: dict[str, Any]) -> float:
    """Env steps sampled per second over the last iteration."""
    env_runners = result.get("env_runners", {})
    steps = env_runners.get("num_env_steps_sampled", 0)
    seconds = result.get("time_this_iter_s") or float("nan")
    return float(steps) / seconds


class ProgressCallback(tune.Callback):
    """Prints ``iter | env steps | team return | env steps/s`` and each saved
    checkpoint and, when given a
    path, writes the learning-curve PNG at every ``plot_every`` iterations and
    at the end of each trial."""

    def __init__(self, *, png_path: str | Path | None = None, plot_every: int = 5, title: str = ""):
        self.png_path = Path(png_path) if png_path else None
        self.plot_every = plot_every
        self.title = title
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self._start = time.time()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        row = {
            "iteration": result.get("training_iteration", 0),
            "env_steps": int(result.get(ENV_STEPS, 0)),
            "team_return": team_return(result),
            "agent_returns": agent_returns(result),
            "throughput": throughput(result),
            "time_total_s": float(result.get("time_total_s", 0.0)),
        }
        history = self.histories.setdefault(trial.trial_id, [])
        # A resumed trial repeats the iterations after its checkpoint: keep the new ones.
        history[:] = [old for old in history if old["iteration"] < row["iteration"]]
        history.append(row)
        print(
            f"[{time.time() - self._start:6.0f}s] {trial.trial_id} iter {row['iteration']:4d} | "
            f"env steps {row['env_steps']:>9,} | team return {row['team_return']:9.3f} | "
            f"{row['throughput']:7.0f} env steps/s",
            flush=True,
        )
        if row["iteration"] % self.plot_every == 0:
            self.write_png(trial.trial_id)

    def get_state(self) -> dict[str, Any]:
        """Saved by Tune with the experiment, so a resumed run's curve starts at iteration 1."""
        return {"histories": self.histories}

    def set_state(self, state: dict[str, Any]) -> None:
        self.histories = state["histories"]

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        done = (trial.last_result or {}).get("training_iteration", "?")
        print(f"checkpoint saved at iter {done}: {checkpoint.path}", flush=True)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.write_png(trial.trial_id)

    def png_for(self, trial_id: str) -> Path | None:
        """The PNG path of a trial (suffixed with its id when there are several)."""
        if self.png_path is None:
            return None
        if len(self.histories) <= 1:
            return self.png_path
        return self.png_path.with_name(f"{self.png_path.stem}_{trial_id}{self.png_path.suffix}")

    def write_png(self, trial_id: str) -> Path | None:
        history = self.histories.get(trial_id)
        path = self.png_for(trial_id)
        if not history or path is None:
            return None
        agents = natural_sorted({a for row in history for a in row["agent_returns"]})
        return plot_learning_curve(
            [row["env_steps"] for row in history],
            [row["team_return"] for row in history],
            {a: [row["agent_returns"].get(a, float("nan")) for row in history] for a in agents},
            path,
            title=self.title,
        )
