"""The BiCNet RLModule of the BiCNet algorithm: deterministic actor, per-agent Q.

One input row is the whole team at one step (the team env's observation
``(n_agents, features + 2)``, see :mod:`rllib_shared.team.env`), so the
critic sees every agent's action of that step, as BiCNet's critic needs:

- actor ``mu``: BiCNet net ``features -> action_dim`` per agent, then tanh, so
  actions lie in [-1, 1] and RLlib's action normalisation maps them onto the
  env's bounds; for real actions its output layer starts near zero (DDPG's
  small init), so the untrained team acts in the middle of the action range;
- critic ``Q``: BiCNet net over ``(features_i, a_i)`` per agent -> one value
  ``Q_i(s, a_1..a_n)`` per agent; the communication layer is what lets
  ``Q_i`` depend on the other agents' observations and actions;
- target copies of both (RLlib's ``TargetNetworkAPI``), updated by Polyak
  averaging in the learner;
- TD3's fixes (Fujimoto et al. 2018) as settings: with ``twin_q`` a second
  critic, and the target is the smaller of the two target critics' values;
  with ``target_noise`` the target actor's action gets clipped Gaussian noise
  (target policy smoothing; real actions only). The delayed actor and target
  updates (``policy_delay``) are the learner's;
- warm-up: with ``random_actions_before_learning_starts`` the env runners act
  uniformly at random until the learner's first update (TD3's and
  Stable-Baselines3's warm-up), so the critic's first data spans the action
  space rather than the untrained actor's corner of it;
- exploration: Gaussian noise on the actions (or, with ``exploration_noise_type:
  ou``, Ornstein-Uhlenbeck noise the env runners add; see :mod:`.exploration`)
  with a standard deviation held in the buffer ``exploration_sigma``. The
  learner anneals it and it reaches
  the env runners with the weights.

Discrete actions (MADDPG's recipe, Lowe et al. 2017): the actor outputs
logits per agent; the critic reads one-hot actions; the actor's gradient
flows through a straight-through Gumbel-softmax sample (one-hot forward, the
softmax at temperature ``gumbel_temperature`` backward; the learner anneals
the temperature). Env runners explore with a categorical sample (the
softmax of the logits), or with probability ``exploration_sigma`` a uniform
random action, so exploration never dies with a sharp softmax (epsilon-greedy
on top of softmax sampling, annealed like the real actions' noise); they act
greedily (argmax) in inference, and the target actor's action is its argmax.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, TargetNetworkAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override

from rllib_shared.errors import ConfigError
from rllib_shared.team.model import bicnet_config, team_features
from rllib_shared.nn import BiCNetConfig, start_near_zero
from rllib_shared.team.layout import split_team

EXPLORATION_NOISE_KEY = "exploration_noise"
"""model_config key (filled in by the algorithm config): the initial noise std."""
EXPLORATION_NOISE_TYPE_KEY = "exploration_noise_type"
"""model_config key (filled in by the algorithm config): "gaussian" noise here, or
"ou", added by the env runners' :class:`~rllib_shared.algorithms.bicnet.exploration.OrnsteinUhlenbeckNoise`."""
GUMBEL_TEMPERATURE_KEY = "gumbel_temperature"
"""model_config key (filled in by the algorithm config): the initial Gumbel-softmax temperature."""
RANDOM_WARMUP_KEY = "random_actions_before_learning_starts"
"""model_config key (filled in by the algorithm config): explore with uniformly
random actions until the learner's first update."""
TWIN_Q_KEY = "twin_q"
TARGET_NOISE_KEY = "target_noise"
TARGET_NOISE_CLIP_KEY = "target_noise_clip"
"""model_config keys (filled in by the algorithm config): TD3's twin critics and target smoothing."""
Q_VALUES_2 = "q_values_2"
ACTOR_OUT = "actor_out"
Q_VALUES = "q_values"
Q_POLICY = "q_policy"
Q_TARGET_NEXT = "q_target_next"


@contextlib.contextmanager
def frozen(net: torch.nn.Module) -> Iterator[None]:
    """Within the block autograd records no gradient for ``net``'s weights
    (gradients still flow through it to its inputs)."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def check_model(bicnet: BiCNetConfig) -> BiCNetConfig:
    """Rejects the model options that do not apply to a joint-action critic."""
    if bicnet.share_actor_critic:
        raise ConfigError(
            "model.share_actor_critic does not apply to algo BiCNet: its critic reads the "
            "joint action, its actor does not; remove the key"
        )
    if bicnet.normalize_obs:
        raise ConfigError(
            "model.normalize_obs is not supported by algo BiCNet yet (its actor, critic and "
            "target networks would need one shared set of statistics); remove the key or use algo PPO"
        )
    if bicnet.encoder != "mlp":
        raise ConfigError(
            "model.encoder: cnn is not supported by algo BiCNet yet (its critic reads each agent's "
            "observation and action in one flat row); use algo PPO, APPO or IMPALA for image observations"
        )
    return bicnet


def check_action_space(joint: gym.Space, n_agents: int) -> tuple[int, bool]:
    """A group's per-agent action width and whether actions are discrete: a
    1-D Box per agent (real actions) or one Discrete(k) per agent (one-hot of k)."""
    if isinstance(joint, gym.spaces.Box) and len(joint.shape) == 1 and joint.shape[0] % n_agents == 0:
        return joint.shape[0] // n_agents, False
    if isinstance(joint, gym.spaces.MultiDiscrete) and joint.nvec.shape == (n_agents,) and len(set(joint.nvec)) == 1:
        return int(joint.nvec[0]), True
    raise ConfigError(
        f"algo BiCNet needs one 1-D Box or one Discrete action space per agent, but the team's joint "
        f"action space is {joint}; use algo PPO for other action spaces"
    )


class BiCNetDDPGTorchRLModule(TorchRLModule, TargetNetworkAPI, InferenceOnlyAPI):
    """Deterministic BiCNet actor and per-agent joint-action BiCNet critic.

    Observation ``Box(n_agents, features + 2)``, action ``Box(n_agents * A)``
    or ``MultiDiscrete([A] * n_agents)`` (discrete: ``A`` logits per agent).
    ``model_config`` holds the :class:`~rllib_shared.nn.BiCNetConfig` fields.
    Env runners (``inference_only``) build the actor only.
    """

    @override(RLModule)
    def setup(self):
        options = dict(self.model_config or {})
        sigma = float(options.pop(EXPLORATION_NOISE_KEY, 0.1))
        self.noise_type = options.pop(EXPLORATION_NOISE_TYPE_KEY, "gaussian")
        temperature = float(options.pop(GUMBEL_TEMPERATURE_KEY, 1.0))
        warmup = bool(options.pop(RANDOM_WARMUP_KEY, False))
        self.twin_q = bool(options.pop(TWIN_Q_KEY, False))
        self.target_noise = float(options.pop(TARGET_NOISE_KEY, 0.0))
        self.target_noise_clip = float(options.pop(TARGET_NOISE_CLIP_KEY, 0.5))
        self.bicnet = check_model(bicnet_config(options))
        self.features = team_features(self.observation_space)
        self.n_agents = self.observation_space.shape[0]
        self.action_dim, self.discrete = check_action_space(self.action_space, self.n_agents)
        if self.discrete and self.noise_type != "gaussian":
            raise ConfigError(
                f"exploration_noise_type: {self.noise_type} is for real actions; discrete actions "
                "explore by sampling the softmax of the logits: remove the setting"
            )
        self.actor = self.bicnet.build_net(self.features, self.action_dim, self.n_agents)
        if not self.discrete:
            # The untrained actor acts in the middle of the action range, not in a random
            # corner of it (DDPG's small output-layer init). Not for logits: on discrete
            # guessing_sum it left the actor on one answer for every state (-28.1 at 100k
            # env steps, against -7.7 without).
            start_near_zero(self.actor.head)
        if not self.inference_only:
            self.critic = self.bicnet.build_net(self.features + self.action_dim, 1, self.n_agents, critic=True)
            if self.twin_q:
                self.critic_2 = self.bicnet.build_net(self.features + self.action_dim, 1, self.n_agents, critic=True)
        self.register_buffer("exploration_sigma", torch.tensor(sigma, dtype=torch.float32))
        self.register_buffer("gumbel_temperature", torch.tensor(temperature, dtype=torch.float32))
        # 1 until the learner's first update clears it; reaches the env runners with the weights.
        self.register_buffer("uniform_actions", torch.tensor(float(warmup)))

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return ["critic", "critic_2", "_target_actor", "_target_critic", "_target_critic_2"]

    def critics(self) -> list[torch.nn.Module]:
        """The critic, and the second one with ``twin_q``."""
        return [self.critic, self.critic_2] if self.twin_q else [self.critic]

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        self._target_actor = make_target_network(self.actor)
        self._target_critic = make_target_network(self.critic)
        if self.twin_q:
            self._target_critic_2 = make_target_network(self.critic_2)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self) -> list[tuple[torch.nn.Module, torch.nn.Module]]:
        pairs = [(self.actor, self._target_actor), (self.critic, self._target_critic)]
        if self.twin_q:
            pairs.append((self.critic_2, self._target_critic_2))
        return pairs

    # -- the networks on team tensors --------------------------------------------

    def actor_out(self, obs: torch.Tensor, *, target: bool = False) -> torch.Tensor:
        """obs ``(B, n, features + 2)`` -> ``(B, n, A)``: actions in [-1, 1], or logits if discrete."""
        features, alive = split_team(obs)
        out = (self._target_actor if target else self.actor)(features, alive)
        return out if self.discrete else torch.tanh(out)

    def policy(self, obs: torch.Tensor, *, target: bool = False, relaxed: bool = False) -> torch.Tensor:
        """The actions the critic reads, ``(B, n, A)``: real actions, or one-hot
        ones if discrete (the argmax; with ``relaxed`` a straight-through
        Gumbel-softmax sample, so the critic's gradient reaches the logits)."""
        return self.critic_actions(self.actor_out(obs, target=target), relaxed=relaxed)

    def critic_actions(self, actor_out: torch.Tensor, *, relaxed: bool = False) -> torch.Tensor:
        """:meth:`policy` from the actor's output ``(B, n, A)``."""
        if not self.discrete:
            return actor_out
        if relaxed:
            return F.gumbel_softmax(actor_out, tau=float(self.gumbel_temperature), hard=True)
        return F.one_hot(actor_out.argmax(-1), self.action_dim).to(actor_out.dtype)

    def q_values(
        self, obs: torch.Tensor, actions: torch.Tensor, *, target: bool = False, second: bool = False
    ) -> torch.Tensor:
        """Per-agent Q: obs ``(B, n, features + 2)``, joint actions ``(B, n, A)`` -> ``(B, n)``,
        of the (target) critic, or of the second one with ``second``.

        Dead agents' actions are zeroed; the communication layer skips them.
        """
        features, alive = split_team(obs)
        actions = actions * alive.unsqueeze(-1).to(actions.dtype)
        if second:
            critic = self._target_critic_2 if target else self.critic_2
        else:
            critic = self._target_critic if target else self.critic
        return critic(torch.cat([features, actions], dim=-1), alive).squeeze(-1)

    def target_actions(self, next_obs: torch.Tensor) -> torch.Tensor:
        """The target actor's actions ``(B, n, A)``, with clipped Gaussian noise
        when ``target_noise`` > 0 (TD3's target policy smoothing)."""
        actions = self.policy(next_obs, target=True)
        if self.target_noise > 0 and not self.discrete:
            noise = (self.target_noise * torch.randn_like(actions)).clamp(-self.target_noise_clip,
                                                                          self.target_noise_clip)
            actions = (actions + noise).clamp(-1.0, 1.0)
        return actions

    def _team_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Replayed actions as the critic reads them: ``(B, n * A)`` real or
        ``(B, n)`` discrete -> ``(B, n, A)`` (one-hot if discrete)."""
        if self.discrete:
            return F.one_hot(actions.long(), self.action_dim).float()
        return actions.reshape(*actions.shape[:-1], self.n_agents, self.action_dim)

    # -- RLlib forward passes -------------------------------------------------------

    @override(RLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """obs ``(B, n, features + 2)`` -> ACTIONS ``(B, n * A)``, no noise (discrete:
        ``(B, n)``, the argmax)."""
        out = self.actor_out(batch[Columns.OBS])
        return {Columns.ACTIONS: out.argmax(-1) if self.discrete else out.flatten(-2)}

    @override(RLModule)
    def _forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """obs ``(B, n, features + 2)`` -> ACTIONS ``(B, n * A)``: clip(mu + N(0, sigma^2))
        (discrete: ``(B, n)`` sampled from the softmax of the logits, or with
        probability sigma uniformly at random; with OU noise ``mu``, to which
        the env runner adds each episode's noise). Before the learner's first
        update, with ``random_actions_before_learning_starts``: uniformly random
        actions."""
        out = self.actor_out(batch[Columns.OBS])
        if self.uniform_actions:
            if self.discrete:
                return {Columns.ACTIONS: torch.randint(self.action_dim, out.shape[:-1])}
            return {Columns.ACTIONS: (2 * torch.rand_like(out) - 1).flatten(-2)}
        if self.discrete:
            sampled = torch.distributions.Categorical(logits=out).sample()
            uniform = torch.randint_like(sampled, self.action_dim)
            return {Columns.ACTIONS: torch.where(torch.rand(sampled.shape) < self.exploration_sigma, uniform, sampled)}
        if self.noise_type == "ou":
            return {Columns.ACTIONS: out.flatten(-2)}
        noisy = out + self.exploration_sigma * torch.randn_like(out)
        return {Columns.ACTIONS: noisy.clamp(-1.0, 1.0).flatten(-2)}

    @override(RLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """obs ``(B, n, features + 2)``, ACTIONS ``(B, n * A)`` (discrete ``(B, n)``) ->
        Q_VALUES ``Q_i(s, a)`` and Q_POLICY ``Q_i(s, mu(s))``, both ``(B, n)``, and
        ACTOR_OUT, the actor's actions or logits ``(B, n, A)`` (and Q_VALUES_2,
        the second critic's ``Q_i(s, a)``, with ``twin_q``)."""
        obs = batch[Columns.OBS]
        actions = self._team_actions(batch[Columns.ACTIONS])
        actor_out = self.actor_out(obs)
        policy_actions = self.critic_actions(actor_out, relaxed=True)
        q_values = self.q_values(obs, actions)
        # The actor's loss moves the actor only: with the critic's weights frozen
        # for this pass its backward computes no weight gradients, and the two
        # losses' graphs share nothing (SpinningUp's DDPG does the same).
        with frozen(self.critic):
            q_policy = self.q_values(obs, policy_actions)
        out = {Q_VALUES: q_values, Q_POLICY: q_policy, ACTOR_OUT: actor_out}
        if self.twin_q:
            out[Q_VALUES_2] = self.q_values(obs, actions, second=True)
        return out

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """NEXT_OBS ``(B, n, features + 2)`` -> Q_TARGET_NEXT ``Q'_i(s', mu'(s'))`` ``(B, n)``
        (with ``twin_q`` the smaller of the two target critics' values)."""
        next_obs = batch[Columns.NEXT_OBS]
        next_actions = self.target_actions(next_obs)
        q_next = self.q_values(next_obs, next_actions, target=True)
        if self.twin_q:
            q_next = torch.minimum(q_next, self.q_values(next_obs, next_actions, target=True, second=True))
        return {Q_TARGET_NEXT: q_next}
