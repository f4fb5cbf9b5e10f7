"""The communication benchmark: message ablation, scripted references, resumable units."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rllib_shared
from rllib_shared.algorithms import default_algorithm_config
from rllib_shared.config import apply_overrides
from rllib_shared.evaluation import evaluate, message_ablation
from rllib_shared.inference import load_policy
from rllib_shared.registry import make_pettingzoo_env

ROOT = Path(__file__).resolve().parents[1]


def benchmark_module():
    spec = importlib.util.spec_from_file_location("benchmark_comm", ROOT / "scripts" / "benchmark_comm.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def trained_guessing_sum_policy(tmp_path, iterations, *overrides):
    """configs/bicnet_ppo_guessing_sum.yaml trained ``iterations`` x 2,400 env steps."""
    user = rllib_shared.load_yaml(ROOT / "configs" / "bicnet_ppo_guessing_sum.yaml")
    user = apply_overrides(user, list(overrides))
    user.pop("stop")
    algo = default_algorithm_config("PPO").update_from_dict(rllib_shared.build_config(user)).build_algo()
    try:
        for _ in range(iterations):
            algo.train()
        algo.save_to_path(tmp_path)
    finally:
        algo.stop()
    return load_policy(tmp_path), user


def test_message_ablation_drops_a_communicating_teams_return_and_not_the_ablations(ray_session, tmp_path):
    """guessing_sum can only be solved by hearing teammates' numbers: a briefly
    trained BiCNet team loses return when it hears other episodes, or
    nobody; the no-communication network acts exactly the same."""
    policy, user = trained_guessing_sum_policy(tmp_path / "bilstm", 4)
    talking = message_ablation(policy, user["env"], user["env_config"], episodes=10)
    assert talking.drop > 2.0, talking.summary()
    assert talking.silenced_drop > 2.0, talking.summary()

    policy, user = trained_guessing_sum_policy(tmp_path / "none", 1, "model.comm=none")
    silent = message_ablation(policy, user["env"], user["env_config"], episodes=10)
    assert silent.drop == 0.0 and silent.silenced_drop == 0.0, silent.summary()
    assert silent.intact.team_return == evaluate(policy, user["env"], user["env_config"], episodes=10).team_return


@pytest.mark.parametrize("task, order", [
    ("simple_reference", ["each to its own target", "all to the landmarks' centroid", "stand still"]),
    ("simple_spread", ["landmarks split by the best assignment", "each to its nearest landmark", "stand still"]),
    ("guessing_sum", ["say the true sum", "say own number"]),
])
def test_scripted_references_rank_as_the_information_they_use(task, order):
    bench = benchmark_module()
    bench.TASKS[task] = bench.dataclasses.replace(bench.TASKS[task], reference_episodes=30)
    returns = {row["method"]: row["team_return"] for row in bench.reference_rows(task)}
    ranked = [next(v for k, v in returns.items() if k.startswith(prefix)) for prefix in order]
    assert ranked == sorted(ranked, reverse=True), returns


def test_overrides_with_algo_bicnet_apply_to_algo_bicnets_yaml():
    bench = benchmark_module()
    ppo = bench.Method.parse("wide:model.comm=none")
    bicnet = bench.Method.parse("bicnet_none:algo=BiCNet,model.comm=none")
    assert (ppo.kind, bicnet.kind) == ("ppo", "bicnet")
    task = bench.TASKS["simple_spread"]
    ppo_user, bicnet_user = bench.user_config(task, ppo, 3), bench.user_config(task, bicnet, 3)
    assert ppo_user.get("algo", "PPO") == "PPO" and bicnet_user["algo"] == "BiCNet"
    assert ppo_user["model"]["comm"] == bicnet_user["model"]["comm"] == "none"
    assert bicnet_user["seed"] == 3 and "actor_lr" in bicnet_user
    assert bicnet.applies_to(bench.TASKS["pursuit"])
    assert not bicnet.applies_to(bench.TASKS["simple_reference"])  # it has no algo BiCNet YAML


def test_iterations_without_a_finished_episode_are_not_curve_points():
    bench = benchmark_module()
    returns = [float("nan"), -300.0, float("nan"), -250.0]
    history = [{"env_steps": 1024 * i, "team_return": r} for i, r in enumerate(returns, 1)]
    rows = bench.curve_rows(history, {"task": "pursuit", "seed": 0})
    assert [(r["env_steps"], r["team_return"], r["kind"], r["seed"]) for r in rows] == [
        (2048, -300.0, "curve", 0), (4096, -250.0, "curve", 0)]


def test_a_unit_stopped_before_its_budget_is_not_recorded():
    bench = benchmark_module()
    history = [{"env_steps": 4000, "team_return": -300.0}, {"env_steps": 8000, "team_return": -250.0}]
    assert bench.finished_history("u", {"t": history}, 8000) is history
    for histories in ({"t": history}, {"t": []}, {}):
        with pytest.raises(SystemExit, match=r"u stopped at [\d,]+ of 12,000 env steps: not recorded"):
            bench.finished_history("u", histories, 12000)


def run_quick_guessing_sum(tmp_path, method):
    """The benchmark script on one guessing_sum unit of 2,400 env steps
    (results.csv, comm.png and runs/ under ``tmp_path``)."""
    args = [sys.executable, str(ROOT / "scripts" / "benchmark_comm.py"), "--quick", "--tasks", "guessing_sum",
            "--methods", method, "--steps", "2400", "--results", str(tmp_path / "results.csv"),
            "--png", str(tmp_path / "comm.png"), "--storage-path", str(tmp_path / "runs")]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_benchmark_runs_a_unit_records_it_and_skips_it_when_run_again(tmp_path):
    results = tmp_path / "results.csv"
    first = run_quick_guessing_sum(tmp_path, "none")
    with open(results) as f:
        rows = list(csv.DictReader(f))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("reference") == 2 and kinds.count("curve") == 1  # 2,400 steps: one iteration
    evals = {r["kind"]: float(r["team_return"]) for r in rows if r["kind"] in ("eval", "ablated", "silenced")}
    assert evals["eval"] == evals["ablated"] == evals["silenced"]  # no channel, nothing to ablate
    assert "none" in first.stdout and "ablation drop" in first.stdout and "alone drop" in first.stdout
    assert (tmp_path / "comm.png").stat().st_size > 0

    second = run_quick_guessing_sum(tmp_path, "none")
    assert "skip guessing_sum none seed 0" in second.stdout
    with open(results) as f:
        assert len(list(csv.DictReader(f))) == len(rows)


def test_a_builtin_unit_is_evaluated_greedily_from_its_checkpoint(tmp_path):
    run_quick_guessing_sum(tmp_path, "builtin")
    with open(tmp_path / "results.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "builtin"]
    assert sorted(r["kind"] for r in rows) == ["curve", "eval"]  # no channel: no ablation row
    recorded = float(next(r["team_return"] for r in rows if r["kind"] == "eval"))

    bench = benchmark_module()
    task = bench.TASKS["guessing_sum"]
    user = bench.user_config(task, bench.Method.parse("builtin"), 0)
    policy = bench.BuiltinPolicy(tmp_path / "runs", user["env"], user.get("env_config"))
    env = make_pettingzoo_env(user["env"], user.get("env_config"))
    obs, _ = env.reset(seed=3)
    first, second = policy(obs), policy(obs)
    for agent, action in first.items():
        assert env.action_space(agent).contains(action)
        np.testing.assert_array_equal(action, second[agent])  # greedy: no sampling
    env.close()
    replayed = evaluate(policy, user["env"], user.get("env_config"), episodes=task.eval_episodes, seed=0)
    assert replayed.team_return == pytest.approx(recorded)


def test_drops_pair_each_seeds_ablations_with_that_seeds_greedy_return():
    bench = benchmark_module()
    base = {"task": "t", "method": "m", "settings": "x", "budget": 10, "env_steps": 10}
    rows = [{**base, "seed": seed, "kind": kind, "team_return": value} for seed, kind, value in [
        (0, "curve", -5.0), (1, "curve", -7.0),
        (0, "eval", -1.0), (1, "eval", -3.0),
        (1, "ablated", -4.0), (0, "ablated", -11.0),  # not in seed order
        (1, "silenced", -9.0),  # seed 0 ran before units recorded this kind
    ]]
    stats = bench.summarise(rows)[("t", 10, "m")]
    assert stats["eval"] == -2.0
    assert stats["drop"] == pytest.approx(np.mean([10.0, 1.0]))
    assert stats["alone_drop"] == 6.0


def test_a_unit_whose_config_changed_is_told_apart_from_the_recorded_one(capsys):
    bench = benchmark_module()
    task = bench.TASKS["simple_spread"]
    lr_3, lr_4 = (bench.Method.parse(f"x:lr={lr}") for lr in (0.003, 0.004))
    recorded = bench.config_fingerprint(bench.user_config(task, lr_3, 0))
    assert recorded == bench.config_fingerprint(bench.user_config(task, lr_3, 7))  # the seed is keyed apart
    assert recorded != bench.config_fingerprint(bench.user_config(task, lr_4, 0))

    def row(seed, settings):
        return {"task": "simple_spread", "method": "x", "settings": settings, "seed": seed,
                "budget": 1000, "kind": "curve", "env_steps": 1000, "team_return": -50.0 - seed}

    rows = [row(0, f"lr=0.003 @{recorded}"), row(1, "lr=0.003")]
    unit = ("simple_spread", "x", 0, 1000)
    assert bench.unit_status(rows, unit, recorded) == "done"
    assert bench.unit_status(rows, unit, "0123456789") == "changed"
    assert bench.unit_status(rows, ("simple_spread", "x", 1, 1000), recorded) == "unknown"
    assert bench.unit_status(rows, ("simple_spread", "x", 2, 1000), recorded) == "new"

    for table_rows, marked in [
        ([rows[0], row(2, f"lr=0.003 @{recorded}")], False),  # one config
        ([rows[0], row(2, "lr=0.004 @0123456789")], True),  # two configs
        (rows, True),  # one seed from before fingerprints: cannot tell
        ([rows[1]], False),
    ]:
        bench.print_table(table_rows)
        table = capsys.readouterr().out
        assert ("x (*)" in table and "different configs" in table) == marked, table


def test_pursuit_views_are_y_x_channel_as_the_chase_script_reads_them():
    """Walls stand still: after move ``a`` with motion ``(dx, dy)`` a pursuer's
    wall channel is its old one shifted by ``(dy, dx)`` -- the axes the scripted
    reference assumes."""
    from pettingzoo.sisl import pursuit_v5

    bench = benchmark_module()
    moved = 0
    for action, (dx, dy) in enumerate(bench.PURSUIT_MOVES):
        env = pursuit_v5.parallel_env(n_pursuers=1, n_evaders=1, x_size=5, y_size=5, max_cycles=5)
        obs, _ = env.reset(seed=action)
        (agent,) = env.agents
        new, *_ = env.step({agent: action})
        old_walls, new_walls = obs[agent][..., 0], new[agent][..., 0]
        if np.array_equal(old_walls, new_walls):
            continue  # blocked by the border
        moved += 1
        np.testing.assert_array_equal(new_walls[1:-1, 1:-1], old_walls[1 + dy:6 + dy, 1 + dx:6 + dx])
    assert moved >= 2


def test_pursuit_chase_steps_towards_the_nearest_evader_it_sees():
    bench = benchmark_module()
    env = make_pettingzoo_env("pursuit_v5", {"n_pursuers": 2, "n_evaders": 2})
    agent = env.possible_agents[0]
    for dy, dx in [(0, 2), (0, -3), (1, 0), (-2, 1), (3, -1)]:
        view = np.zeros((7, 7, 3), np.float32)
        view[3 + dy, 3 + dx, 2] = 1.0
        view[0, 0, 2] = view[6, 6, 2] = 1.0  # farther evaders
        step = bench.PURSUIT_MOVES[bench.pursuit_chase(env, {agent: view})[agent]]
        assert abs(dx - step[0]) + abs(dy - step[1]) == abs(dx) + abs(dy) - 1, (dy, dx)
    view = np.zeros((7, 7, 3), np.float32)
    view[3, 3, 2] = 1.0
    assert bench.pursuit_chase(env, {agent: view})[agent] == 4  # on the evader: stay
    assert env.action_space(agent).contains(bench.pursuit_chase(env, {agent: np.zeros((7, 7, 3))})[agent])


def test_a_report_shows_the_tasks_and_methods_asked_for_and_names_a_label_it_has_not():
    bench = benchmark_module()

    def row(task, method, kind="curve"):
        return {"task": task, "method": method, "settings": "x", "seed": 0, "budget": 10, "env_steps": 10,
                "kind": kind, "team_return": -1.0}

    rows = [row("a", "m1"), row("a", "m2"), row("a", "still", "reference"), row("b", "m1"),
            row("b", "still", "reference")]
    assert bench.shown_rows(rows, ["a"], None) == rows[:3]
    assert bench.shown_rows(rows, ["a", "b"], ["m1"]) == [rows[0], rows[2], rows[3], rows[4]]
    with pytest.raises(SystemExit, match=r"no results for method\(s\) m3 on b; recorded there: m1"):
        bench.shown_rows(rows, ["b"], ["m1", "m3"])
