"""Env names usable as ``config["env"]``, registered with Ray Tune on import.

Every name maps to a function ``env_config -> PettingZoo ParallelEnv``; RLlib
gets it wrapped in :class:`~rllib_shared.envs.pettingzoo_env.PettingZooEnv`
(one RLlib agent per PettingZoo agent). Each name also has a team version,
``<name>-team``: the team layout (:class:`~rllib_shared.team.env.TeamEnv`),
whose RLlib agents are groups of agents; its ``env_config`` may hold
``groups`` (see :mod:`rllib_shared.team.groups`). Both may hold
``nonfinite_observations`` (see :class:`PettingZooEnv`).
Registration is idempotent and runs whenever ``rllib_shared`` is imported, so
restored checkpoints and remote workers find the names again.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pettingzoo import ParallelEnv

from rllib_shared.envs.guessing_sum import GuessingSumEnv
from rllib_shared.envs.pettingzoo_env import NONFINITE_KEY, PettingZooEnv, as_parallel
from rllib_shared.envs.recall import RecallEnv
from rllib_shared.errors import ConfigError, check_choice, check_keys
from rllib_shared.team.env import GLOBAL_STATE_KEY, GROUPS_KEY, TeamEnv

GENERIC_KEY = "pettingzoo_env"


def _accepted_kwargs(fn: Callable) -> list[str] | None:
    """Keyword names ``fn`` accepts, or None if it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.name != "self"]


def _call_checked(fn: Callable, signature_of: Callable, kwargs: Mapping, where: str):
    accepted = _accepted_kwargs(signature_of)
    if accepted is not None:
        check_keys(kwargs, accepted, where)
    return fn(**kwargs)


def _pettingzoo_module_env(module_path: str, env_config: Mapping) -> ParallelEnv:
    """Builds ``module.parallel_env(**env_config)`` (or converts ``module.env``)."""
    try:
        module = importlib.import_module(module_path)
    except ImportError as e:
        raise ConfigError(
            f"cannot import PettingZoo env module {module_path!r} ({e}); give a module path "
            "such as 'mpe2.simple_spread_v3' or 'pettingzoo.butterfly.pistonball_v6'"
        ) from None
    factory = getattr(module, "parallel_env", None) or getattr(module, "env", None)
    if factory is None:
        raise ConfigError(f"module {module_path!r} has neither parallel_env() nor env()")
    signature_of = getattr(module, "raw_env", factory)
    signature_of = signature_of.__init__ if inspect.isclass(signature_of) else signature_of
    env = _call_checked(factory, signature_of, env_config, f"env_config of {module_path}")
    return as_parallel(env)


def _generic_env(env_config: Mapping) -> ParallelEnv:
    env_config = dict(env_config)
    if GENERIC_KEY not in env_config:
        raise ConfigError(
            f"env 'pettingzoo' needs env_config[{GENERIC_KEY!r}] naming the env module, "
            "e.g. {'pettingzoo_env': 'mpe2.simple_spread_v3', 'N': 4}"
        )
    return _pettingzoo_module_env(env_config.pop(GENERIC_KEY), env_config)


def _recall(env_config: Mapping) -> ParallelEnv:
    return _call_checked(RecallEnv, RecallEnv.__init__, env_config, "env_config of recall_v0")


def _guessing_sum(env_config: Mapping) -> ParallelEnv:
    return _call_checked(
        GuessingSumEnv, GuessingSumEnv.__init__, env_config, "env_config of guessing_sum_v0"
    )


PETTINGZOO_ENVS: dict[str, Callable[[Mapping], ParallelEnv]] = {
    "simple_spread_v3": functools.partial(_pettingzoo_module_env, "mpe2.simple_spread_v3"),
    "simple_reference_v3": functools.partial(_pettingzoo_module_env, "mpe2.simple_reference_v3"),
    "pursuit_v5": functools.partial(_pettingzoo_module_env, "pettingzoo.sisl.pursuit_v5"),
    "guessing_sum_v0": _guessing_sum,
    "recall_v0": _recall,
    "pettingzoo": _generic_env,
}
"""Registered env name -> ``env_config -> ParallelEnv``."""

ENV_NAMES = tuple(PETTINGZOO_ENVS)

TEAM_SUFFIX = "-team"


def team_env_name(name: str) -> str:
    """The registered name of ``name``'s team env.

    >>> team_env_name("simple_spread_v3"), team_env_name("simple_spread_v3-team")
    ('simple_spread_v3-team', 'simple_spread_v3-team')
    """
    return name if name.endswith(TEAM_SUFFIX) else name + TEAM_SUFFIX


def base_env_name(name: str) -> str:
    """The PettingZoo env name behind a (team or plain) registered name.

    >>> base_env_name("guessing_sum_v0-team")
    'guessing_sum_v0'
    """
    return name.removesuffix(TEAM_SUFFIX)


def check_env_name(name: Any) -> None:
    if not isinstance(name, str):
        raise ConfigError(
            f"config['env'] must be one of the registered names {', '.join(ENV_NAMES)}; "
            f"got {name!r}"
        )
    check_choice(name, ENV_NAMES, "env name")


def make_pettingzoo_env(name: str, env_config: Mapping | None = None) -> ParallelEnv:
    """The PettingZoo ParallelEnv registered as ``name``.

    >>> make_pettingzoo_env("simple_spread_v3", {"N": 2}).possible_agents
    ['agent_0', 'agent_1']
    """
    check_env_name(name)
    return PETTINGZOO_ENVS[name](dict(env_config or {}))


def make_rllib_env(name: str, env_config: Mapping | None = None) -> PettingZooEnv:
    """The RLlib MultiAgentEnv registered as ``name``."""
    kwargs, plugin = split_env_config(env_config)
    for key in (GROUPS_KEY, GLOBAL_STATE_KEY):
        if key in plugin:
            raise ConfigError(f"'{key}' needs the team env {team_env_name(name)!r}, not {name!r}")
    return PettingZooEnv(make_pettingzoo_env(name, kwargs), **plugin)


def make_team_env(name: str, env_config: Mapping | None = None) -> TeamEnv:
    """The team layout of ``name``: RLlib agents are the groups of ``env_config["groups"]``.

    >>> make_team_env("simple_spread_v3-team", {"N": 2}).possible_agents
    ['team']
    """
    kwargs, plugin = split_env_config(env_config)
    groups = plugin.pop(GROUPS_KEY, None)
    global_state = bool(plugin.pop(GLOBAL_STATE_KEY, False))
    agent_env = PettingZooEnv(make_pettingzoo_env(base_env_name(name), kwargs), **plugin)
    return TeamEnv(agent_env, groups, global_state=global_state)


PLUGIN_ENV_KEYS = (GROUPS_KEY, GLOBAL_STATE_KEY, NONFINITE_KEY)
"""``env_config`` keys that are this plugin's, not the PettingZoo env's."""


def split_env_config(env_config: Mapping | None) -> tuple[dict, dict]:
    """An env_config -> (the PettingZoo env's kwargs, this plugin's settings).

    >>> split_env_config({"N": 3, "groups": "prefix"})
    ({'N': 3}, {'groups': 'prefix'})
    """
    kwargs = dict(env_config or {})
    return kwargs, {key: kwargs.pop(key) for key in PLUGIN_ENV_KEYS if key in kwargs}


def register_envs() -> None:
    """Registers every name and its team version with Ray Tune (idempotent)."""
    from ray.tune.registry import register_env

    for name in ENV_NAMES:
        register_env(name, functools.partial(make_rllib_env, name))
        register_env(team_env_name(name), functools.partial(make_team_env, name))
