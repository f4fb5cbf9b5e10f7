#!/usr/bin/env python
"""Communication benchmark: does talking make the team learn better?

    python scripts/benchmark_comm.py --tasks simple_reference --methods bicnet_ppo none --seeds 0 1 2
    python scripts/benchmark_comm.py --report          # table + PNG from the results file only
    python scripts/benchmark_comm.py --quick           # every task and method, tiny budget, minutes

Tasks (each a YAML in configs/ holding the settings used here):

- ``simple_reference``: mpe2 simple_reference_v3; each agent's target is
  known only to its partner (``configs/bicnet_ppo_simple_reference.yaml``);
- ``simple_spread``: mpe2 simple_spread_v3, N=3, continuous
  (``configs/bicnet_ppo_simple_spread_continuous.yaml``);
- ``pursuit``: PettingZoo SISL pursuit_v5, 8 pursuers (``configs/bicnet_ppo_pursuit.yaml``);
- ``guessing_sum``: ours, 3 agents (``configs/bicnet_ppo_guessing_sum.yaml``).

Methods: ``bicnet_ppo`` (the YAML as it is), ``none`` / ``mean`` /
``attention`` (the YAML with that ``model.comm``), ``builtin`` (RLlib's own
parameter sharing: its ParallelPettingZooEnv and default PPO module with the
same runner and PPO settings), ``bicnet`` (algo BiCNet, on every task but
simple_reference), and any variant as ``LABEL:KEY=VALUE,KEY=VALUE``
(overrides of the YAML; with ``algo=BiCNet`` among them, of algo BiCNet's
YAML, e.g. ``bicnet_none:algo=BiCNet,model.comm=none``).

Every (task, method, seed, budget) is one unit: trained with Tune, then its
final policy is evaluated greedily (BenchMARL's default: deterministic
actions) with messages intact, with teammates heard from other episodes,
and with every agent alone (the message ablation,
:func:`rllib_shared.evaluation.message_ablation`; ``builtin``, which has no
channel, greedily only). Each finished unit appends
its learning curve and evaluation rows to the results file; units already in
it are skipped, so the table grows over several sessions. Each unit's rows
record a fingerprint of its config (the YAML with the method's overrides):
a unit whose YAML changed since it ran is skipped with a message saying so,
and the table marks methods whose seeds ran with different configs (or
partly before units recorded theirs). The scripted references (no-learning
policies, with and without the information the task hides) are computed
once per task and stored there too.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import hashlib
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.csv"
PNG = ROOT / "benchmarks" / "comm.png"
QUICK_RESULTS = ROOT / "results" / "benchmark_comm_quick.csv"
QUICK_PNG = ROOT / "results" / "benchmark_comm_quick.png"
FIELDS = ("task", "method", "settings", "seed", "budget", "kind", "env_steps", "team_return")
"""Results columns. ``kind``: ``curve`` (one row per training iteration: its
sampled team return), ``eval`` / ``ablated`` (greedy evaluation of the final
policy, with messages intact / from other episodes), ``reference`` (a
scripted policy; ``method`` names it)."""


# --------------------------------------------------------------- scripted references

MPE_MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], np.float32)
"""mpe2's discrete moves: no-op, -x, +x, -y, +y."""


def mpe_move_towards(offset: np.ndarray, velocity: np.ndarray) -> int:
    """The discrete move whose push best follows ``offset`` with some braking."""
    push = offset - 0.5 * velocity
    if np.linalg.norm(push) < 0.05:
        return 0
    return int(np.argmax(MPE_MOVES @ push))


def reference_target_of(obs: dict, agent: str) -> dict[str, np.ndarray]:
    """simple_reference: each agent's target offset, read from the *partner's*
    goal colour (perfect information) -- and the landmarks' centroid."""
    partner = next(a for a in obs if a != agent)
    landmark = int(np.argmax(obs[partner][8:11]))
    offsets = obs[agent][2:8].reshape(3, 2)
    return {"target": offsets[landmark], "centroid": offsets.mean(0)}


def simple_reference_refs() -> dict[str, Callable]:
    def still(env, obs):
        return {a: 0 for a in obs}

    def to(point):
        return lambda env, obs: {a: mpe_move_towards(reference_target_of(obs, a)[point], obs[a][:2]) for a in obs}

    return {"stand still": still, "all to the landmarks' centroid (no communication)": to("centroid"),
            "each to its own target (perfect information)": to("target")}


def simple_spread_refs(n: int) -> dict[str, Callable]:
    def offsets(o):
        return o[4 : 4 + 2 * n].reshape(n, 2)

    def still(env, obs):
        return {a: 0 for a in obs}

    def nearest(env, obs):
        return {a: mpe_move_towards(min(offsets(o), key=np.linalg.norm), o[:2]) for a, o in obs.items()}

    def assigned(env, obs):
        agents = sorted(obs)
        cost = np.array([np.linalg.norm(offsets(obs[a]), axis=1) for a in agents])
        best = min(itertools.permutations(range(n)), key=lambda p: cost[range(len(agents)), p[: len(agents)]].sum())
        return {a: mpe_move_towards(offsets(obs[a])[best[i]], obs[a][:2]) for i, a in enumerate(agents)}

    return {"stand still": still, "each to its nearest landmark (no coordination)": nearest,
            "landmarks split by the best assignment (coordination)": assigned}


def guessing_sum_refs() -> dict[str, Callable]:
    def own(env, obs):
        return {a: np.asarray(o, np.float32) for a, o in obs.items()}

    def total(env, obs):
        s = np.sum([np.asarray(o, np.float32) for o in obs.values()], axis=0)
        return {a: s for a in obs}

    return {"say own number (no communication)": own, "say the true sum (perfect information)": total}


def random_refs() -> dict[str, Callable]:
    return {"random actions": lambda env, obs: {a: env.action_space(a).sample() for a in obs}}


PURSUIT_MOVES = np.array([[-1, 0], [1, 0], [0, 1], [0, -1]])
"""pursuit's moves 0-3 as (dx, dy); move 4 stays."""


def pursuit_chase(env, obs: dict) -> dict:
    """Each pursuer steps towards the nearest evader in its own view (a random
    move if it sees none): pursuit without communication. A view is
    ``(y, x, channel)`` around the pursuer, channel 2 the evaders."""
    actions = {}
    for agent, view in obs.items():
        cells = np.argwhere(view[..., 2] > 0) - view.shape[0] // 2  # (dy, dx) of each evader
        if not len(cells):
            actions[agent] = env.action_space(agent).sample()
            continue
        dy, dx = cells[np.abs(cells).sum(1).argmin()]
        actions[agent] = 4 if dx == dy == 0 else int(np.argmax(PURSUIT_MOVES @ np.array([dx, dy])))
    return actions


def pursuit_refs() -> dict[str, Callable]:
    return {**random_refs(), "each chases the nearest evader it sees (no communication)": pursuit_chase}


# ------------------------------------------------------------------------- tasks


@dataclasses.dataclass(frozen=True)
class Task:
    config: str
    references: Callable[[], dict[str, Callable]]
    reference_env_config: dict = dataclasses.field(default_factory=dict)
    """env_config changes for the scripts (they play discrete MPE moves)."""
    bicnet_config: str | None = None
    """algo BiCNet's YAML (None: the ``bicnet`` methods skip the task)."""
    eval_episodes: int = 50
    reference_episodes: int = 200
    quick_steps: int = 8000


TASKS = {
    "simple_reference": Task("bicnet_ppo_simple_reference.yaml", simple_reference_refs,
                             {"continuous_actions": False}),
    "simple_spread": Task("bicnet_ppo_simple_spread_continuous.yaml", lambda: simple_spread_refs(3),
                          {"continuous_actions": False}, bicnet_config="bicnet_simple_spread.yaml"),
    "pursuit": Task("bicnet_ppo_pursuit.yaml", pursuit_refs, eval_episodes=5, reference_episodes=5,
                    quick_steps=4000, bicnet_config="bicnet_pursuit.yaml"),
    "guessing_sum": Task("bicnet_ppo_guessing_sum.yaml", guessing_sum_refs,
                         bicnet_config="bicnet_guessing_sum.yaml"),
}
COMM_OVERRIDES = {"bicnet_ppo": [], "none": ["model.comm=none"], "mean": ["model.comm=mean"],
                  "attention": ["model.comm=attention"]}
METHODS = (*COMM_OVERRIDES, "builtin", "bicnet")
DEFAULT_METHODS = ("bicnet_ppo", "none", "builtin", "bicnet")
BICNET_OVERRIDE = "algo=BiCNet"


@dataclasses.dataclass(frozen=True)
class Method:
    label: str
    overrides: tuple[str, ...] = ()
    kind: str = "ppo"  # ppo | builtin | bicnet

    @classmethod
    def parse(cls, text: str) -> Method:
        if text in COMM_OVERRIDES:
            return cls(text, tuple(COMM_OVERRIDES[text]))
        if text in ("builtin", "bicnet"):
            return cls(text, kind=text)
        label, sep, overrides = text.partition(":")
        if not sep or not label or not overrides:
            raise SystemExit(f"unknown method {text!r}: use one of {', '.join(METHODS)} or LABEL:KEY=VALUE,...")
        overrides = tuple(o for o in overrides.split(",") if o)
        # `algo=BiCNet` among the overrides: they apply to the task's algo BiCNet YAML.
        return cls(label, overrides, kind="bicnet" if BICNET_OVERRIDE in overrides else "ppo")

    def applies_to(self, task: Task) -> bool:
        return self.kind != "bicnet" or task.bicnet_config is not None


# ------------------------------------------------------------------- running units


def user_config(task: Task, method: Method, seed: int) -> dict[str, Any]:
    import rllib_shared
    from rllib_shared.config import apply_overrides

    name = task.bicnet_config if method.kind == "bicnet" else task.config
    user = rllib_shared.load_yaml(ROOT / "configs" / name)
    return apply_overrides(user, [*method.overrides, f"seed={seed}"])


def tune_config(task: Task, method: Method, seed: int) -> tuple[str, dict[str, Any]]:
    """(algo, the dict for tune.run) of one unit."""
    import rllib_shared

    user = user_config(task, method, seed)
    config = rllib_shared.build_config(user)
    if method.kind != "builtin":
        return user.get("algo", "PPO"), config
    # RLlib's built-in sharing: its PettingZoo wrapper and default module, one
    # policy; the same runner and PPO settings. One of its rows is one agent,
    # one of ours the whole team: the same agent steps per minibatch.
    from ray.tune.registry import register_env

    from rllib_shared.policy_mapping import map_to_shared_policy

    env_name = f"rllib_builtin_{user['env']}"
    register_env(env_name, BuiltinEnv(user["env"]))
    n_agents = len(_agents(user))
    settings = {k: v for k, v in config.items()
                if k not in ("env", "policies", "policy_mapping_fn", "rl_module_spec", "_learner_class",
                             "callbacks_on_episode_end", "learner_config_dict")}
    return "PPO", {**settings, "env": env_name, "minibatch_size": config["minibatch_size"] * n_agents,
                   "policies": {"shared"}, "policy_mapping_fn": map_to_shared_policy}


def _agents(user: dict) -> list:
    from rllib_shared.registry import make_pettingzoo_env

    env = make_pettingzoo_env(user["env"], user.get("env_config"))
    try:
        return list(env.possible_agents)
    finally:
        env.close()


class FlatObservations(BaseParallelWrapper):
    """A PettingZoo ParallelEnv whose Box observations are flattened."""

    def observation_space(self, agent):
        space = self.env.observation_space(agent)
        return gym.spaces.Box(space.low.reshape(-1), space.high.reshape(-1), dtype=space.dtype)

    def reset(self, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return {a: o.reshape(-1) for a, o in obs.items()}, infos

    def step(self, actions):
        obs, *rest = self.env.step(actions)
        return ({a: o.reshape(-1) for a, o in obs.items()}, *rest)


class BuiltinPolicy:
    """A ``builtin`` unit's trained module (RLlib's default PPO module, one row
    per agent) as a callable ``{agent: obs} -> {agent: action}`` for
    :func:`rllib_shared.evaluation.evaluate`: greedy, as the team policies of
    the other units are evaluated (BenchMARL's default, deterministic
    evaluation), with RLlib's action normalisation undone."""

    def __init__(self, checkpoint: Any, env_name: str, env_config: dict | None):
        from ray.rllib.core.rl_module.rl_module import RLModule

        from rllib_shared.inference import MODULE_SUBDIR, find_checkpoint, read_algorithm_config
        from rllib_shared.policy_mapping import SHARED_POLICY_ID
        from rllib_shared.registry import make_pettingzoo_env

        path = find_checkpoint(checkpoint)
        config = read_algorithm_config(path)
        self.module = RLModule.from_checkpoint(path / MODULE_SUBDIR / SHARED_POLICY_ID).eval()
        self.normalize = bool(config.get("normalize_actions", True))
        self.clip = bool(config.get("clip_actions", False))
        env = make_pettingzoo_env(env_name, env_config)
        self.spaces = {a: (env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
        env.close()

    def __call__(self, observations: dict) -> dict:
        from rllib_shared.inference import module_actions, to_env_action

        agents = list(observations)
        obs = np.stack([np.asarray(observations[a], self.spaces[a][0].dtype).reshape(-1) for a in agents])
        actions, _ = module_actions(self.module, obs, explore=False)
        return {a: to_env_action(action, self.spaces[a][1], normalize=self.normalize, clip=self.clip)
                for a, action in zip(agents, actions, strict=True)}


class BuiltinEnv:
    """Env creator of the ``builtin`` method: RLlib's ParallelPettingZooEnv over
    the registered env, image observations flattened (RLlib's default module
    has no encoder for a 7x7x3 view)."""

    def __init__(self, env_name: str):
        self.env_name = env_name

    def __call__(self, env_config):
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

        from rllib_shared.registry import make_pettingzoo_env

        env = make_pettingzoo_env(self.env_name, env_config)
        if len(env.observation_space(env.possible_agents[0]).shape) > 1:
            env = FlatObservations(env)
        return ParallelPettingZooEnv(env)


FINGERPRINT_SEP = " @"
"""In the ``settings`` column, between the method's overrides and the unit's config fingerprint."""


def config_fingerprint(user: dict[str, Any]) -> str:
    """A short hash of a unit's config (its YAML with the method's overrides),
    without the seed and stop, which the results key holds on their own.

    >>> config_fingerprint({"lr": 1e-3, "seed": 0}) == config_fingerprint({"seed": 5, "lr": 0.001})
    True
    """
    body = {k: v for k, v in user.items() if k not in ("seed", "stop")}
    return hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]


def fingerprint_of(row: dict) -> str:
    """The config fingerprint a results row records ('' for rows from before fingerprints)."""
    _, sep, fingerprint = row["settings"].rpartition(FINGERPRINT_SEP)
    return fingerprint if sep else ""


def unit_status(rows: list[dict], unit: tuple, fingerprint: str) -> str:
    """``new`` (not in ``rows``), ``done`` (recorded with this config), ``changed``
    (recorded with another config) or ``unknown`` (recorded before fingerprints),
    for ``unit`` = (task, method label, seed, budget)."""
    recorded = {fingerprint_of(r) for r in rows
                if r["kind"] == "curve" and (r["task"], r["method"], r["seed"], r["budget"]) == unit}
    if not recorded:
        return "new"
    if fingerprint in recorded:
        return "done"
    return "unknown" if recorded == {""} else "changed"


SKIP_REASONS = {
    "done": "",
    "unknown": " (recorded before config fingerprints: it may have run with an older YAML)",
    "changed": (" with a different config (its YAML or overrides changed since): give the new config its own "
                "label (LABEL:KEY=VALUE,...) or delete that unit's rows to rerun it"),
}


def finished_history(name: str, histories: dict[str, list[dict]], budget: int) -> list[dict]:
    """The unit's progress history, if its training reached ``budget`` env
    steps; a run stopped early (Ctrl-C stops Tune's trial as if it had ended)
    exits with a message instead, so it is never recorded as a finished unit."""
    history = next(iter(histories.values()), [])
    reached = history[-1]["env_steps"] if history else 0
    if reached < budget:
        raise SystemExit(f"{name} stopped at {reached:,} of {budget:,} env steps: not recorded; "
                         "run the same command again to train it")
    return history


def curve_rows(history: list[dict], base: dict) -> list[dict]:
    """The results rows of a unit's learning curve, from its progress history.
    An iteration in which no episode ended has no return (NaN; with 500-step
    pursuit episodes, most of algo BiCNet's 1,024-step iterations): it is
    not a point of the curve."""
    return [{**base, "kind": "curve", "env_steps": r["env_steps"], "team_return": r["team_return"]}
            for r in history if np.isfinite(r["team_return"])]


def run_unit(task_name: str, method: Method, seed: int, budget: int, storage: Path) -> list[dict]:
    from ray import tune
    from ray.tune import CheckpointConfig

    from rllib_shared.evaluation import evaluate, message_ablation
    from rllib_shared.inference import load_policy
    from rllib_shared.progress import ProgressCallback

    task = TASKS[task_name]
    algo, config = tune_config(task, method, seed)
    name = f"{task_name}-{method.label}-s{seed}-{budget}"
    print(f"\n=== {name} ({algo}, {budget:,} env steps)", flush=True)
    progress = ProgressCallback()
    analysis = tune.run(algo, name=name, config=config, storage_path=str(storage),
                        stop={"num_env_steps_sampled_lifetime": budget}, callbacks=[progress],
                        checkpoint_config=CheckpointConfig(checkpoint_at_end=True),
                        verbose=0)
    trial = analysis.trials[0]
    if trial.status != "TERMINATED":
        raise RuntimeError(f"{name} failed: {trial.error_file}")
    history = finished_history(name, progress.histories, budget)
    user = user_config(task, method, seed)
    settings = (" ".join(method.overrides) or method.kind) + FINGERPRINT_SEP + config_fingerprint(user)
    base = {"task": task_name, "method": method.label, "settings": settings, "seed": seed, "budget": budget}
    rows = curve_rows(history, base)
    steps = rows[-1]["env_steps"]
    if method.kind == "builtin":  # no channel to ablate: the greedy return only
        greedy = evaluate(BuiltinPolicy(trial.checkpoint, user["env"], user.get("env_config")), user["env"],
                          user.get("env_config"), episodes=task.eval_episodes, seed=seed)
        print(f"{name}: greedy team return {greedy.team_return:.3f} ({greedy.episodes} episodes)", flush=True)
        return rows + [{**base, "kind": "eval", "env_steps": steps, "team_return": greedy.team_return}]
    result = message_ablation(load_policy(trial.checkpoint), user["env"], user.get("env_config"),
                              episodes=task.eval_episodes, seed=seed)
    print(f"{name}: {result.summary()}", flush=True)
    return rows + [{**base, "kind": kind, "env_steps": steps, "team_return": played.team_return}
                   for kind, played in (("eval", result.intact), ("ablated", result.ablated),
                                        ("silenced", result.silenced))]


def reference_rows(task_name: str) -> list[dict]:
    from rllib_shared.registry import make_pettingzoo_env
    from rllib_shared.evaluation import evaluate

    task = TASKS[task_name]
    user = user_config(task, Method("bicnet_ppo"), 0)
    env_config = {**(user.get("env_config") or {}), **task.reference_env_config}
    spaces_env = make_pettingzoo_env(user["env"], env_config)  # the scripts' action spaces
    rows = []
    for label, act in task.references().items():
        result = evaluate(functools.partial(act, spaces_env), user["env"], env_config,
                          episodes=task.reference_episodes, seed=10_000)
        rows.append({"task": task_name, "method": label, "settings": "scripted", "seed": 0, "budget": 0,
                     "kind": "reference", "env_steps": 0, "team_return": result.team_return})
    spaces_env.close()
    return rows


# --------------------------------------------------------------- results and report


def read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["seed"], row["budget"], row["env_steps"] = int(row["seed"]), int(row["budget"]), int(row["env_steps"])
        row["team_return"] = float(row["team_return"])
    return rows


def append_results(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def summarise(rows: list[dict]) -> dict[tuple, dict[str, Any]]:
    """``{(task, budget, method): stats}`` over seeds: the final sampled return
    (mean of each seed's last 3 iterations), greedy eval, the ablation drops
    (teammates heard from other episodes; every agent alone), and
    ``mixed``: its seeds recorded different config fingerprints, or some
    recorded one and some ran before fingerprints."""
    units: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        if r["kind"] == "reference":
            continue
        unit = units.setdefault((r["task"], r["budget"], r["method"]),
                                {"curves": {}, "eval": {}, "ablated": {}, "silenced": {}, "configs": set()})
        unit["configs"].add(fingerprint_of(r))
        if r["kind"] == "curve":
            unit["curves"].setdefault(r["seed"], []).append((r["env_steps"], r["team_return"]))
        else:
            unit[r["kind"]][r["seed"]] = r["team_return"]
    stats = {}
    for key, unit in units.items():
        finals = [np.mean([ret for _, ret in sorted(c)[-3:]]) for c in unit["curves"].values()]
        evals = unit["eval"]
        drops, alone = ([evals[seed] - played[seed] for seed in played if seed in evals]
                        for played in (unit["ablated"], unit["silenced"]))
        stats[key] = {
            "seeds": len(finals), "final": float(np.mean(finals)), "spread": float(np.std(finals)),
            "eval": float(np.mean(list(evals.values()))) if evals else None,
            "drop": float(np.mean(drops)) if drops else None,
            "alone_drop": float(np.mean(alone)) if alone else None,
            "curves": unit["curves"],
            "mixed": len(unit["configs"]) > 1,
        }
    return stats


def print_table(rows: list[dict]) -> None:
    stats = summarise(rows)
    references = {(r["task"], r["method"]): r["team_return"] for r in rows if r["kind"] == "reference"}
    for task, budget in sorted({(t, b) for t, b, _ in stats}):
        print(f"\n{task}, {budget:,} env steps")
        print(f"  {'method':<34} {'seeds':>5} {'final return':>16} {'greedy eval':>12} {'ablation drop':>14} "
              f"{'alone drop':>11}")
        for (t, b, method), s in sorted(stats.items(), key=lambda kv: -kv[1]["final"]):
            if (t, b) != (task, budget):
                continue
            ev, drop, alone = (f"{s[k]:.2f}" if s[k] is not None else "-" for k in ("eval", "drop", "alone_drop"))
            final = f"{s['final']:.2f} ± {s['spread']:.2f}"
            name = f"{method} (*)" if s["mixed"] else method
            print(f"  {name:<34} {s['seeds']:>5} {final:>16} {ev:>12} {drop:>14} {alone:>11}")
        for (t, label), value in references.items():
            if t == task:
                print(f"  scripted: {label:<62} {value:>8.2f}")
    if any(s["mixed"] for s in stats.values()):
        print("\n(*) its seeds ran with different configs, or some before configs were recorded "
              "(the results file's settings column)")


def write_png(rows: list[dict], path: Path) -> Path | None:
    from rllib_shared.plotting import plot_comparison

    stats = summarise(rows)
    budgets: dict[str, set] = {}
    for task, budget, _ in stats:
        budgets.setdefault(task, set()).add(budget)
    # One panel per task; where its units have several budgets, each curve names its own.
    panels: dict[str, dict] = {}
    for (task, budget, method), s in sorted(stats.items()):
        length = min(len(c) for c in s["curves"].values())
        curves = [sorted(c)[:length] for c in s["curves"].values()]
        steps = [step for step, _ in curves[0]]
        returns = np.array([[ret for _, ret in c] for c in curves])
        label = method if len(budgets[task]) == 1 else f"{method}, {budget:,} steps"
        panels.setdefault(task, {})[f"{label} ({len(curves)} seeds)"] = (
            steps, returns.mean(0), returns.min(0), returns.max(0))
    references: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["kind"] == "reference" and r["task"] in panels:
            references.setdefault(r["task"], {})[f"scripted: {r['method']}"] = r["team_return"]
    return plot_comparison(panels, path, references) if panels else None


def shown_rows(rows: list[dict], tasks: list[str], labels: list[str] | None) -> list[dict]:
    """The rows of ``tasks`` and, unless ``labels`` is None, of those methods
    (with the tasks' scripted references); a label with no rows is an error."""
    rows = [r for r in rows if r["task"] in tasks]
    if labels is None:
        return rows
    recorded = {r["method"] for r in rows if r["kind"] != "reference"}
    missing = sorted(set(labels) - recorded)
    if missing:
        raise SystemExit(f"--report: no results for method(s) {', '.join(missing)} on {', '.join(tasks)}; "
                         f"recorded there: {', '.join(sorted(recorded))}")
    return [r for r in rows if r["kind"] == "reference" or r["method"] in labels]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--methods", nargs="+",
                        help=f"of {', '.join(METHODS)}, or LABEL:KEY=VALUE,KEY=VALUE (YAML overrides; "
                             f"with {BICNET_OVERRIDE} among them, of algo BiCNet's YAML); default "
                             f"{' '.join(DEFAULT_METHODS)}. With --report: the labels to show (default all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int,
                        help="env steps per unit (default: the task YAML's stop; with --quick a few thousand)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny budgets, one seed, results under results/ (a smoke run)")
    parser.add_argument("--report", action="store_true",
                        help="only print the table and draw the PNG (of the --tasks and --methods given)")
    parser.add_argument("--results", type=Path, help=f"results CSV (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--png", type=Path)
    parser.add_argument("--storage-path", type=Path, default=ROOT / "results" / "benchmark_comm")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
    results = args.results or (QUICK_RESULTS if args.quick else RESULTS)
    png = args.png or (QUICK_PNG if args.quick else PNG)

    if not args.report:
        methods = [Method.parse(m) for m in args.methods or DEFAULT_METHODS]
        import ray

        import rllib_shared  # noqa: F401 - registers the envs and algo BiCNet

        ray.init(include_dashboard=False, log_to_driver=False)
        try:
            for task_name in args.tasks:
                if not any(r["task"] == task_name and r["kind"] == "reference" for r in read_results(results)):
                    append_results(results, reference_rows(task_name))
                task = TASKS[task_name]
                for method, seed in itertools.product(methods, args.seeds):
                    if not method.applies_to(task):
                        continue
                    user = user_config(task, method, seed)
                    budget = args.steps or (task.quick_steps if args.quick else int(
                        user["stop"]["num_env_steps_sampled_lifetime"]))
                    status = unit_status(read_results(results), (task_name, method.label, seed, budget),
                                         config_fingerprint(user))
                    if status != "new":
                        print(f"skip {task_name} {method.label} seed {seed}: in {results}{SKIP_REASONS[status]}")
                        continue
                    start = time.time()
                    append_results(results, run_unit(task_name, method, seed, budget, args.storage_path))
                    print(f"({time.time() - start:.0f} s)", flush=True)
        finally:
            ray.shutdown()
    rows = read_results(results)
    if not rows:
        print(f"no results in {results} yet")
        return 1
    if args.report:
        rows = shown_rows(rows, args.tasks, args.methods and [m.partition(":")[0] for m in args.methods])
    print_table(rows)
    drawn = write_png(rows, png)
    if drawn:
        print(f"\nlearning curves: {drawn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
