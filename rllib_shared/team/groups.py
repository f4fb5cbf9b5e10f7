"""Agent groups: which PettingZoo agents form which RLlib agent.

A *group* is a set of PettingZoo agents that one network plays as a team, in
one forward pass per env step. RLlib sees each group as one agent
(:class:`~rllib_shared.team.env.TeamEnv`). The ``groups`` setting names the
groups by agent-id patterns:

- ``None`` (default): one group, ``team``, holding every agent;
- ``"prefix"``: one group per agent-id prefix, the convention of MARLlib and
  BenchMARL (``adversary_0, agent_0, agent_1`` -> ``adversary``, ``agent``);
- ``{name: pattern}``: shell-style patterns (``fnmatch``), or lists of them,
  e.g. ``{red: "red_*", blue: "blue_*"}``.

Every agent must fall into exactly one group. Pure Python: no Ray, no torch.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rllib_shared.errors import ConfigError

DEFAULT_GROUP = "team"
"""Name of the single group that holds every agent when no groups are given."""
PREFIX = "prefix"
"""``groups: prefix``: group agents by their id without the trailing ``_<number>``."""


def natural_key(agent_id: Any) -> list:
    """Sort key that puts ``agent_2`` before ``agent_10``.

    >>> sorted(["agent_10", "agent_2", "adversary_0"], key=natural_key)
    ['adversary_0', 'agent_2', 'agent_10']
    """
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(agent_id))]


def natural_sorted(agent_ids: Iterable[Any]) -> list:
    return sorted(agent_ids, key=natural_key)


def agent_prefix(agent_id: Any) -> str:
    """The id without its trailing ``_<number>`` (``red_12`` -> ``red``).

    >>> agent_prefix("adversary_0"), agent_prefix("leader"), agent_prefix("blue_12")
    ('adversary', 'leader', 'blue')
    """
    return re.sub(r"_\d+$", "", str(agent_id))


def resolve_groups(agents: Sequence[Any], groups: Any = None) -> dict[str, tuple]:
    """Assigns every agent to one group: ``{group: (agents in natural order)}``.

    Groups keep the order in which they are given (``prefix``: order of first
    appearance among the naturally sorted agents).

    Raises:
        ConfigError: a pattern matches no agent, an agent matches two groups,
            or an agent matches none.

    Example:
        >>> agents = ["red_1", "red_0", "blue_0"]
        >>> resolve_groups(agents)
        {'team': ('blue_0', 'red_0', 'red_1')}
        >>> resolve_groups(agents, {"red": "red_*", "blue": ["blue_*"]})
        {'red': ('red_0', 'red_1'), 'blue': ('blue_0',)}
        >>> resolve_groups(agents, "prefix")
        {'blue': ('blue_0',), 'red': ('red_0', 'red_1')}
    """
    ordered = natural_sorted(agents)
    if groups is None:
        return {DEFAULT_GROUP: tuple(ordered)}
    if groups == PREFIX:
        by_prefix: dict[str, list] = {}
        for agent in ordered:
            by_prefix.setdefault(agent_prefix(agent), []).append(agent)
        return {name: tuple(members) for name, members in by_prefix.items()}
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigError(
            f"'groups' must be 'prefix' or a non-empty dict of group name -> agent-id pattern(s), "
            f"e.g. {{red: 'red_*', blue: 'blue_*'}}; got {groups!r}"
        )
    owner: dict[Any, str] = {}
    result: dict[str, tuple] = {}
    for name, patterns in groups.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"group names must be non-empty strings, got {name!r}")
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
            raise ConfigError(
                f"group {name!r}: give an agent-id pattern or a list of them (e.g. 'red_*'), "
                f"got {patterns!r}"
            )
        members = [a for a in ordered if any(fnmatch.fnmatchcase(str(a), p) for p in patterns)]
        if not members:
            raise ConfigError(
                f"group {name!r}: pattern(s) {patterns} match none of the env's agents "
                f"{_short(ordered)}"
            )
        for agent in members:
            if agent in owner:
                raise ConfigError(
                    f"agent {agent!r} matches both group {owner[agent]!r} and group {name!r}; "
                    "make the patterns disjoint"
                )
            owner[agent] = name
        result[name] = tuple(members)
    missing = [a for a in ordered if a not in owner]
    if missing:
        raise ConfigError(
            f"agents {_short(missing)} belong to no group; add a pattern that matches them to "
            "one of the groups, or a group of their own"
        )
    return result


def _short(agents: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(a) for a in agents[:limit])
    more = f", ... ({len(agents)} in all)" if len(agents) > limit else ""
    return f"[{shown}{more}]"
