"""BiCNet (Peng et al. 2017) as an off-policy RLlib algorithm on the new API stack.

Deterministic BiCNet actor, per-agent BiCNet critic on the joint action,
vectorised deterministic policy gradient, target networks, replay. RLlib
2.60 has no DDPG or TD3 on its new stack; this reuses what it has:

- the shape of RLlib's DQN training loop (sample -> replay buffer -> learner
  update -> weight sync, with ``training_intensity`` and
  ``num_steps_sampled_before_learning_starts``), with flat team transitions
  in place of episodes (:mod:`.replay`): sampled episodes become per-agent
  n-step transitions once, and each update gets one array batch;
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

import functools
import logging
from typing import Any

import numpy as np
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.algorithms.dqn.dqn import DQN, calculate_rr_weights
from ray.rllib.core import ALL_MODULES
from ray.rllib.connectors.module_to_env import NormalizeAndClipActions
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    REPLAY_BUFFER_ADD_DATA_TIMER,
    REPLAY_BUFFER_RESULTS,
    REPLAY_BUFFER_SAMPLE_TIMER,
    REPLAY_BUFFER_UPDATE_PRIOS_TIMER,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TD_ERROR_KEY,
    TIMERS,
)
from ray.rllib.utils.numpy import convert_to_numpy

from rllib_shared.algorithms.bicnet.exploration import NOISE_TYPES, OrnsteinUhlenbeckNoise
from rllib_shared.algorithms.bicnet.module import (
    EXPLORATION_NOISE_KEY,
    EXPLORATION_NOISE_TYPE_KEY,
    GUMBEL_TEMPERATURE_KEY,
    RANDOM_WARMUP_KEY,
    TARGET_NOISE_CLIP_KEY,
    TARGET_NOISE_KEY,
    TWIN_Q_KEY,
    BiCNetDDPGTorchRLModule,
)
from rllib_shared.algorithms.bicnet.replay import REPLAY_BUFFERS, PrioritizedTeamReplayBuffer
from rllib_shared.registry import (
    ENV_NAMES,
    TEAM_SUFFIX,
    base_env_name,
    team_env_name,
)
from rllib_shared.errors import ConfigError, check_choice, check_keys
from rllib_shared.policy_mapping import DEFAULT_POLICY_IDS
from rllib_shared.team.credit import TEAM_REWARD_KEY
from rllib_shared.team.metrics import log_pettingzoo_agent_returns
from rllib_shared.team.spec import team_spec

logger = logging.getLogger(__name__)

ALGO_NAME = "BiCNet"
REPLAY_BUFFER_STATE = "replay_buffer"
"""Key of the replay buffer's transitions in the algorithm's state (checkpoints)."""


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
        """Initial std of the action noise (actions live in [-1, 1])."""
        self.exploration_noise_type = "gaussian"
        """Real actions: "gaussian" (independent each step) or "ou" (Ornstein-Uhlenbeck:
        correlated in time, per env episode, from 0 at its start; DDPG's choice)."""
        self.ou_theta = 0.15
        """With "ou": how fast the noise returns to 0 (x <- x - theta x + sigma N(0, 1))."""
        self.final_exploration_noise = 0.05
        """Noise std after the decay."""
        self.exploration_noise_steps = 50_000
        """Env steps over which the noise std (and the Gumbel temperature) decay linearly."""
        self.gumbel_temperature = 1.0
        """Discrete actions: initial temperature of the straight-through Gumbel-softmax."""
        self.final_gumbel_temperature = 0.5
        """Discrete actions: the temperature after ``exploration_noise_steps``."""
        self.actor_regularization = 1e-3
        """Discrete actions: the actor loss adds this times the mean squared logit
        (MADDPG's regulariser; without it the softmax saturates and the actor
        freezes). Real actions: no effect (the same penalty on the pre-tanh
        actions did not remove simple_spread's early dip)."""
        self.actor_proximal_coeff = 0.0
        """The actor loss adds this times ``mean ||mu(s) - mu'(s)||^2`` over alive
        agents (``mu'``: the target actor; logits if discrete), so the actor moves
        only as far from its slowly moving target as the critic's action gradient
        is worth (0: off)."""
        self.twin_q = False
        """TD3: a second critic; targets take the smaller of the two target values."""
        self.policy_delay = 1
        """TD3: the actor and the targets update once per this many critic updates."""
        self.target_noise = 0.0
        """TD3: std of the Gaussian noise on the target actor's actions (0: none; real actions only)."""
        self.target_noise_clip = 0.5
        """TD3: that noise is clipped to [-target_noise_clip, target_noise_clip]."""
        self.replay_buffer_config = {"type": "TeamReplayBuffer", "capacity": 100_000}
        """``type``: TeamReplayBuffer (uniform) or PrioritizedTeamReplayBuffer
        (``alpha``, ``beta``); RLlib's names EpisodeReplayBuffer and
        PrioritizedEpisodeReplayBuffer mean the same two. ``capacity``:
        transitions kept per module."""
        self.num_steps_sampled_before_learning_starts = 1_000
        self.random_actions_before_learning_starts = False
        """Env runners act uniformly at random until learning starts (TD3's and
        Stable-Baselines3's warm-up); false: the untrained actor with noise.
        Off by default: on continuous simple_spread (seed 0) a 10k-step random
        warm-up made the early dip shallower and shorter but did not remove it."""
        self.training_intensity = None
        """Replayed / sampled transitions; None: one update per sampled fragment."""
        self.store_buffer_in_checkpoints = False
        self.overlap_sampling = False
        """With remote env runners (``num_env_runners`` >= 1): they sample the
        next fragments while the learner updates on the replay buffer, so
        sampling and learning use two cores at once. The fragments are taken
        with the same weights as without it; the update they overlap with
        replays the buffer as it was before them."""
        self.n_step = 1
        """Steps per return: agent ``i``'s target sums its next ``n_step``
        rewards (cut where it is done) and bootstraps after them."""
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
        exploration_noise_type: str | NotProvided = NotProvided,
        ou_theta: float | NotProvided = NotProvided,
        gumbel_temperature: float | NotProvided = NotProvided,
        final_gumbel_temperature: float | NotProvided = NotProvided,
        actor_regularization: float | NotProvided = NotProvided,
        actor_proximal_coeff: float | NotProvided = NotProvided,
        twin_q: bool | NotProvided = NotProvided,
        policy_delay: int | NotProvided = NotProvided,
        target_noise: float | NotProvided = NotProvided,
        target_noise_clip: float | NotProvided = NotProvided,
        replay_buffer_config: dict | NotProvided = NotProvided,
        num_steps_sampled_before_learning_starts: int | NotProvided = NotProvided,
        random_actions_before_learning_starts: bool | NotProvided = NotProvided,
        training_intensity: float | None | NotProvided = NotProvided,
        store_buffer_in_checkpoints: bool | NotProvided = NotProvided,
        overlap_sampling: bool | NotProvided = NotProvided,
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
            "exploration_noise_type": exploration_noise_type,
            "ou_theta": ou_theta,
            "gumbel_temperature": gumbel_temperature,
            "final_gumbel_temperature": final_gumbel_temperature,
            "actor_regularization": actor_regularization,
            "actor_proximal_coeff": actor_proximal_coeff,
            "twin_q": twin_q,
            "policy_delay": policy_delay,
            "target_noise": target_noise,
            "target_noise_clip": target_noise_clip,
            "replay_buffer_config": replay_buffer_config,
            "num_steps_sampled_before_learning_starts": num_steps_sampled_before_learning_starts,
            "random_actions_before_learning_starts": random_actions_before_learning_starts,
            "training_intensity": training_intensity,
            "store_buffer_in_checkpoints": store_buffer_in_checkpoints,
            "overlap_sampling": overlap_sampling,
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
        self.replay_buffer_config = self._checked_replay_buffer_config()
        super().validate()
        if self.lr is not None:
            raise ConfigError(
                "algo BiCNet has two learning rates: set actor_lr and critic_lr, not lr"
            )
        if isinstance(self.n_step, bool) or not isinstance(self.n_step, int) or self.n_step < 1:
            raise ConfigError(f"n_step must be an integer >= 1, got {self.n_step!r}")
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
        check_choice(self.exploration_noise_type, NOISE_TYPES, "exploration_noise_type")
        if isinstance(self.ou_theta, bool) or not isinstance(self.ou_theta, (int, float)) or not 0 < self.ou_theta <= 1:
            raise ConfigError(f"ou_theta must be a number in (0, 1], got {self.ou_theta!r}")
        for name in ("gumbel_temperature", "final_gumbel_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a number > 0, got {value!r}")
        for name in ("twin_q", "random_actions_before_learning_starts", "overlap_sampling"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false (unquoted), got {getattr(self, name)!r}")
        if isinstance(self.policy_delay, bool) or not isinstance(self.policy_delay, int) or self.policy_delay < 1:
            raise ConfigError(f"policy_delay must be an integer >= 1, got {self.policy_delay!r}")
        if self.overlap_sampling and self.num_env_runners < 1 and not self.in_evaluation:
            raise ConfigError(
                "overlap_sampling: true needs remote env runners, which sample in their own processes "
                "while the learner updates; set num_env_runners: 1 (or more), or remove overlap_sampling"
            )
        for name in ("target_noise", "target_noise_clip", "actor_regularization", "actor_proximal_coeff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}")

    def uses_prioritized_replay(self) -> bool:
        """Whether the replay buffer is prioritised (the learner then reports per-row TD errors)."""
        return issubclass(_replay_buffer_class(self.replay_buffer_config), PrioritizedTeamReplayBuffer)

    def _checked_replay_buffer_config(self) -> dict[str, Any]:
        """``replay_buffer_config`` checked, with the buffer's class path (how
        RLlib builds it) and the run's seed unless it has one."""
        cls = _replay_buffer_class(self.replay_buffer_config)
        config = dict(self.replay_buffer_config or {})
        buffer_type = config.pop("type", "TeamReplayBuffer")
        prioritized = issubclass(cls, PrioritizedTeamReplayBuffer)
        if not prioritized and {"alpha", "beta"} & set(config):
            raise ConfigError(
                f"replay_buffer_config: alpha and beta are prioritised replay's settings, but type is "
                f"{buffer_type}; set type: PrioritizedTeamReplayBuffer or remove them"
            )
        check_keys(config, ("capacity", "seed") + (("alpha", "beta") if prioritized else ()),
                   f"replay_buffer_config of {buffer_type}")
        config.setdefault("seed", self.seed)
        cls(**config)  # checks the values; an empty buffer allocates nothing
        return {**config, "type": f"{cls.__module__}.{cls.__name__}"}

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
    def build_module_to_env_connector(self, env=None, spaces=None):
        pipeline = super().build_module_to_env_connector(env, spaces)
        if self.exploration_noise_type == "ou":
            pipeline.insert_before(NormalizeAndClipActions, OrnsteinUhlenbeckNoise(theta=self.ou_theta))
        return pipeline

    @property
    @override(AlgorithmConfig)
    def _model_config_auto_includes(self) -> dict[str, Any]:
        return super()._model_config_auto_includes | {
            EXPLORATION_NOISE_KEY: self.exploration_noise,
            EXPLORATION_NOISE_TYPE_KEY: self.exploration_noise_type,
            GUMBEL_TEMPERATURE_KEY: self.gumbel_temperature,
            TWIN_Q_KEY: self.twin_q,
            RANDOM_WARMUP_KEY: self.random_actions_before_learning_starts,
            TARGET_NOISE_KEY: self.target_noise,
            TARGET_NOISE_CLIP_KEY: self.target_noise_clip,
        }


def _replay_buffer_class(replay_buffer_config: dict[str, Any] | None) -> type:
    """The class ``replay_buffer_config.type`` names (a name or a class path)."""
    buffer_type = (replay_buffer_config or {}).get("type", "TeamReplayBuffer")
    paths = {f"{c.__module__}.{c.__name__}": c for c in REPLAY_BUFFERS.values()}
    cls = REPLAY_BUFFERS.get(buffer_type) or paths.get(buffer_type) if isinstance(buffer_type, str) else None
    if cls is None:
        raise ConfigError(
            f"replay_buffer_config.type must be one of {', '.join(REPLAY_BUFFERS)}, got {buffer_type!r}"
        )
    return cls


class BiCNet(DQN):
    """BiCNet: off-policy, deterministic actor, per-agent joint-action critic.

    The training step is RLlib's DQN loop (sampling, replay, learner update,
    weight sync) on flat team transitions; the BiCNet parts are the config,
    the module, the learner and the replay buffer.
    """

    @classmethod
    @override(DQN)
    def get_default_config(cls) -> BiCNetAlgorithmConfig:
        return BiCNetAlgorithmConfig()

    @override(DQN)
    def get_state(self, components=None, *, not_components=None, **kwargs) -> dict[str, Any]:
        """RLlib's algorithm state, plus the replay buffer's transitions with
        ``store_buffer_in_checkpoints`` (RLlib's new stack saves no buffer)."""
        state = super().get_state(components, not_components=not_components, **kwargs)
        if self.config.store_buffer_in_checkpoints and self._check_component(
            REPLAY_BUFFER_STATE, components, not_components
        ):
            state[REPLAY_BUFFER_STATE] = self.local_replay_buffer.get_state()
        return state

    @override(DQN)
    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if REPLAY_BUFFER_STATE in state:
            self.local_replay_buffer.set_state(state[REPLAY_BUFFER_STATE])

    @override(DQN)
    def training_step(self) -> None:
        """Sample -> add transitions -> (once learning starts) replay and update,
        as often as ``training_intensity`` asks -> sync the env runners' weights.
        With ``overlap_sampling`` the env runners sample while the learner
        updates, and their fragments join the buffer after the update. The
        timers of each part are in the results under ``timers`` (with
        ``overlap_sampling`` the sampling timer counts only the wait after the
        update)."""
        config = self.config
        store_weight, train_weight = calculate_rr_weights(config)
        if config.overlap_sampling:
            self.env_runner_group.foreach_env_runner_async(
                functools.partial(_sample_fragments, rounds=store_weight), tag=_SAMPLE_TAG
            )
            learner_results = self._update_from_replay(train_weight)
            with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
                sampled = self.env_runner_group.fetch_ready_async_reqs(
                    tags=_SAMPLE_TAG, timeout_seconds=config.sample_timeout_s
                )
            if not sampled:
                logger.warning(
                    "algo BiCNet: no env runner returned its fragments within sample_timeout_s=%s s; "
                    "they join the buffer when they arrive (raise sample_timeout_s for a slow env)",
                    config.sample_timeout_s,
                )
            for _, (fragments, env_runner_results) in sampled:
                self.metrics.aggregate([env_runner_results], key=ENV_RUNNER_RESULTS)
                for episodes in fragments:
                    self._add_to_replay(episodes)
        else:
            for _ in range(store_weight):
                with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
                    episodes, env_runner_results = synchronous_parallel_sample(
                        worker_set=self.env_runner_group,
                        concat=True,
                        sample_timeout_s=config.sample_timeout_s,
                        _uses_new_env_runners=True,
                        _return_metrics=True,
                    )
                self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
                self._add_to_replay(episodes)
            learner_results = self._update_from_replay(train_weight)
        self.metrics.log_value((REPLAY_BUFFER_RESULTS, "num_transitions"), len(self.local_replay_buffer),
                               window=1)
        if learner_results:
            with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
                self.env_runner_group.sync_weights(
                    from_worker_or_learner_group=self.learner_group,
                    policies=set(learner_results[0]) - {ALL_MODULES},
                    inference_only=True,
                )

    def _add_to_replay(self, episodes: list) -> None:
        """Sampled episodes (chunks) -> the buffer's flat team transitions."""
        config = self.config
        with self.metrics.log_time((TIMERS, REPLAY_BUFFER_ADD_DATA_TIMER)):
            self.local_replay_buffer.add(
                episodes, n_step=config.n_step, gamma=config.gamma,
                team_reward=config.learner_config_dict.get(TEAM_REWARD_KEY, "none"),
            )

    def _update_from_replay(self, updates: int) -> list[dict[str, Any]] | None:
        """``updates`` learner updates on replayed batches, once learning has
        started; their results (None if there was none)."""
        config = self.config
        env_steps = self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        if env_steps < config.num_steps_sampled_before_learning_starts:
            return None
        timesteps = {
            NUM_ENV_STEPS_SAMPLED_LIFETIME: env_steps,
            NUM_AGENT_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                (ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME), default=0
            ),
        }
        learner_results = None
        for _ in range(updates):
            with self.metrics.log_time((TIMERS, REPLAY_BUFFER_SAMPLE_TIMER)):
                batch = self.local_replay_buffer.sample(config.total_train_batch_size)
            if batch is None:
                break
            with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
                learner_results = self.learner_group.update(batch=batch, timesteps=timesteps)
                # Per-row TD errors: for the priorities only, never logged.
                td_errors = {
                    module_id: np.concatenate([  # each learner logged a list of (B,) arrays
                        np.reshape(errors, -1)
                        for r in learner_results
                        for errors in convert_to_numpy(r[module_id].pop(TD_ERROR_KEY).peek())
                    ])
                    for module_id in learner_results[0]
                    if module_id != ALL_MODULES and TD_ERROR_KEY in learner_results[0][module_id]
                }
                self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
            with self.metrics.log_time((TIMERS, REPLAY_BUFFER_UPDATE_PRIOS_TIMER)):
                self.local_replay_buffer.update_priorities(td_errors)
        return learner_results


_SAMPLE_TAG = "bicnet_sample"
"""Tag of the env runners' sample requests with ``overlap_sampling``."""


def _sample_fragments(env_runner, *, rounds: int) -> tuple[list[list], dict[str, Any]]:
    """Runs on a remote env runner: ``rounds`` sampled fragments and the runner's metrics."""
    return [env_runner.sample() for _ in range(rounds)], env_runner.get_metrics()


def register_algorithm() -> None:
    """Registers ``"BiCNet"`` with Ray Tune (idempotent)."""
    from ray.tune import register_trainable

    register_trainable(ALGO_NAME, BiCNet)
