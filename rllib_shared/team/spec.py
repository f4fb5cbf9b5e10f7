"""What an algorithm needs to know of a team env before training: its policies.

:func:`team_spec` builds the team env once (so bad groups or spaces fail
before any Ray worker starts) and decides which policy ID (network) plays
which group:

- one group (the default): policy ``shared``, the plugin's one policy ID;
- several groups: one policy per group, named after it, unless
  ``group_policies`` maps several groups onto one policy ID (self-play, or
  BenchMARL's ``share_params_with``); groups that share a policy must have
  identical observation and action spaces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from rllib_shared.registry import make_team_env
from rllib_shared.errors import ConfigError
from rllib_shared.policy_mapping import SHARED_POLICY_ID, GroupPolicyMapping, map_to_shared_policy
from rllib_shared.team.env import GLOBAL_STATE_KEY, GROUPS_KEY


@dataclasses.dataclass(frozen=True)
class TeamSpec:
    """The groups of a team env and the policy that plays each."""

    env_config: dict[str, Any]
    """The team env's env_config (``groups`` included)."""
    group_policy: dict[str, str]
    """``{group: policy ID}``."""
    spaces: dict[str, tuple[gym.Space, gym.Space]]
    """``{policy ID: (observation space, action space)}``."""
    group_sizes: dict[str, int]
    state_size: int = 0
    """Features of the env's global ``state()`` when the team env puts it in its infos, else 0."""
    agent_shapes: dict[str, tuple | None] = dataclasses.field(default_factory=dict)
    """``{policy ID: the observation shape its agents share}`` (None if they differ)."""

    @property
    def policies(self) -> set[str]:
        return set(self.spaces)

    @property
    def policy_mapping_fn(self) -> Any:
        if set(self.group_policy.values()) == {SHARED_POLICY_ID} and len(self.group_policy) == 1:
            return map_to_shared_policy
        return GroupPolicyMapping(self.group_policy)


def team_spec(
    env: str,
    env_config: Mapping[str, Any] | None,
    groups: Any = None,
    group_policies: Mapping[str, str] | None = None,
    *,
    global_state: bool = False,
) -> TeamSpec:
    """Builds the team env of ``env`` once and assigns a policy to each group.

    With ``global_state`` the team env puts the env's ``state()`` in its
    infos; the probe plays one reset to check that the env has one.

    Example:
        >>> spec = team_spec("guessing_sum_v0", {"n_agents": 4}, {"a": "agent_[01]", "b": "agent_[23]"},
        ...                  {"a": "shared", "b": "shared"})
        >>> spec.group_policy, sorted(spec.policies)
        ({'a': 'shared', 'b': 'shared'}, ['shared'])
    """
    env_config = dict(env_config or {})
    if groups is not None:
        env_config[GROUPS_KEY] = groups
    if global_state:
        env_config[GLOBAL_STATE_KEY] = True
    probe = make_team_env(env, env_config)
    try:
        state_size = 0
        if global_state:
            probe.reset(seed=0)
            state_size = int(probe.state().shape[0])
        group_names = list(probe.groups)
        observation_spaces = dict(probe.observation_spaces)
        action_spaces = dict(probe.action_spaces)
        sizes = {g: probe.groups[g].n_agents for g in group_names}
        shapes = {g: {tuple(space.shape or ()) for space in probe.groups[g].layout.spaces} for g in group_names}
    finally:
        probe.close()
    if group_policies is None:
        table = {group_names[0]: SHARED_POLICY_ID} if len(group_names) == 1 else {g: g for g in group_names}
    else:
        if not isinstance(group_policies, Mapping):
            raise ConfigError(
                f"'group_policies' must map group names to policy IDs, e.g. {{red: shared, blue: "
                f"shared}}; got {group_policies!r}"
            )
        unknown = [g for g in group_policies if g not in group_names]
        if unknown:
            raise ConfigError(
                f"'group_policies' names groups {unknown} the env does not have; its groups are "
                f"{group_names}"
            )
        table = {g: str(group_policies.get(g, g)) for g in group_names}
    spaces: dict[str, tuple[gym.Space, gym.Space]] = {}
    for group, policy in table.items():
        pair = (observation_spaces[group], action_spaces[group])
        if policy in spaces and spaces[policy] != pair:
            other = next(g for g, p in table.items() if p == policy and g != group)
            raise ConfigError(
                f"groups {other!r} and {group!r} share policy {policy!r} but their spaces differ "
                f"({spaces[policy][0]}, {spaces[policy][1]} vs {pair[0]}, {pair[1]}); one network "
                "trains on one shape: give them separate policies or make the groups the same size"
            )
        spaces[policy] = pair
    agent_shapes = {policy: None for policy in spaces}
    for group, policy in table.items():
        if len(shapes[group]) == 1:
            agent_shapes[policy] = next(iter(shapes[group]))
    return TeamSpec(env_config=env_config, group_policy=table, spaces=spaces, group_sizes=sizes,
                    state_size=state_size, agent_shapes=agent_shapes)
