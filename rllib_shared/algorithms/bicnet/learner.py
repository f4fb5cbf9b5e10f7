"""The BiCNet learner: per-agent TD loss and the vectorised deterministic policy gradient.

For a replayed team transition ``(s, a, R, s')`` with per-agent (n-step)
returns ``R_i``, per-agent bootstrap discounts ``g_i`` (``gamma^n``, or 0 if
the agent terminated or left within the return's steps; see
:mod:`.replay`) and alive flags ``m_i`` (Peng et al. 2017, eqs. 7-8):

- critic: ``L_Q = mean_batch w sum_i m_i (y_i - Q_i(s, a))^2`` with
  ``y_i = R_i + g_i m'_i Q'_i(s', mu'(s'))`` (``w``: prioritised replay's
  importance weight);
- actor: ``L_mu = -mean_batch sum_i m_i Q_i(s, mu(s))``, whose gradient is
  ``-mean sum_i sum_j dQ_i/da_j da_j/dtheta``: every agent's action gets the
  gradient of every agent's value, through the critic's communication layer
  (discrete actions: ``mu(s)`` is a straight-through Gumbel-softmax sample,
  plus ``actor_regularization`` times the mean squared logit: MADDPG's
  regulariser), plus ``actor_proximal_coeff`` times
  ``mean_batch mean_alive ||mu(s) - mu'(s)||^2`` (``mu'`` the target actor;
  logits if discrete): a proximal term that lets the actor leave its slowly
  moving target only as far as the critic's action gradient is worth, where
  Adam alone would step by the learning rate whatever that gradient's size.

Each loss trains only its own network: gradients are taken per optimizer
with ``torch.autograd.grad``, so the actor loss never moves the critic.
Dead agents (``m_i = 0``) add nothing to either loss. Target networks
follow by Polyak averaging with ``tau``, in place (RLlib's DQN learner
rebuilds each target's state dict, eight times slower here); the
exploration noise is annealed here and reaches the env runners with the
weights.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.dqn.dqn_learner import DQNLearner
from ray.rllib.core import ALL_MODULES
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.torch.torch_learner import TorchLearner
from ray.rllib.core.rl_module.apis import TargetNetworkAPI
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    LAST_TARGET_UPDATE_TS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_TARGET_UPDATES,
    TD_ERROR_KEY,
)
from ray.rllib.utils.typing import ModuleID, ParamDict, TensorType

from rllib_shared.algorithms.bicnet.module import ACTOR_OUT, Q_POLICY, Q_TARGET_NEXT, Q_VALUES, Q_VALUES_2
from rllib_shared.algorithms.bicnet.replay import AGENT_DISCOUNTS, WEIGHTS
from rllib_shared.team.env import AGENT_REWARDS
from rllib_shared.team.layout import split_team

ACTOR = "actor"
CRITIC = "critic"


def bicnet_losses(
    *,
    q_values: torch.Tensor,
    q_policy: torch.Tensor,
    q_target_next: torch.Tensor,
    rewards: torch.Tensor,
    q_values_2: torch.Tensor | None = None,
    discounts: torch.Tensor,
    alive: torch.Tensor,
    next_alive: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """BiCNet's critic and actor losses from per-agent tensors, all ``(B, n)``:
    ``rewards`` the returns ``R_i``, ``discounts`` the bootstrap factors ``g_i``.

    Returns ``critic_loss`` and ``actor_loss`` (scalars) and ``td_error``
    ``(B, n)`` (zero for dead agents). ``weights`` ``(B,)`` are importance
    weights of a prioritised replay buffer. With ``q_values_2`` (TD3's second
    critic) the critic loss is the sum of both critics' losses against the
    one target; ``td_error`` stays the first critic's.

    >>> z = torch.zeros(2, 3)
    >>> out = bicnet_losses(q_values=z, q_policy=z, q_target_next=z, rewards=z + 1,
    ...     discounts=z + 0.9, alive=z + 1, next_alive=z + 1)
    >>> float(out["critic_loss"])  # 3 agents with error 1 each
    3.0
    """
    alive = alive.to(q_values.dtype)
    bootstrap = discounts.to(q_values.dtype) * next_alive.to(q_values.dtype)
    target = (rewards + bootstrap * q_target_next).detach()
    td_error = (target - q_values) * alive
    per_row_critic = td_error.pow(2).sum(-1)
    if q_values_2 is not None:
        per_row_critic = per_row_critic + ((target - q_values_2) * alive).pow(2).sum(-1)
    per_row_actor = -(q_policy * alive).sum(-1)
    if weights is not None:
        per_row_critic = per_row_critic * weights
    return {
        "critic_loss": per_row_critic.mean(),
        "actor_loss": per_row_actor.mean(),
        "td_error": td_error,
    }


def proximal_penalty(actor_out: torch.Tensor, target_out: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """``mean ||actor_out_i - target_out_i||^2`` over the alive agents of the
    batch: ``actor_out`` and ``target_out`` ``(B, n, A)``, ``alive`` ``(B, n)``.

    >>> out = torch.zeros(2, 3, 2)
    >>> alive = torch.tensor([[True, True, False], [True, False, False]])
    >>> float(proximal_penalty(out + 1, out, alive))  # 1 + 1 per alive agent
    2.0
    """
    return (actor_out - target_out.detach())[alive].pow(2).sum(-1).mean()


@torch.no_grad()
def polyak_update(main: torch.nn.Module, target: torch.nn.Module, tau: float) -> None:
    """``target <- tau * main + (1 - tau) * target`` for every parameter and
    floating-point buffer, in place."""
    pairs = [*zip(target.parameters(), main.parameters(), strict=True),
             *zip(target.buffers(), main.buffers(), strict=True)]
    floats = [(t, m) for t, m in pairs if t.is_floating_point()]
    torch._foreach_lerp_([t for t, _ in floats], [m for _, m in floats], tau)
    for t, m in pairs:
        if not t.is_floating_point():
            t.copy_(m)


class BiCNetTorchLearner(DQNLearner, TorchLearner):
    """Learner of :class:`~rllib_shared.algorithms.bicnet.BiCNet` (torch)."""

    @override(DQNLearner)
    def build(self) -> None:
        self._temp_losses: dict[tuple[ModuleID, str], TensorType] = {}
        self.critic_updates = 0
        """Gradient updates so far; the actor and the targets follow every ``policy_delay``-th."""
        self.reports_td_errors = self.config.uses_prioritized_replay()
        """Per-row TD errors are logged only for a prioritised buffer's priorities."""
        super().build()

    def actor_due(self) -> bool:
        """Whether the update being made (the ``critic_updates``-th) moves the actor and the targets."""
        return self.critic_updates % self.config.policy_delay == 0

    @classmethod
    @override(DQNLearner)
    def rl_module_required_apis(cls) -> list[type]:
        return [TargetNetworkAPI]

    @override(TorchLearner)
    def configure_optimizers_for_module(self, module_id: ModuleID, config: Any = None) -> None:
        module = self._module[module_id]
        for name, nets, lr in (
            (ACTOR, [module.actor], config.actor_lr),
            (CRITIC, module.critics(), config.critic_lr),
        ):
            params = [p for net in nets for p in self.get_parameters(net)]
            self.register_optimizer(
                module_id=module_id,
                optimizer_name=name,
                optimizer=torch.optim.Adam(params, fused=True),  # one kernel: 3x faster here
                params=params,
                lr_or_lr_schedule=lr,
            )

    @override(TorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> TensorType:
        module = self.module[module_id].unwrapped()
        with torch.no_grad():
            q_target_next = module.forward_target(batch)[Q_TARGET_NEXT]
        _, alive = split_team(batch[Columns.OBS])
        _, next_alive = split_team(batch[Columns.NEXT_OBS])
        losses = bicnet_losses(
            q_values=fwd_out[Q_VALUES],
            q_policy=fwd_out[Q_POLICY],
            q_target_next=q_target_next,
            q_values_2=fwd_out.get(Q_VALUES_2),
            rewards=batch[AGENT_REWARDS],
            discounts=batch[AGENT_DISCOUNTS],
            alive=alive,
            next_alive=next_alive,
            weights=batch.get(WEIGHTS),
        )
        actor_loss = losses["actor_loss"]
        if module.discrete and config.actor_regularization:
            # MADDPG's regulariser: keeps the logits from saturating the softmax, where
            # the straight-through gradient vanishes and the actor freezes.
            penalty = fwd_out[ACTOR_OUT][alive].pow(2).mean()
            actor_loss = actor_loss + config.actor_regularization * penalty
            self.metrics.log_value((module_id, "actor_penalty"), penalty, window=1)
        if config.actor_proximal_coeff:
            with torch.no_grad():
                anchor = module.actor_out(batch[Columns.OBS], target=True)
            drift = proximal_penalty(fwd_out[ACTOR_OUT], anchor, alive)
            actor_loss = actor_loss + config.actor_proximal_coeff * drift
            self.metrics.log_value((module_id, "actor_drift"), drift, window=1)
        self._temp_losses[(module_id, CRITIC)] = losses["critic_loss"]
        self._temp_losses[(module_id, ACTOR)] = actor_loss

        alive_q = fwd_out[Q_VALUES][alive]
        if self.reports_td_errors:
            # Per-row TD errors, for the buffer's priorities.
            self.metrics.log_value(
                (module_id, TD_ERROR_KEY),
                losses["td_error"].abs().sum(-1).detach(),
                reduce="item_series",
            )
        self.metrics.log_dict(
            {
                "critic_loss": losses["critic_loss"],
                "actor_loss": losses["actor_loss"],
                "q_mean": alive_q.mean(),
                "q_max": alive_q.max(),
                "q_min": alive_q.min(),
                "exploration_sigma": module.exploration_sigma,
                "gumbel_temperature": module.gumbel_temperature,
            },
            key=module_id,
            window=1,
        )
        return losses["critic_loss"] + actor_loss

    @override(TorchLearner)
    def compute_gradients(self, loss_per_module: dict[ModuleID, TensorType], **kwargs) -> ParamDict:
        """Each optimizer gets the gradient of its own loss only (critic: TD
        loss, actor: policy loss), via ``torch.autograd.grad``; the module's
        forward pass keeps the two losses' graphs apart."""
        grads = {}
        for module_id in set(loss_per_module) - {ALL_MODULES}:
            for name, optim in self.get_optimizers_for_module(module_id):
                loss = self._temp_losses.pop((module_id, name))
                params = self.filter_param_dict_for_optimizer(self._params, optim)
                values = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
                for (pid, param), grad in zip(params.items(), values, strict=True):
                    grads[pid] = torch.zeros_like(param) if grad is None else grad
        self._temp_losses.clear()
        return grads

    @override(TorchLearner)
    def apply_gradients(self, gradients_dict: ParamDict) -> None:
        """Steps the critic every update, the actor every ``policy_delay``-th
        (its parameters have no gradient otherwise, so Adam leaves them and
        its moments alone)."""
        self.critic_updates += 1
        if not self.actor_due():
            for module_id in self.module.keys():
                actor_params = self.filter_param_dict_for_optimizer(
                    self._params, self.get_optimizer(module_id, ACTOR)
                )
                for pid, param in actor_params.items():
                    gradients_dict.pop(pid, None)
                    param.grad = None
        super().apply_gradients(gradients_dict)

    @override(DQNLearner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        """Polyak-updates the targets after the actor's updates (every
        ``target_network_update_freq`` env steps, as RLlib's DQN learner), anneals
        the noise and the Gumbel-softmax temperature, and ends the random-action
        warm-up."""
        super(DQNLearner, self).after_gradient_based_update(timesteps=timesteps)  # the lr schedules
        step = timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0) or 0
        for module_id, module in self.module._rl_modules.items():
            config = self.config.get_config_for_module(module_id)
            module = module.unwrapped()
            if self.actor_due() and step - self.last_update_ts_by_mid[module_id] >= config.target_network_update_freq:
                for main_net, target_net in module.get_target_network_pairs():
                    polyak_update(main_net, target_net, config.tau)
                self.metrics.log_value((module_id, NUM_TARGET_UPDATES), 1, reduce="lifetime_sum")
                self.last_update_ts_by_mid[module_id] = step
                self.metrics.log_value((module_id, LAST_TARGET_UPDATE_TS), step, reduce="max")
            module.exploration_sigma.fill_(config.exploration_noise_at(step))
            module.gumbel_temperature.fill_(config.gumbel_temperature_at(step))
            module.uniform_actions.fill_(0.0)  # learning has started: the actor acts
