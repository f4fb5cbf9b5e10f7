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

    def _policy_parts(self, features, alive, self_index, *, net=None):
        """-> (action-dist inputs ``(B, A)``, critic embeddings ``(B, D)`` or None)."""
        net = net if net is not None else (self.net if self.bicnet.share_actor_critic else self.actor)
        trunk = net.trunk(features, alive)
        head = net.pi if self.bicnet.share_actor_critic else net.head
        logits = select_self(head(trunk), self_index)
        shared_embeddings = select_self(trunk, self_index) if self.bicnet.share_actor_critic else None
        return logits, shared_embeddings

    @override(RLModule)
    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` -> ``ACTION_DIST_INPUTS`` ``(*B, A)``."""
        logits, _ = self._policy_parts(*split_team_view(batch[Columns.OBS]))
        return {Columns.ACTION_DIST_INPUTS: logits}

    @override(RLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """As ``_forward``, plus ``EMBEDDINGS`` ``(*B, D)``: the own agent's critic
        trunk features, so ``compute_values`` needs only the value head."""
        features, alive, self_index = split_team_view(batch[Columns.OBS])
        logits, embeddings = self._policy_parts(features, alive, self_index)
        if embeddings is None:
            embeddings = select_self(self.critic.trunk(features, alive), self_index)
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: embeddings}

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` or embeddings ``(*B, D)``
        -> value of each row's own agent ``(*B,)``."""
        if embeddings is None:
            features, alive, self_index = split_team_view(batch[Columns.OBS])
            if self.bicnet.share_actor_critic:
                _, embeddings = self._policy_parts(features, alive, self_index)
            else:
                embeddings = select_self(self.critic.trunk(features, alive), self_index)
        value_head = self.net.vf if self.bicnet.share_actor_critic else self.critic.head
        return value_head(embeddings).squeeze(-1)
