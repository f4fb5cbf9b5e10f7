"""Which policy ID (network) plays which RLlib agent."""

from __future__ import annotations

from collections.abc import Mapping

SHARED_POLICY_ID = "shared"


def map_to_shared_policy(agent_id, episode=None, **kwargs) -> str:
    """Maps every agent onto the one shared module (module-level so it pickles).

    >>> map_to_shared_policy("agent_7")
    'shared'
    """
    return SHARED_POLICY_ID


class GroupPolicyMapping:
    """``policy_mapping_fn`` from a fixed ``{group: policy ID}`` table (pickles).

    >>> GroupPolicyMapping({"red": "shared", "blue": "shared"})("blue")
    'shared'
    """

    def __init__(self, table: Mapping[str, str]):
        self.table = dict(table)

    def __call__(self, agent_id, episode=None, **kwargs) -> str:
        return self.table[agent_id]

    def __repr__(self) -> str:
        return f"GroupPolicyMapping({self.table!r})"


DEFAULT_POLICY_IDS = frozenset({"default_policy"})
"""RLlib's policy IDs when a config names none."""
