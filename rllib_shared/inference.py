"""Acting with a trained team outside RLlib: ``load_policy(checkpoint)``.

:class:`TeamPolicy` maps a PettingZoo observation dict straight to an action
dict. It builds the same module inputs as training did, runs the trained
modules and turns their outputs into env actions the way RLlib's env runners
do: a module that returns ``ACTIONS`` (algo BiCNet's deterministic actor)
is taken at its word, otherwise the module's action distribution is
sampled (``explore``) or made deterministic; then RLlib's action
normalisation is undone. Two input layouts:

- the team layout (PPO, BiCNet; env ``<name>-team``): one row per group of
  agents, the joint action split per agent;
- per-agent rows (APPO, IMPALA): one team view per agent, one action each.

A module with memory (``model.memory``) keeps each group's recurrent state
between calls, as RLlib's env runners do within an episode; call
:meth:`TeamPolicy.reset` when a new episode starts.

No Ray session is started.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

from rllib_shared.registry import TEAM_SUFFIX, make_rllib_env, make_team_env
from rllib_shared.errors import ConfigError
from rllib_shared.team.layout import TeamLayout

MODULE_SUBDIR = Path("learner_group", "learner", "rl_module")


def find_checkpoint(path: str | Path | Any) -> Path:
    """An algorithm checkpoint dir from itself, a Tune ``Checkpoint``, or a trial
    or experiment dir (then the newest checkpoint inside)."""
    # Absolute: RLlib restores through pyarrow, which reads a relative path as a URI.
    path = Path(getattr(path, "path", path)).resolve()
    if (path / "rllib_checkpoint.json").is_file():
        return path
    found = sorted(path.rglob("rllib_checkpoint.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ConfigError(f"no RLlib algorithm checkpoint found in {str(path)!r}")
    return found[-1].parent


def read_algorithm_config(checkpoint: Path) -> dict[str, Any]:
    """The algorithm's config dict as saved in an algorithm checkpoint."""
    with open(checkpoint / "class_and_ctor_args.pkl", "rb") as f:
        saved = pickle.load(f)
    return saved["ctor_args_and_kwargs"][0][0]


def to_env_action(action: np.ndarray, space: gym.Space, *, normalize: bool, clip: bool):
    """A module's action as the env takes it, undoing RLlib's normalisation."""
    if isinstance(space, gym.spaces.Discrete):
        return int(action)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.asarray(action, np.int64)
    if normalize:
        action = unsquash_action(action, space)
    if clip or normalize:
        action = clip_action(action, space)
    return np.asarray(action, dtype=space.dtype)


@torch.no_grad()
def module_actions(
    module: RLModule, obs: np.ndarray, *, explore: bool, memory: dict[str, torch.Tensor] | None = None
) -> tuple[np.ndarray, dict[str, torch.Tensor] | None]:
    """A module's actions for a batch of inputs ``(B, ...)``, as RLlib's env
    runners get them, and a stateful module's memory after this step
    (``memory`` is the one before it, ``{key: (B, ...)}``; None for a
    module without memory)."""
    batch = {Columns.OBS: torch.from_numpy(obs)}
    if memory is not None:  # one step of a sequence: a time axis of 1
        batch = {Columns.OBS: batch[Columns.OBS][:, None], Columns.STATE_IN: memory}
    out = module.forward_exploration(batch) if explore else module.forward_inference(batch)
    if memory is not None:
        memory = out[Columns.STATE_OUT]
        out = {k: v[:, 0] for k, v in out.items() if k in (Columns.ACTIONS, Columns.ACTION_DIST_INPUTS)}
    if Columns.ACTIONS in out:
        return out[Columns.ACTIONS].numpy(), memory
    dist_cls = module.get_exploration_action_dist_cls() if explore else module.get_inference_action_dist_cls()
    dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
    return (dist if explore else dist.to_deterministic()).sample().numpy(), memory


class TeamPolicy:
    """Callable ``{agent: obs} -> {agent: action}`` for the whole team.

    With memory, each call is one step of an episode: :meth:`reset` starts a
    new one.

    Args:
        modules: The trained modules by policy ID.
        env: The env as trained on: a team env (:class:`~rllib_shared.team.env.TeamEnv`,
            one row per group) or a per-agent env (one team view per agent).
        policy_for: Maps an RLlib agent ID (group or agent) to its policy ID.
        normalize_actions, clip_actions: RLlib's settings of the run.
    """

    def __init__(
        self,
        modules: Mapping[str, RLModule],
        env: Any,
        policy_for: Callable[[Any], str],
        *,
        normalize_actions: bool = True,
        clip_actions: bool = False,
    ):
        self.modules = {pid: module.eval() for pid, module in modules.items()}
        self.groups = getattr(env, "groups", None)
        self.action_spaces = dict(env.action_spaces)
        if self.groups is None:  # per-agent rows
            self.layout = TeamLayout.from_spaces(env.observation_spaces)
            rllib_agents = list(self.layout.agents)
        else:
            rllib_agents = list(self.groups)
        self.policy_of = {agent: policy_for(agent) for agent in rllib_agents}
        missing = sorted({p for p in self.policy_of.values() if p not in self.modules})
        if missing:
            raise ConfigError(f"the checkpoint has no module for policies {missing}")
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions
        self._known = set(self.agents)
        self._memory: dict[Any, dict[str, torch.Tensor]] = {}

    def reset(self) -> None:
        """Forgets what the modules with memory kept: call it at each episode start."""
        self._memory.clear()

    @property
    def has_memory(self) -> bool:
        """Whether any module keeps a state between steps (``model.memory``)."""
        return any(module.is_stateful() for module in self.modules.values())

    def _memory_of(self, rllib_agent: Any, module: RLModule) -> dict[str, torch.Tensor] | None:
        if not module.is_stateful():
            return None
        if rllib_agent not in self._memory:
            initial = module.get_initial_state()
            self._memory[rllib_agent] = {k: torch.as_tensor(v)[None] for k, v in initial.items()}
        return self._memory[rllib_agent]

    @property
    def agents(self) -> list:
        """The PettingZoo agents this policy plays."""
        if self.groups is None:
            return list(self.layout.agents)
        return [agent for group in self.groups.values() for agent in group.agents]

    def _inputs(self, observations: Mapping[Any, Any]) -> dict[Any, np.ndarray]:
        """``{RLlib agent: module input}`` for the agents present (absent agents are dead)."""
        if not isinstance(observations, Mapping):
            raise ConfigError(f"a team policy takes {{agent: observation}}, got {type(observations).__name__}")
        unknown = [a for a in observations if a not in self._known]
        if unknown:
            raise ConfigError(
                f"observations for unknown agents {unknown}; this policy plays {self.agents}"
            )
        if self.groups is None:
            return self.layout.encode(observations)
        return {
            g: group.layout.encode_team({a: observations[a] for a in group.agents if a in observations})
            for g, group in self.groups.items()
            if any(a in observations for a in group.agents)
        }

    def __call__(self, observations: Mapping[Any, Any], *, explore: bool = False) -> dict:
        actions = {}
        for rllib_agent, obs in self._inputs(observations).items():
            module = self.modules[self.policy_of[rllib_agent]]
            action, memory = module_actions(
                module, obs[None], explore=explore, memory=self._memory_of(rllib_agent, module)
            )
            if memory is not None:
                self._memory[rllib_agent] = memory
            action = action[0]
            action = to_env_action(
                action, self.action_spaces[rllib_agent],
                normalize=self.normalize_actions, clip=self.clip_actions,
            )
            if self.groups is None:
                actions[rllib_agent] = action
                continue
            group = self.groups[rllib_agent]
            for agent, agent_action in zip(group.agents, group.actions.split(action), strict=True):
                if agent in observations:
                    actions[agent] = agent_action
        return actions


def _restore_module(module_dir: Path) -> RLModule:
    # RLlib falls back to a bare RLModule when the saved class no longer imports.
    module = RLModule.from_checkpoint(module_dir)
    if not isinstance(module, TorchRLModule):
        raise ConfigError(
            f"cannot restore the module in {str(module_dir)!r}: it was saved by an older "
            "rllib_shared whose module classes no longer exist. Train it again with this "
            "version (PPO now trains on the team layout, rllib_shared.team)"
        )
    return module


def load_policy(checkpoint: str | Path | Any) -> TeamPolicy:
    """Loads the team policy of a Tune/RLlib checkpoint, without Ray.

    ``checkpoint`` may be an algorithm checkpoint dir, a Tune ``Checkpoint`` or
    a trial/experiment dir (its newest checkpoint is used). The env named in
    the checkpoint's config must be one of :data:`rllib_shared.ENV_NAMES` (or
    its team version).
    """
    path = find_checkpoint(checkpoint)
    config = read_algorithm_config(path)
    module_root = path / MODULE_SUBDIR
    module_dirs = sorted(p for p in module_root.iterdir() if p.is_dir()) if module_root.is_dir() else []
    if not module_dirs:
        raise ConfigError(f"checkpoint {str(path)!r} holds no RLModule")
    modules = {p.name: _restore_module(p) for p in module_dirs}
    env_name = config["env"]
    env_config = config.get("env_config") or {}
    env = (make_team_env if env_name.endswith(TEAM_SUFFIX) else make_rllib_env)(env_name, env_config)
    env.close()
    mapping = config.get("policy_mapping_fn")
    if len(modules) == 1:
        only = next(iter(modules))
        policy_for = lambda agent: only  # noqa: E731
    elif callable(mapping):
        policy_for = mapping
    else:
        raise ConfigError(f"checkpoint {str(path)!r} has several modules but no policy mapping")
    return TeamPolicy(
        modules,
        env,
        policy_for,
        normalize_actions=bool(config.get("normalize_actions", True)),
        clip_actions=bool(config.get("clip_actions", False)),
    )
