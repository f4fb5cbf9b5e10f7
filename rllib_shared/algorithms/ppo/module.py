"""BiCNet-PPO's RLModule on the team layout: one row is a whole group at one step.

The module runs the BiCNet actor and critic once over the group and returns
every agent's action-distribution inputs and value: ``(*B, n, W)`` and
``(*B, n)``. With ``model.memory`` it is an RLlib stateful module: inputs
carry a time axis ``(*B, T, n, ...)``, ``STATE_IN`` / ``STATE_OUT`` hold each
agent's memory ``{key: (*B, n, H)}``, and RLlib's connectors cut episodes
into ``max_seq_len`` sequences and carry the state between them. The distribution (:mod:`rllib_shared.team.actions`) factorises
over agents, so the env runners sample the joint action in one call and the
learner reads each agent's own log-prob.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.inference_only_api import InferenceOnlyAPI
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override

from rllib_shared.team.env import STATE
from rllib_shared.team.model import bicnet_config, image_shape, state_size, team_features
from rllib_shared.nn import BiCNetActorCritic
from rllib_shared.team.actions import TeamActions
from rllib_shared.team.layout import split_team


class TeamPPOTorchRLModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """BiCNet actor-critic over a group: observation ``Box(n, F + 2)``, joint action.

    ``model_config`` holds the :class:`~rllib_shared.nn.BiCNetConfig` fields.
    With ``share_actor_critic`` the value reuses the policy trunk's output of
    the training pass (``Columns.EMBEDDINGS``). Env runners build it
    ``inference_only``, without the value parts.
    """

    @override(RLModule)
    def setup(self):
        self.bicnet = bicnet_config(self.model_config)
        in_features = team_features(self.observation_space)
        self.n_agents = int(self.observation_space.shape[0])
        self.team_actions = TeamActions.of_joint_space(self.action_space, self.n_agents)
        self.action_dist_cls = self.team_actions.dist_cls
        self.net: BiCNetActorCritic = self.bicnet.build_actor_critic(
            in_features, self.team_actions.head_width, state_size(self.model_config, self.bicnet), self.n_agents,
            image_shape(self.model_config, self.bicnet),
        )
        if self.inference_only:
            self.net.drop_value()  # see BiCNetPPOTorchRLModule.setup

    @override(RLModule)
    def get_initial_state(self) -> dict[str, np.ndarray]:
        """Each agent's memory at an episode start, ``{key: (n, H)}`` zeros
        (empty without ``model.memory``: then the module is not stateful)."""
        return {k: v.numpy() for k, v in self.net.initial_memory(self.n_agents).items()}

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return [f"net.{name}" for name in BiCNetActorCritic.VALUE_PARTS]

    @override(RLModule)
    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Shapes: ``batch[OBS]`` ``(*B, n, F + 2)`` -> ``ACTION_DIST_INPUTS`` ``(*B, n, W)``;
        with memory ``(*B, T, n, F + 2)`` and ``STATE_IN`` ``{key: (*B, n, H)}``
        -> ``(*B, T, n, W)`` and ``STATE_OUT`` (the memory after step ``T``)."""
        if not self.is_stateful():
            return {Columns.ACTION_DIST_INPUTS: self.net(*split_team(batch[Columns.OBS]))}
        logits, memory = self.net.step(*split_team(batch[Columns.OBS]), batch[Columns.STATE_IN])
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.STATE_OUT: memory}

    @override(RLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """As ``_forward``, plus ``EMBEDDINGS`` ``(*B, n, D)``: the value features of
        the same pass, so ``compute_values`` needs only the value head. With
        ``critic_input: state`` the batch also holds ``STATE`` ``(*B, S)``; with
        memory every column has a ``T`` axis and ``STATE_IN`` starts each sequence."""
        logits, value_features = self.net.forward_train(
            *split_team(batch[Columns.OBS]), batch.get(STATE), batch.get(Columns.STATE_IN)
        )
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: value_features}

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Shapes: ``batch[OBS]`` ``(*B, n, F + 2)`` (and ``batch[STATE]`` ``(*B, S)``
        with ``critic_input: state``) or embeddings ``(*B, n, D)`` -> per-agent
        values ``(*B, n)``; with memory, a ``T`` axis after ``*B`` and
        ``batch[STATE_IN]`` at each sequence's start."""
        if embeddings is None:
            embeddings = self.net.value_features(
                *split_team(batch[Columns.OBS]), batch.get(STATE), batch.get(Columns.STATE_IN)
            )
        return self.net.value(embeddings)

    def value_scale(self) -> torch.Tensor | float:
        """What the value loss divides the error by (``model.normalize_value``:
        the targets' running standard deviation; else 1)."""
        return self.net.value_scale()

    def observe_value_targets(self, targets: torch.Tensor, mask: torch.Tensor) -> None:
        """Shapes: targets ``(N, n)``, mask ``(N, n)`` bool. The learner's GAE
        piece calls it once per train batch (see ``BiCNetActorCritic``)."""
        self.net.observe_value_targets(targets, mask)
