"""BiCNet RLModules for APPO and IMPALA on per-agent rows (the n² layout).

Each input row is one agent's team view ``(n_agents, features + 2)``; the
module runs the BiCNet actor (and critic) over the whole team and returns the
row of the agent the view belongs to. Gradients flow through the
communication layer into every teammate's features. PPO trains on the team
layout instead (:mod:`rllib_shared.algorithms.ppo`), where one row is the
whole team and the cost is linear in the number of agents.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
)
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import TARGET_NETWORK_ACTION_DIST_INPUTS, TargetNetworkAPI
from ray.rllib.core.rl_module.apis.inference_only_api import InferenceOnlyAPI
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override

from rllib_shared.errors import ConfigError
from rllib_shared.nn import BiCNetActorCritic
from rllib_shared.team.layout import select_self, split_team_view
from rllib_shared.team.model import bicnet_config, image_shape, team_features


def action_head(action_space: gym.Space) -> tuple[type, int]:
    """Distribution class and per-agent head width for one agent's action space."""
    if isinstance(action_space, gym.spaces.Discrete):
        return TorchCategorical, int(action_space.n)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return TorchDiagGaussian, 2 * int(action_space.shape[0])
    raise ConfigError(
        f"the BiCNet module cannot handle action space {action_space}: use Discrete or a "
        "1-D Box (flatten other Box shapes; MultiDiscrete, Dict and Tuple actions are "
        "not supported)"
    )


class BiCNetPPOTorchRLModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """BiCNet actor and per-agent critic behind one policy ID, on per-agent rows.

    ``model_config`` holds the :class:`~rllib_shared.nn.BiCNetConfig` fields.
    With ``share_actor_critic`` one trunk feeds both heads and the value
    reuses the trunk output of the training forward pass (``Columns.EMBEDDINGS``).
    On env runners (``inference_only``) the value parts are dropped.
    """

    @override(RLModule)
    def setup(self):
        self.bicnet = bicnet_config(self.model_config)
        in_features = team_features(self.observation_space)
        self.action_dist_cls, action_features = action_head(self.action_space)
        self.net: BiCNetActorCritic = self.bicnet.build_actor_critic(
            in_features, action_features, n_agents=int(self.observation_space.shape[0]),
            image_shape=image_shape(self.model_config, self.bicnet),
        )
        if self.inference_only:
            # RLlib's own pruning of nested names would delete `self.vf_head`,
            # not `self.net.vf_head`; pruned here, it finds nothing left to do.
            self.net.drop_value()

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return [f"net.{name}" for name in BiCNetActorCritic.VALUE_PARTS]

    @override(RLModule)
    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` -> ``ACTION_DIST_INPUTS`` ``(*B, A)``."""
        features, alive, self_index = split_team_view(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: select_self(self.net(features, alive), self_index)}

    @override(RLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """As ``_forward``, plus ``EMBEDDINGS`` ``(*B, D)``: the own agent's value
        features, so ``compute_values`` needs only the value head."""
        features, alive, self_index = split_team_view(batch[Columns.OBS])
        logits, value_features = self.net.forward_train(features, alive)
        return {
            Columns.ACTION_DIST_INPUTS: select_self(logits, self_index),
            Columns.EMBEDDINGS: select_self(value_features, self_index),
        }

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None):
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` or embeddings ``(*B, D)``
        -> value of each row's own agent ``(*B,)``."""
        if embeddings is None:
            features, alive, self_index = split_team_view(batch[Columns.OBS])
            embeddings = select_self(self.net.value_features(features, alive), self_index)
        return self.net.value(embeddings)


class BiCNetAPPOTorchRLModule(BiCNetPPOTorchRLModule, TargetNetworkAPI):
    """Adds APPO's old-policy target network to :class:`BiCNetPPOTorchRLModule`."""

    @override(TargetNetworkAPI)
    def make_target_networks(self):
        self._old_net = make_target_network(self.net)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self):
        return [(self.net, self._old_net)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n_agents, F + 2)`` -> target logits ``(*B, A)``."""
        features, alive, self_index = split_team_view(batch[Columns.OBS])
        logits = select_self(self._old_net(features, alive), self_index)
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: logits}

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return [*super().get_non_inference_attributes(), "_old_net"]
