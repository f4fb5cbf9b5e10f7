"""BiCNet-PPO's learner on the team layout: RLlib's PPO learner, loss per agent.

Reuses RLlib's ``PPOTorchLearner`` (optimizer, KL-coefficient and entropy
schedules, metrics) and its learner pipeline, with two changes:

- advantages are per agent (:class:`~rllib_shared.algorithms.ppo.gae.TeamGeneralAdvantageEstimation`
  replaces RLlib's GAE piece);
- the loss is MAPPO's per-agent clipped surrogate: each agent's own
  importance ratio and advantage, ``min(rho_i A_i, clip(rho_i) A_i)``; value
  loss, entropy and KL are per agent too (the value loss in normalised units
  with ``model.normalize_value``). Every term is averaged over the
  alive agent-steps of the batch, so dead agents change nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.ppo import (
    LEARNER_RESULTS_KL_KEY,
    LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY,
    LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY,
)
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.common import AddObservationsFromEpisodesToBatch
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_shared.algorithms.ppo.gae import AGENT_MASK, TeamGeneralAdvantageEstimation
from rllib_shared.team.connectors import AddGlobalStateFromInfos
from rllib_shared.team.credit import TEAM_REWARD_KEY


def team_ppo_loss(
    *,
    curr_dist: Any,
    prev_dist: Any,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    value_targets: torch.Tensor,
    mask: torch.Tensor,
    clip_param: float,
    vf_clip_param: float,
    vf_loss_coeff: float,
    entropy_coeff: float | torch.Tensor,
    kl_coeff: float | torch.Tensor | None,
    value_scale: float | torch.Tensor = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's loss with every term per agent, averaged over alive agent-steps.

    Args:
        curr_dist, prev_dist: team distributions (:mod:`rllib_shared.team.actions`)
            of the policy being trained and of the sampling policy.
        actions: the joint actions as sampled.
        advantages, values, value_targets, mask: ``(B, n)``; ``mask`` is True
            where the agent acted (alive, real timestep).
        kl_coeff: None turns the KL term off.
        value_scale: the value error is divided by it (``model.normalize_value``:
            the targets' running standard deviation, so the critic's loss is
            in normalised units).

    Returns:
        The total loss and its parts (each a masked mean).
    """
    n_valid = mask.sum().clamp(min=1)

    def masked_mean(x: torch.Tensor) -> torch.Tensor:
        return torch.where(mask, x, torch.zeros_like(x)).sum() / n_valid

    # exp of a dead agent's log-ratio can overflow; where() does not stop its NaN gradient.
    log_ratio = torch.where(
        mask, curr_dist.agent_logp(actions) - prev_dist.agent_logp(actions), 0.0
    )
    ratio = torch.exp(log_ratio)
    surrogate = torch.min(
        advantages * ratio, advantages * torch.clamp(ratio, 1 - clip_param, 1 + clip_param)
    )
    vf_loss = torch.pow((values - value_targets) / value_scale, 2.0)
    vf_loss_clipped = torch.clamp(vf_loss, 0, vf_clip_param)
    entropy = curr_dist.agent_entropy()
    total = masked_mean(-surrogate + vf_loss_coeff * vf_loss_clipped - entropy_coeff * entropy)
    stats = {
        "policy_loss": -masked_mean(surrogate),
        "vf_loss": masked_mean(vf_loss_clipped),
        "vf_loss_unclipped": masked_mean(vf_loss),
        "entropy": masked_mean(entropy),
        "kl": torch.zeros((), device=values.device),
    }
    if kl_coeff is not None:
        stats["kl"] = masked_mean(prev_dist.agent_kl(curr_dist))
        total = total + kl_coeff * stats["kl"]
    return total, stats


class TeamPPOTorchLearner(PPOTorchLearner):
    """PPO learner for :class:`~rllib_shared.algorithms.ppo.module.TeamPPOTorchRLModule`."""

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        if self._learner_connector is not None and self.config.add_default_connectors_to_learner_pipeline:
            self._learner_connector.remove(GeneralAdvantageEstimation)
            # Beside the observations: the state of each observation's row.
            self._learner_connector.insert_after(AddObservationsFromEpisodesToBatch, AddGlobalStateFromInfos())
            self._learner_connector.append(
                TeamGeneralAdvantageEstimation(
                    gamma=self.config.gamma,
                    lambda_=self.config.lambda_,
                    team_reward=self.config.learner_config_dict.get(TEAM_REWARD_KEY, "none"),
                )
            )

    @override(PPOTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config: Any, batch: dict[str, Any], fwd_out: dict[str, TensorType]
    ) -> TensorType:
        module = self.module[module_id].unwrapped()
        mask = batch[AGENT_MASK]
        dist_cls = module.get_train_action_dist_cls()
        values = module.compute_values(batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
        total, stats = team_ppo_loss(
            curr_dist=dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS]),
            prev_dist=dist_cls.from_logits(batch[Columns.ACTION_DIST_INPUTS]),
            actions=batch[Columns.ACTIONS],
            advantages=batch[Postprocessing.ADVANTAGES],
            values=values,
            value_targets=batch[Postprocessing.VALUE_TARGETS],
            mask=mask,
            clip_param=config.clip_param,
            vf_clip_param=config.vf_clip_param,
            vf_loss_coeff=config.vf_loss_coeff,
            entropy_coeff=self.entropy_coeff_schedulers_per_module[module_id].get_current_value(),
            kl_coeff=self.curr_kl_coeffs_per_module[module_id] if config.use_kl_loss else None,
            value_scale=module.value_scale(),
        )
        self.metrics.log_dict(
            {
                POLICY_LOSS_KEY: stats["policy_loss"],
                VF_LOSS_KEY: stats["vf_loss"],
                LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY: stats["vf_loss_unclipped"],
                LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: explained_variance(
                    batch[Postprocessing.VALUE_TARGETS][mask], values[mask]
                ),
                ENTROPY_KEY: stats["entropy"],
                LEARNER_RESULTS_KL_KEY: stats["kl"],
            },
            key=module_id,
            window=1,
        )
        return total
