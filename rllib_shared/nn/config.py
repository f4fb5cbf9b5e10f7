"""The BiCNet model options, as one frozen dataclass built from a plain dict."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rllib_shared.errors import ConfigError, check_choice, check_keys
from rllib_shared.nn.bicnet import ACTIVATIONS, BiCNet, BiCNetActorCritic
from rllib_shared.nn.communication import COMM_KINDS
from rllib_shared.nn.encoders import DEFAULT_CONV_FILTERS
from rllib_shared.nn.memory import MEMORY_KINDS

CRITIC_INPUTS = ("local", "state")
ENCODERS = ("mlp", "cnn")


@dataclasses.dataclass(frozen=True, kw_only=True)
class BiCNetConfig:
    """Options of the BiCNet actor and critic (the ``model`` section of a config).

    Example:
        >>> BiCNetConfig.from_dict({"comm": "bigru", "encoder_hidden": [32]}).encoder_hidden
        (32,)
    """

    comm: str = "bilstm"
    """Communication across the agent axis: "bilstm" (BiCNet), "bigru", "mean"
    (CommNet), "attention" (TarMAC), or "none" (no communication: an
    independent shared MLP, the ablation)."""
    critic_comm: str | None = None
    """Communication layer of the critic, if it should differ from ``comm``
    (one of the same kinds; None: as ``comm``). ``critic_comm: none`` gives a
    communicating team a critic that reads each agent's own input only
    (BenchMARL's ``centralised: false``)."""
    encoder: str = "mlp"
    """Per-agent encoder: "mlp" (dense layers on the flattened observation) or
    "cnn" (``conv_filters`` over each agent's image, then the dense layers)."""
    conv_filters: tuple[tuple[int, int, int], ...] = DEFAULT_CONV_FILTERS
    """With ``encoder: cnn``: ``[out_channels, kernel, stride]`` per layer
    (RLlib's ``conv_filters`` format), no padding."""
    encoder_hidden: tuple[int, ...] = (64,)
    """Sizes of the per-agent dense layers before communication."""
    comm_hidden: int = 64
    """Hidden size per direction of the communication RNN."""
    head_hidden: tuple[int, ...] = (64,)
    """Sizes of the per-agent dense layers after communication."""
    activation: str = "tanh"
    """Activation of every dense layer: tanh, relu, elu or silu."""
    layer_norm: bool = False
    """A layer norm after every hidden dense layer, before its activation
    (MAPPO's networks have one); the communication layer is left as it is."""
    skip_input: bool = True
    """Feed each agent's own input into its head (BiCNet's skip connection)."""
    share_actor_critic: bool = False
    """One trunk for policy and value; the value reuses the trunk output of the
    same forward pass instead of running a second network."""
    normalize_obs: bool = False
    """Standardise every observation feature by running mean and variance of
    the live agents' observations (updated in training passes, clipped to
    [-5, 5]); PPO only."""
    normalize_value: bool = False
    """The critic learns values in units of the value targets' running mean
    and standard deviation (MAPPO's value normalisation), updated once per
    train batch; PPO only."""
    share_params: bool = True
    """One set of weights for every agent (parameter sharing). With false
    (BenchMARL's ``share_params: false``) each agent's encoder and head layers
    have weights of their own, applied in one batched op; the communication
    layer stays shared. The parameter count then grows with the team."""
    critic_input: str = "local"
    """What the critic reads: "local" (each agent's observation, and what the
    communication layer brings) or "state" (the env's global ``state()``
    beside each agent's observation: a centralised critic; with ``comm: none``
    this is MAPPO). PPO only."""
    memory: str = "none"
    """Memory over time: "none", "lstm" or "gru". Each agent's policy features
    pass through its own recurrent state after communication, so it keeps
    what it saw and heard between steps (skrl's RNN models); the critic
    reads that memory too. PPO only."""
    memory_hidden: int = 64
    """Size of each agent's memory state (with ``memory``)."""
    max_seq_len: int = 20
    """With ``memory``: training replays episodes in chunks of this many steps,
    each starting from the memory state the env runner had there (RLlib's
    ``max_seq_len``)."""

    def __post_init__(self):
        check_choice(self.comm, COMM_KINDS, "model.comm")
        if self.critic_comm is not None:
            check_choice(self.critic_comm, COMM_KINDS, "model.critic_comm")
            if self.share_actor_critic and self.critic_comm != self.comm:
                raise ConfigError(
                    f"model.critic_comm: {self.critic_comm} needs a critic trunk of its own, but "
                    "model.share_actor_critic shares the policy's: set share_actor_critic to false, "
                    "or remove critic_comm"
                )
        check_choice(self.critic_input, CRITIC_INPUTS, "model.critic_input")
        check_choice(self.encoder, ENCODERS, "model.encoder")
        check_choice(self.memory, MEMORY_KINDS, "model.memory")
        if not all(len(f) == 3 and all(isinstance(v, int) and v > 0 for v in f) for f in self.conv_filters):
            raise ConfigError(
                "model.conv_filters must be a list of [out_channels, kernel, stride] with positive ints, "
                f"got {[list(f) for f in self.conv_filters]!r}"
            )
        if self.encoder == "cnn" and not self.share_params:
            raise ConfigError("model.share_params: false needs the mlp encoder; the cnn encoder is shared")
        if self.encoder == "cnn" and self.critic_input == "state":
            raise ConfigError("model.critic_input: state needs the mlp encoder (the state is not an image)")
        if self.critic_input == "state" and self.share_actor_critic:
            raise ConfigError(
                "model.critic_input: state gives the critic an input of its own, so it cannot share "
                "the policy's trunk: set model.share_actor_critic to false"
            )
        check_choice(self.activation, ACTIVATIONS, "model.activation")
        for name in ("encoder_hidden", "head_hidden"):
            sizes = getattr(self, name)
            if not all(isinstance(s, int) and s > 0 for s in sizes):
                raise ConfigError(f"model.{name} must be a list of positive ints, got {sizes!r}")
        for name in ("comm_hidden", "memory_hidden", "max_seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int) and value > 0):
                raise ConfigError(f"model.{name} must be a positive int, got {value!r}")
        for name in ("layer_norm", "skip_input", "share_actor_critic", "normalize_obs", "normalize_value",
                     "share_params"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"model.{name} must be true or false (unquoted), got {getattr(self, name)!r}"
                )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, *, where: str = "the model config") -> BiCNetConfig:
        values = dict(values or {})
        check_keys(values, cls.field_names(), where)
        for name in ("encoder_hidden", "head_hidden"):
            if name in values:
                sizes = values[name]
                values[name] = tuple(sizes) if isinstance(sizes, (list, tuple)) else (sizes,)
        if "conv_filters" in values:
            filters = values["conv_filters"]
            if not isinstance(filters, (list, tuple)) or not all(isinstance(f, (list, tuple)) for f in filters):
                raise ConfigError(f"model.conv_filters must be a list of [out_channels, kernel, stride], got {filters!r}")
            values["conv_filters"] = tuple(tuple(f) for f in filters)
        return cls(**values)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["encoder_hidden"] = list(self.encoder_hidden)
        out["head_hidden"] = list(self.head_hidden)
        out["conv_filters"] = [list(f) for f in self.conv_filters]
        return out

    @property
    def critic_comm_kind(self) -> str:
        """The critic's communication layer (``critic_comm``, else ``comm``)."""
        return self.comm if self.critic_comm is None else self.critic_comm

    def _net_kwargs(self, *, critic: bool = False) -> dict[str, Any]:
        return dict(
            encoder_hidden=self.encoder_hidden,
            comm_hidden=self.comm_hidden,
            head_hidden=self.head_hidden,
            comm=self.critic_comm_kind if critic else self.comm,
            activation=self.activation,
            layer_norm=self.layer_norm,
            skip_input=self.skip_input,
            conv_filters=self.conv_filters,
        )

    def _agents(self, n_agents: int | None) -> int | None:
        if self.share_params:
            return None
        if n_agents is None:
            raise ConfigError("model.share_params: false needs the team size to build per-agent weights")
        return n_agents

    def _image_shape(self, image_shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if self.encoder != "cnn":
            return None
        if image_shape is None:
            raise ConfigError("model.encoder: cnn needs the agents' image shape")
        return tuple(image_shape)

    def build_net(
        self, in_features: int, out_features: int, n_agents: int | None = None,
        image_shape: tuple[int, ...] | None = None, *, critic: bool = False,
    ) -> BiCNet:
        """An actor (``out_features`` per agent) or, with ``critic``, a critic
        (its communication layer is ``critic_comm``'s) for ``n_agents`` agents
        (their number matters with ``share_params: false``) whose observations
        are images of ``image_shape`` (with ``encoder: cnn``)."""
        return BiCNet(in_features=in_features, out_features=out_features, agents=self._agents(n_agents),
                      image_shape=self._image_shape(image_shape), **self._net_kwargs(critic=critic))

    def build_actor_critic(
        self, in_features: int, action_features: int, state_features: int = 0, n_agents: int | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> BiCNetActorCritic:
        """Policy and value nets; one trunk for both with ``share_actor_critic``;
        ``state_features`` is the global state's size with ``critic_input: state``."""
        return BiCNetActorCritic(
            in_features=in_features,
            action_features=action_features,
            state_features=state_features,
            agents=self._agents(n_agents),
            image_shape=self._image_shape(image_shape),
            share_trunk=self.share_actor_critic,
            normalize_input=self.normalize_obs,
            normalize_value=self.normalize_value,
            memory=self.memory,
            memory_hidden=self.memory_hidden,
            critic_comm=self.critic_comm_kind,
            **self._net_kwargs(),
        )
