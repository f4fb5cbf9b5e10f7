"""BiCNet RLModule for PPO and IMPALA: one module computes every agent's output.

Each input row is one agent's team view ``(n_agents, features + 2)``; the
module runs the BiCNet actor (and critic) over the whole team and returns the
row of the agent the view belongs to. Gradients flow through the
communication layer into every teammate's features.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.inference_only_api import InferenceOnlyAPI
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override

from rllib_shared.modules.spaces import action_head, bicnet_config, team_features
from rllib_shared.team_view import select_self, split_team_view


class BiCNetPPOTorchRLModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """BiCNet actor and per-agent critic behind one policy ID.

    ``model_config`` holds the :class:`~rllib_shared.nn.BiCNetConfig` fields.
    With ``share_actor_critic`` one trunk feeds both heads and the value
    reuses the trunk output of the training forward pass (``Columns.EMBEDDINGS``).
    On env runners (``inference_only``) RLlib drops the value parts.
    """

    @override(RLModule)
    def setup(self):
        self.bicnet = bicnet_config(self.model_config)
        in_features = team_features(self.observation_space)
        self.action_dist_cls, action_features = action_head(self.action_space)
        if self.bicnet.share_actor_critic:
            self.net = self.bicnet.build_actor_critic(in_features, action_features)
            pi_out = self.net.pi[-1]
            if self.inference_only:
                # RLlib's own pruning of nested names deletes `self.vf` instead of
                # `self.net.vf` and fails; pruned here, it finds nothing left to do.
                del self.net.vf
        else:
            self.actor = self.bicnet.build_net(in_features, action_features)
            self.critic = self.bicnet.build_net(in_features, 1)
            pi_out = self.actor.head[-1]
        # Near-uniform initial policy, as RLlib's default PPO heads.
        with torch.no_grad():
            pi_out.weight.mul_(0.01)
            pi_out.bias.zero_()

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return ["net.vf"] if self.bicnet.share_actor_critic else ["critic"]

    def _policy_net(self) -> torch.nn.Module:
        return self.net if self.bicnet.share_actor_critic else self.actor

    def _logits(self, net, features, alive, self_index):
        """-> (action-dist inputs of each row's own agent ``(B, A)``, trunk ``(B, n, D)``)."""
        trunk = net.trunk(features, alive)
        head = net.pi if self.bicnet.share_actor_critic else net.head
        return select_self(head(trunk), self_index), trunk

    def _value_embeddings(self, features, alive, self_index, *, policy_trunk=None):
        """Own agent's critic-trunk features ``(B, D)``; a shared trunk's output
        from the same forward pass is reused when given."""
        if not self.bicnet.share_actor_critic:
            trunk = self.critic.trunk(features, alive)
        elif policy_trunk is None:
            trunk = self.net.trunk(features, alive)
        else:
            trunk = policy_trunk
        return select_self(trunk, self_index)

    @override(RLModule)
    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` -> ``ACTION_DIST_INPUTS`` ``(*B, A)``."""
        logits, _ = self._logits(self._policy_net(), *split_team_view(batch[Columns.OBS]))
        return {Columns.ACTION_DIST_INPUTS: logits}

    @override(RLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """As ``_forward``, plus ``EMBEDDINGS`` ``(*B, D)``: the own agent's critic
        trunk features, so ``compute_values`` needs only the value head."""
        features, alive, self_index = split_team_view(batch[Columns.OBS])
        logits, trunk = self._logits(self._policy_net(), features, alive, self_index)
        embeddings = self._value_embeddings(features, alive, self_index, policy_trunk=trunk)
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: embeddings}

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` or embeddings ``(*B, D)``
        -> value of each row's own agent ``(*B,)``."""
        if embeddings is None:
            embeddings = self._value_embeddings(*split_team_view(batch[Columns.OBS]))
        value_head = self.net.vf if self.bicnet.share_actor_critic else self.critic.head
        return value_head(embeddings).squeeze(-1)
