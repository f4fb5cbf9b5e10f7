"""BiCNet RLModule for APPO: the PPO module plus a target policy network."""

from __future__ import annotations

from typing import Any

from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import TARGET_NETWORK_ACTION_DIST_INPUTS, TargetNetworkAPI
from ray.rllib.core.rl_module.apis.inference_only_api import InferenceOnlyAPI
from ray.rllib.utils.annotations import override

from rllib_shared.modules.bicnet_ppo import BiCNetPPOTorchRLModule
from rllib_shared.team_view import split_team_view


class BiCNetAPPOTorchRLModule(BiCNetPPOTorchRLModule, TargetNetworkAPI):
    """Adds APPO's old-policy target network to :class:`BiCNetPPOTorchRLModule`."""

    @override(TargetNetworkAPI)
    def make_target_networks(self):
        self._old_policy_net = make_target_network(self._policy_net())

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self):
        return [(self._policy_net(), self._old_policy_net)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` -> target logits ``(*B, A)``."""
        logits, _ = self._logits(self._old_policy_net, *split_team_view(batch[Columns.OBS]))
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: logits}

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return [*super().get_non_inference_attributes(), "_old_policy_net"]
