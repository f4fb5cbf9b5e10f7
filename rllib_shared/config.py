"""User config (plain dict or YAML) -> the dict ``ray.tune.run(algo, config=...)`` takes.

A user config is an RLlib config dict plus a few keys of ours::

    algo: PPO                      # PPO (default), APPO, IMPALA or BiCNet
    env: simple_spread_v3          # a name from rllib_shared.ENV_NAMES
    env_config: {N: 3}             # keyword arguments of that env
    groups: {red: "red_*"}         # agent groups (PPO, BiCNet); default: one group
    group_policies: {red: shared}  # which policy ID plays which group (default: one each)
    model: {comm: bilstm}          # rllib_shared.nn.BiCNetConfig fields
    team_reward: mean              # train every agent on the team's reward (PPO, BiCNet)
    nonfinite_observations: warn   # NaN/inf observations: error (default) or replace by 0 and warn
    stop: {training_iteration: 50} # read by scripts/train.py, not by RLlib
    checkpoint: {frequency: 10}    # read by scripts/train.py, not by RLlib
    lr: 0.0003                     # any other key: an RLlib AlgorithmConfig setting

:func:`build_config` checks every key, builds the env once to check its
spaces and groups, and asks the algorithm's folder under
:mod:`rllib_shared.algorithms` for the rest: PPO and BiCNet train on the team
layout (:mod:`rllib_shared.team`, one RLlib agent per group of agents), APPO
and IMPALA on per-agent rows (:mod:`rllib_shared.algorithms.rows`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

from rllib_shared.algorithms import BUILDERS, default_algorithm_config
from rllib_shared.envs.pettingzoo_env import NONFINITE_KEY
from rllib_shared.registry import check_env_name
from rllib_shared.errors import (
    ConfigError,
    check_choice,
    check_keys,
    unknown_key_message,
)
from rllib_shared.memory import MemoryEstimate, estimate_memory
from rllib_shared.nn import BiCNetConfig
from rllib_shared.settings import RULES, check_setting
from rllib_shared.team.credit import TEAM_REWARD_KEY, check_team_reward
from rllib_shared.team.env_runner import TeamEnvRunner
from rllib_shared.team.spec import TeamSpec, team_spec

SUPPORTED_ALGOS = tuple(BUILDERS)
OWN_KEYS = (
    "algo", "env", "env_config", "groups", "group_policies", "model", TEAM_REWARD_KEY, NONFINITE_KEY, "stop",
    "checkpoint",
)
TEAM_LAYOUT_ALGOS = ("PPO", "BiCNet")

# Keys RLlib would accept but that misbehave in a plain dict, with the fix.
TRAPS = {
    "env_to_module_connector": (
        "RLlib silently ignores 'env_to_module_connector' in a config dict (its dict name "
        "is '_env_to_module_connector'); build_config already installs the team-view "
        "connector, so remove this key"
    ),
    "module_to_env_connector": (
        "RLlib silently ignores 'module_to_env_connector' in a config dict (its dict name "
        "is '_module_to_env_connector'); remove this key"
    ),
    "learner_connector": (
        "RLlib silently ignores 'learner_connector' in a config dict (its dict name is "
        "'_learner_connector'); remove this key"
    ),
    "model_config": (
        "'model_config' is a read-only property of RLlib's AlgorithmConfig and fails deep "
        "inside RLlib; put the BiCNet options under 'model' instead"
    ),
    "custom_model": (
        "'custom_model' belongs to RLlib's old API stack (ModelV2); put the BiCNet options "
        "under 'model' instead"
    ),
}

@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckpointSettings:
    """When scripts/train.py saves checkpoints (the ``checkpoint`` section)."""

    frequency: int = 0
    """Save every this many iterations (0: only at the end)."""
    num_to_keep: int | None = None
    """Keep only the newest this many checkpoints (None: keep all)."""
    at_end: bool = True
    """Save one when the run stops."""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> CheckpointSettings:
        if values is not None and not isinstance(values, Mapping):
            raise ConfigError(f"'checkpoint' must be a dict such as {{frequency: 10}}, got {values!r}")
        values = dict(values or {})
        check_keys(values, [f.name for f in dataclasses.fields(cls)], "the checkpoint section")
        settings = cls(**values)
        if not (isinstance(settings.frequency, int) and settings.frequency >= 0):
            raise ConfigError(f"checkpoint.frequency must be an int >= 0, got {settings.frequency!r}")
        if settings.num_to_keep is not None and not (
            isinstance(settings.num_to_keep, int) and settings.num_to_keep >= 1
        ):
            raise ConfigError(f"checkpoint.num_to_keep must be an int >= 1, got {settings.num_to_keep!r}")
        return settings


@dataclasses.dataclass(frozen=True)
class ExperimentSettings:
    """What a user config asks of Tune rather than of RLlib."""

    algo: str
    stop: dict[str, Any]
    checkpoint: CheckpointSettings


# Defaults that differ from RLlib's, each for a measured reason; users may override.
PLUGIN_DEFAULTS = {
    # RLlib 2.60's MultiAgentEnvRunner._sample converts *every* episode finished so
    # far to numpy again at every env step (quadratic in episodes per sample call);
    # off, sampling guessing_sum ran 1.8x faster on 2 cores. The learner converts.
    "episodes_to_numpy": False,
    # RLlib 2.60 seeds sub-env i of runner w with seed + w + i: seeds 0 and 1 would
    # share 7 of 8 env streams. TeamEnvRunner draws each from SeedSequence instead.
    "env_runner_cls": TeamEnvRunner,
}

# Keys build_config sets itself: the policies, their networks and the team plumbing.
_POLICIES = "policies are assigned for you: one group -> 'shared'; see 'groups' and 'group_policies'"
RESERVED = {
    "policies": _POLICIES,
    "policy_mapping_fn": _POLICIES,
    "multiagent": _POLICIES,
    "rl_module_spec": "the BiCNet module is chosen from 'algo'; set its options under 'model'",
    "_model_config": "set the BiCNet options under 'model'",
    "_env_to_module_connector": "the team plumbing is installed for you",
    "_learner_class": "the learner is chosen from 'algo'",
}


def _rllib_settings(algo: str) -> dict[str, Any]:
    """Every setting a config dict may hold for ``algo``, with its default."""
    config = default_algorithm_config(algo)
    names = [k for k in vars(config) if not k.startswith("_")]
    names += [
        name
        for cls in type(config).__mro__
        for name, attr in vars(cls).items()
        if isinstance(attr, property) and attr.fset is not None and not name.startswith("_")
    ]
    settings = {}
    for name in names:
        try:
            settings[name] = getattr(config, name)
        except ValueError:  # deprecated alias: RLlib raises on access
            continue
    return settings


def _check_rllib_keys(algo: str, settings: Mapping[str, Any]) -> None:
    defaults = _rllib_settings(algo)
    valid = [*defaults, *OWN_KEYS]
    for key, value in settings.items():
        if key in TRAPS:
            raise ConfigError(f"config key {key!r}: {TRAPS[key]}")
        if key in RESERVED:
            raise ConfigError(f"config key {key!r} is set by build_config: {RESERVED[key]}")
        attr = AlgorithmConfig._translate_special_keys(key, warn_deprecated=False)
        if attr not in defaults:
            raise ConfigError(unknown_key_message(key, valid, f"the {algo} config"))
        default = defaults[attr]
        if (
            isinstance(value, str)
            and isinstance(default, (int, float))
            and not isinstance(default, bool)
            and attr not in RULES
        ):
            raise ConfigError(
                f"config key {key!r} must be a number, got the string {value!r} (YAML reads "
                "'3e-4' as text: write 3.0e-4)"
            )
        check_setting(key, attr, value, default)


def build_config(user_config: Mapping[str, Any]) -> dict[str, Any]:
    """Returns the config dict for ``tune.run(algo, config=...)``.

    Raises:
        ConfigError: naming the first wrong key, env name, value or space.

    Example:
        >>> config = build_config({"env": "guessing_sum_v0", "model": {"comm": "bigru"}})
        >>> sorted(config["policies"]), config["env"]
        (['shared'], 'guessing_sum_v0-team')
    """
    return prepare_run(user_config).config


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """A checked user config: the algorithm, its groups and network, and the
    config dict for ``tune.run(algo, config=...)``."""

    algo: str
    spec: TeamSpec
    model: BiCNetConfig
    config: dict[str, Any]

    def memory_estimate(self) -> MemoryEstimate:
        """The memory this run will need (:mod:`rllib_shared.memory`)."""
        algorithm_config = default_algorithm_config(self.algo).update_from_dict(self.config)
        groups = []
        for group, size in self.spec.group_sizes.items():
            policy = self.spec.group_policy[group]
            groups.append((size, int(self.spec.spaces[policy][0].shape[-1]), self.spec.agent_shapes.get(policy)))
        return estimate_memory(self.algo, algorithm_config, groups, self.model)


def prepare_run(user_config: Mapping[str, Any]) -> RunPlan:
    """Checks a user config and builds its env once: see :func:`build_config`."""
    if not isinstance(user_config, Mapping):
        raise ConfigError(f"a config must be a dict, got {type(user_config).__name__}")
    settings = dict(user_config)
    algo = settings.pop("algo", "PPO")
    check_choice(algo, SUPPORTED_ALGOS, "algo")
    experiment_settings(user_config)  # validates stop and checkpoint
    settings.pop("stop", None)
    settings.pop("checkpoint", None)
    if "env" not in settings:
        raise ConfigError("the config needs 'env', e.g. env: simple_spread_v3")
    env = settings.pop("env")
    check_env_name(env)
    env_config = dict(settings.pop("env_config", None) or {})
    if NONFINITE_KEY in settings:  # checked by the env adapter when team_spec builds the env
        env_config[NONFINITE_KEY] = settings.pop(NONFINITE_KEY)
    model = BiCNetConfig.from_dict(settings.pop("model", None))
    groups = settings.pop("groups", None)
    group_policies = settings.pop("group_policies", None)
    team_reward = check_team_reward(settings.pop(TEAM_REWARD_KEY, "none"))
    _check_rllib_keys(algo, settings)
    if team_reward != "none":
        if algo not in TEAM_LAYOUT_ALGOS:
            raise ConfigError(
                f"team_reward works with the team-layout algorithms ({', '.join(TEAM_LAYOUT_ALGOS)}), "
                f"not {algo}: remove it or use one of those"
            )
        learner_settings = settings.get("learner_config_dict") or {}
        if not isinstance(learner_settings, Mapping):
            raise ConfigError(f"learner_config_dict must be a dict, got {learner_settings!r}")
        settings["learner_config_dict"] = {**learner_settings, TEAM_REWARD_KEY: team_reward}
    central = model.critic_input == "state"
    if central and algo != "PPO":
        raise ConfigError(
            f"model.critic_input: state (a critic that reads the env's global state) works with algo "
            f"PPO, not {algo}: algo BiCNet's critic already hears every agent's observation and "
            "action through its communication layer, and APPO and IMPALA train on per-agent rows"
        )
    if model.memory != "none" and algo != "PPO":
        raise ConfigError(
            f"model.memory: {model.memory} (memory over time) works with algo PPO, not {algo}: algo "
            "BiCNet replays single transitions, not sequences, and APPO and IMPALA train on "
            "per-agent rows; use algo PPO or model.memory: none"
        )
    if model.normalize_value and algo != "PPO":
        raise ConfigError(
            f"model.normalize_value works with algo PPO, not {algo}: its statistics are updated by "
            "the team PPO learner; APPO and IMPALA train on per-agent rows and algo BiCNet learns "
            "Q-values; remove it or use algo PPO"
        )
    spec = team_spec(env, env_config, groups, group_policies, global_state=central)
    return RunPlan(algo, spec, model, BUILDERS[algo](env, spec, model, {**PLUGIN_DEFAULTS, **settings}))


STOP_KEYS = (
    "training_iteration",
    "num_env_steps_sampled_lifetime",
    "time_total_s",
    "time_since_restore",
    "iterations_since_restore",
)
"""Top-level result metrics a ``stop`` criterion may name."""
ENV_RUNNER_STOP_KEYS = (
    "episode_return_mean",
    "episode_return_max",
    "episode_return_min",
    "episode_len_mean",
    "episode_len_max",
    "episode_len_min",
    "num_episodes",
    "num_episodes_lifetime",
    "num_env_steps_sampled",
    "num_env_steps_sampled_lifetime",
)
"""Metrics under ``env_runners/`` a ``stop`` criterion may name (besides
``pettingzoo_agent_returns_mean/<agent>``)."""


def check_stop(stop: Any) -> dict[str, float]:
    """The ``stop`` section, checked: known metric names, numbers as values.

    Tune ignores a criterion whose metric never appears, so a misspelt key
    would train forever; nested metrics use Tune's ``a/b`` spelling.

    >>> check_stop({"training_iteration": 5, "env_runners/episode_return_mean": -10})
    {'training_iteration': 5, 'env_runners/episode_return_mean': -10}
    """
    if not isinstance(stop, Mapping):
        raise ConfigError(f"'stop' must be a dict such as {{training_iteration: 50}}, got {stop!r}")
    for key, value in stop.items():
        key = str(key)
        section, _, leaf = key.partition("/")
        if section == "env_runners" and leaf:
            if leaf not in ENV_RUNNER_STOP_KEYS and not leaf.startswith("pettingzoo_agent_returns_mean/"):
                raise ConfigError(unknown_key_message(leaf, ENV_RUNNER_STOP_KEYS, "the stop metrics under env_runners/"))
        elif section not in ("learners", "evaluation") or not leaf:
            if key not in STOP_KEYS:
                raise ConfigError(
                    unknown_key_message(key, [*STOP_KEYS, "env_runners/episode_return_mean"], "'stop'")
                    + " (Tune never stops on a metric it does not see)"
                )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = " (YAML reads '2e2' as text: write 200 or 2.0e+2)" if isinstance(value, str) else ""
            raise ConfigError(f"stop.{key} must be a number, got {value!r}{hint}")
    return dict(stop)


def experiment_settings(user_config: Mapping[str, Any]) -> ExperimentSettings:
    """The algorithm, stop criteria and checkpoint policy a user config asks for."""
    stop = check_stop(user_config.get("stop") or {})
    return ExperimentSettings(
        algo=user_config.get("algo", "PPO"),
        stop=dict(stop),
        checkpoint=CheckpointSettings.from_dict(user_config.get("checkpoint")),
    )


def apply_overrides(user_config: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Returns a copy of ``user_config`` with ``KEY=VALUE`` overrides applied.

    Values are read as YAML; dotted keys reach into sections.

    >>> apply_overrides({"model": {"comm": "bilstm"}}, ["model.comm=none", "lr=0.001"])
    {'model': {'comm': 'none'}, 'lr': 0.001}
    """
    import copy

    import yaml

    result = copy.deepcopy(dict(user_config))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"an override must look like KEY=VALUE, got {item!r}")
        *sections, leaf = key.split(".")
        node = result
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise ConfigError(f"cannot set {key!r}: {section!r} is not a section")
        try:
            node[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise ConfigError(
                f"override {item!r}: the value {raw!r} is not valid YAML ({' '.join(str(e).split())}); "
                "a list is written [1, 2], a dict {a: 1}"
            ) from None
    return result


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a user config from a YAML file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(values).__name__}")
    return values
