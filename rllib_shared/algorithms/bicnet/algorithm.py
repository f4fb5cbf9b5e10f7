"""BiCNet (Peng et al. 2017) as an off-policy RLlib algorithm on the new API stack.

Deterministic BiCNet actor, per-agent BiCNet critic on the joint action,
vectorised deterministic policy gradient, target networks, replay. RLlib
2.60 has no DDPG or TD3 on its new stack; this reuses what it has:

- the training loop of RLlib's DQN (sample -> replay buffer -> learner update
  -> weight sync, with ``training_intensity`` and
  ``num_steps_sampled_before_learning_starts``);
- RLlib's multi-agent episode replay buffers (:mod:`.replay`);
- RLlib's target-network helpers and Polyak averaging (``tau``);
- the team layout (:mod:`rllib_shared.team`): one RLlib agent is a whole
  group of agents, so a replayed transition holds every agent's observation
  and action of the same step, as the joint-action critic needs. ``env`` is
  a ``<name>-team`` env; a plain registered name such as ``guessing_sum_v0``
  is mapped to its team env, and the policies to its groups, for you.

Use it by name once ``rllib_shared`` is imported::

    tune.run("BiCNet", config={"env": "guessing_sum_v0", "env_config": {"continuous": True}})
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.algorithms.dqn.dqn import DQN
from ray.rllib.connectors.common.add_observations_from_episodes_to_batch import (
    AddObservationsFromEpisodesToBatch,
)
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.annotations import override

from rllib_shared.algorithms.bicnet.module import (
    EXPLORATION_NOISE_KEY,
    GUMBEL_TEMPERATURE_KEY,
    TARGET_NOISE_CLIP_KEY,
    TARGET_NOISE_KEY,
    TWIN_Q_KEY,
    BiCNetDDPGTorchRLModule,
)
from rllib_shared.algorithms.bicnet.replay import REPLAY_BUFFERS
from rllib_shared.envs.registry import (
    ENV_NAMES,
    TEAM_SUFFIX,
    base_env_name,
    team_env_name,
)
from rllib_shared.errors import ConfigError
from rllib_shared.policy_mapping import DEFAULT_POLICY_IDS
from rllib_shared.team.connectors import AddTeamRewardsFromInfos
from rllib_shared.team.metrics import log_pettingzoo_agent_returns
from rllib_shared.team.spec import team_spec

ALGO_NAME = "BiCNet"


class BiCNetAlgorithmConfig(AlgorithmConfig):
    """Settings of the BiCNet algorithm (RLlib's common settings plus these).

    Example:
        >>> config = BiCNetAlgorithmConfig().training(tau=0.01, actor_lr=1e-4)
        >>> config.tau, config.exploration_noise_at(0)
        (0.01, 0.3)
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or BiCNet)
        self.actor_lr = 1e-3
        """Adam learning rate of the actor."""
        self.critic_lr = 1e-3
        """Adam learning rate of the critic."""
        self.lr = None  # the two rates above replace RLlib's single `lr`
        self.tau = 0.01
        """Polyak factor: target <- tau * main + (1 - tau) * target after each update."""
        self.target_network_update_freq = 0
        """Env steps between target updates (0: after every update)."""
        self.exploration_noise = 0.3
        """Initial std of the Gaussian action noise (actions live in [-1, 1])."""
        self.final_exploration_noise = 0.05
        """Noise std after the decay."""
        self.exploration_noise_steps = 50_000
        """Env steps over which the noise std (and the Gumbel temperature) decay linearly."""
        self.gumbel_temperature = 1.0
        """Discrete actions: initial temperature of the straight-through Gumbel-softmax."""
        self.final_gumbel_temperature = 0.5
        """Discrete actions: the temperature after ``exploration_noise_steps``."""
        self.twin_q = False
        """TD3: a second critic; targets take the smaller of the two target values."""
        self.policy_delay = 1
        """TD3: the actor and the targets update once per this many critic updates."""
        self.target_noise = 0.0
        """TD3: std of the Gaussian noise on the target actor's actions (0: none; real actions only)."""
        self.target_noise_clip = 0.5
        """TD3: that noise is clipped to [-target_noise_clip, target_noise_clip]."""
        self.replay_buffer_config = {"type": "EpisodeReplayBuffer", "capacity": 100_000}
        self.num_steps_sampled_before_learning_starts = 1_000
        self.training_intensity = None
        """Replayed / sampled transitions; None: one update per sampled fragment."""
        self.store_buffer_in_checkpoints = False
        self.n_step = 1  # DQN's loop reads it; per-agent n-step returns are not built
        self.burn_in_len = 0  # DQN's loop reads it; the module is not recurrent
        self.train_batch_size_per_learner = 256
        self.rollout_fragment_length = 25
        self.min_sample_timesteps_per_iteration = 1_000
        self.min_time_s_per_iteration = None
        # Per-agent returns in the results, as for the multi-agent algorithms.
        self.callbacks_on_episode_end = log_pettingzoo_agent_returns

    @override(AlgorithmConfig)
    def training(
        self,
        *,
        actor_lr: float | NotProvided = NotProvided,
        critic_lr: float | NotProvided = NotProvided,
        tau: float | NotProvided = NotProvided,
        target_network_update_freq: int | NotProvided = NotProvided,
        exploration_noise: float | NotProvided = NotProvided,
        final_exploration_noise: float | NotProvided = NotProvided,
        exploration_noise_steps: int | NotProvided = NotProvided,
        gumbel_temperature: float | NotProvided = NotProvided,
        final_gumbel_temperature: float | NotProvided = NotProvided,
        twin_q: bool | NotProvided = NotProvided,
        policy_delay: int | NotProvided = NotProvided,
        target_noise: float | NotProvided = NotProvided,
        target_noise_clip: float | NotProvided = NotProvided,
        replay_buffer_config: dict | NotProvided = NotProvided,
        num_steps_sampled_before_learning_starts: int | NotProvided = NotProvided,
        training_intensity: float | None | NotProvided = NotProvided,
        store_buffer_in_checkpoints: bool | NotProvided = NotProvided,
        **kwargs,
    ) -> BiCNetAlgorithmConfig:
        super().training(**kwargs)
        options = {
            "actor_lr": actor_lr,
            "critic_lr": critic_lr,
            "tau": tau,
            "target_network_update_freq": target_network_update_freq,
            "exploration_noise": exploration_noise,
            "final_exploration_noise": final_exploration_noise,
            "exploration_noise_steps": exploration_noise_steps,
            "gumbel_temperature": gumbel_temperature,
            "final_gumbel_temperature": final_gumbel_temperature,
            "twin_q": twin_q,
            "policy_delay": policy_delay,
            "target_noise": target_noise,
            "target_noise_clip": target_noise_clip,
            "replay_buffer_config": replay_buffer_config,
            "num_steps_sampled_before_learning_starts": num_steps_sampled_before_learning_starts,
            "training_intensity": training_intensity,
            "store_buffer_in_checkpoints": store_buffer_in_checkpoints,
        }
        for name, value in options.items():
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    def _annealed(self, start: float, end: float, env_steps: int) -> float:
        if self.exploration_noise_steps <= 0:
            return float(end)
        frac = min(max(env_steps, 0) / self.exploration_noise_steps, 1.0)
        return float(start + frac * (end - start))

    def exploration_noise_at(self, env_steps: int) -> float:
        """The noise std after ``env_steps`` sampled env steps (linear decay)."""
        return self._annealed(self.exploration_noise, self.final_exploration_noise, env_steps)

    def gumbel_temperature_at(self, env_steps: int) -> float:
        """The Gumbel-softmax temperature after ``env_steps`` sampled env steps (linear)."""
        return self._annealed(self.gumbel_temperature, self.final_gumbel_temperature, env_steps)

    @override(AlgorithmConfig)
    def validate(self) -> None:
        # A registered PettingZoo name means its team env (one RLlib agent per group).
        if isinstance(self.env, str):
            if base_env_name(self.env) not in ENV_NAMES:
                raise ConfigError(
                    f"algo BiCNet trains on a registered PettingZoo env or its team version; "
                    f"got env {self.env!r}, valid names: {', '.join(ENV_NAMES)} (each also "
                    f"as <name>{TEAM_SUFFIX})"
                )
            self.env = team_env_name(self.env)
            if set(self.policies) <= DEFAULT_POLICY_IDS:
                # A plain dict without policies: the team env's groups decide them.
                spec = team_spec(self.env, self.env_config)
                self.multi_agent(policies=spec.policies, policy_mapping_fn=spec.policy_mapping_fn)
        buffer_type = self.replay_buffer_config.get("type")
        if buffer_type in REPLAY_BUFFERS:
            self.replay_buffer_config = {**self.replay_buffer_config, "type": REPLAY_BUFFERS[buffer_type]}
        elif buffer_type not in REPLAY_BUFFERS.values():
            raise ConfigError(
                f"replay_buffer_config.type must be one of {', '.join(REPLAY_BUFFERS)}, got "
                f"{buffer_type!r}"
            )
        if self.seed is not None:  # RLlib's buffers sample from an unseeded generator
            self.replay_buffer_config = {"seed": self.seed, **self.replay_buffer_config}
        super().validate()
        if self.lr is not None:
            raise ConfigError(
                "algo BiCNet has two learning rates: set actor_lr and critic_lr, not lr"
            )
        if self.n_step != 1:
            raise ConfigError(
                f"algo BiCNet supports n_step 1 only (got {self.n_step}): its per-agent "
                "rewards are read one step at a time"
            )
        if not self.normalize_actions:
            raise ConfigError(
                "algo BiCNet needs normalize_actions: true (its actor outputs tanh actions in "
                "[-1, 1], which RLlib maps onto the env's action bounds)"
            )
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau!r}")
        for name in ("exploration_noise", "final_exploration_noise"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("gumbel_temperature", "final_gumbel_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a number > 0, got {value!r}")
        if not isinstance(self.twin_q, bool):
            raise ConfigError(f"twin_q must be true or false (unquoted), got {self.twin_q!r}")
        if isinstance(self.policy_delay, bool) or not isinstance(self.policy_delay, int) or self.policy_delay < 1:
            raise ConfigError(f"policy_delay must be an integer >= 1, got {self.policy_delay!r}")
        for name in ("target_noise", "target_noise_clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}")

    @override(AlgorithmConfig)
    def get_rollout_fragment_length(self, worker_index: int = 0) -> int:
        return self.rollout_fragment_length

    @override(AlgorithmConfig)
    def get_default_rl_module_spec(self) -> RLModuleSpec:
        return RLModuleSpec(module_class=BiCNetDDPGTorchRLModule)

    @override(AlgorithmConfig)
    def get_default_learner_class(self):
        from rllib_shared.algorithms.bicnet.learner import BiCNetTorchLearner

        return BiCNetTorchLearner

    @override(AlgorithmConfig)
    def build_learner_connector(self, input_observation_space, input_action_space, device=None):
        pipeline = super().build_learner_connector(
            input_observation_space=input_observation_space,
            input_action_space=input_action_space,
            device=device,
        )
        pipeline.insert_after(AddObservationsFromEpisodesToBatch, AddTeamRewardsFromInfos())
        return pipeline

    @property
    @override(AlgorithmConfig)
    def _model_config_auto_includes(self) -> dict[str, Any]:
        return super()._model_config_auto_includes | {
            EXPLORATION_NOISE_KEY: self.exploration_noise,
            GUMBEL_TEMPERATURE_KEY: self.gumbel_temperature,
            TWIN_Q_KEY: self.twin_q,
            TARGET_NOISE_KEY: self.target_noise,
            TARGET_NOISE_CLIP_KEY: self.target_noise_clip,
        }


class BiCNet(DQN):
    """BiCNet: off-policy, deterministic actor, per-agent joint-action critic.

    The training step is RLlib's DQN loop (sampling, replay, learner update,
    weight sync); the BiCNet parts are the config, the module and the learner.
    """

    @classmethod
    @override(DQN)
    def get_default_config(cls) -> BiCNetAlgorithmConfig:
        return BiCNetAlgorithmConfig()


def register_algorithm() -> None:
    """Registers ``"BiCNet"`` with Ray Tune (idempotent)."""
    from ray.tune import register_trainable

    register_trainable(ALGO_NAME, BiCNet)
