"""Acting with a trained team outside RLlib: ``load_policy(checkpoint)``.

The returned policy applies the same team view as training did (per-agent
team views for PPO/APPO/IMPALA, the team env's observation for BiCNet) and
undoes RLlib's action normalisation, so it maps a PettingZoo observation dict
straight to an action dict. No Ray session is started.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

from rllib_shared.envs.registry import base_env_name, make_pettingzoo_env
from rllib_shared.errors import ConfigError
from rllib_shared.modules.bicnet_ddpg import BiCNetDDPGTorchRLModule
from rllib_shared.policy_mapping import SHARED_POLICY_ID
from rllib_shared.team_view import TeamLayout

MODULE_SUBDIR = Path("learner_group", "learner", "rl_module")
SINGLE_AGENT_MODULE_ID = "default_policy"  # algo BiCNet: one RLlib agent, the team


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
    if normalize:
        action = unsquash_action(action, space)
    if clip or normalize:
        action = clip_action(action, space)
    return np.asarray(action, dtype=space.dtype)


class SharedPolicy:
    """Callable ``{agent: obs} -> {agent: action}`` for the whole team.

    Args:
        module: The trained shared RLModule.
        observation_spaces: The env's observation space per agent.
        action_space: The agents' (common) action space.
        normalize_actions: Whether RLlib trained with normalised Box actions.
        clip_actions: Whether RLlib clipped Box actions to the space.
    """

    def __init__(
        self,
        module: RLModule,
        observation_spaces: Mapping[Any, gym.Space],
        action_space: gym.Space,
        *,
        normalize_actions: bool = True,
        clip_actions: bool = False,
    ):
        self.module = module.eval()
        self.layout = TeamLayout.from_spaces(observation_spaces)
        self.action_space = action_space
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions
        self.dist_cls = module.get_inference_action_dist_cls()

    @torch.no_grad()
    def __call__(self, observations: Mapping[Any, Any], *, explore: bool = False) -> dict:
        views = self.layout.encode(observations)
        if not views:
            return {}
        agents = list(views)
        batch = {Columns.OBS: torch.from_numpy(np.stack([views[a] for a in agents]))}
        out = self.module.forward_exploration(batch) if explore else self.module.forward_inference(batch)
        dist = self.dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
        actions = (dist if explore else dist.to_deterministic()).sample().numpy()
        return {agent: self._to_env(action) for agent, action in zip(agents, actions, strict=True)}

    def _to_env(self, action: np.ndarray):
        return to_env_action(
            action, self.action_space, normalize=self.normalize_actions, clip=self.clip_actions
        )


class TeamPolicy:
    """Callable ``{agent: obs} -> {agent: action}`` for a BiCNet-algorithm module.

    The module sees the whole team as one row (the team env's observation) and
    returns the joint action, which is split per agent and mapped onto each
    agent's action bounds (algo BiCNet always trains with normalised actions).
    """

    def __init__(
        self,
        module: BiCNetDDPGTorchRLModule,
        observation_spaces: Mapping[Any, gym.Space],
        action_space: gym.Space,
    ):
        self.module = module.eval()
        self.layout = TeamLayout.from_spaces(observation_spaces)
        self.action_space = action_space

    @torch.no_grad()
    def __call__(self, observations: Mapping[Any, Any], *, explore: bool = False) -> dict:
        if not observations:
            return {}
        team = torch.from_numpy(self.layout.encode_team(observations))[None]
        forward = self.module.forward_exploration if explore else self.module.forward_inference
        joint = forward({Columns.OBS: team})[Columns.ACTIONS][0].numpy()
        actions = joint.reshape(self.layout.n_agents, -1)
        return {
            agent: to_env_action(actions[k], self.action_space, normalize=True, clip=True)
            for k, agent in enumerate(self.layout.agents)
            if agent in observations
        }


def load_policy(
    checkpoint: str | Path | Any, *, module_id: str = SHARED_POLICY_ID
) -> SharedPolicy | TeamPolicy:
    """Loads the team policy of a Tune/RLlib checkpoint, without Ray.

    ``checkpoint`` may be an algorithm checkpoint dir, a Tune ``Checkpoint`` or
    a trial/experiment dir (its newest checkpoint is used). The env named in
    the checkpoint's config must be one of :data:`rllib_shared.ENV_NAMES` (or
    its team version). Checkpoints of algo BiCNet give a :class:`TeamPolicy`.
    """
    path = find_checkpoint(checkpoint)
    config = read_algorithm_config(path)
    module_dir = path / MODULE_SUBDIR / module_id
    if not module_dir.is_dir() and module_id == SHARED_POLICY_ID:
        module_dir = path / MODULE_SUBDIR / SINGLE_AGENT_MODULE_ID
    if not module_dir.is_dir():
        raise ConfigError(f"checkpoint {str(path)!r} has no module {module_id!r}")
    module = RLModule.from_checkpoint(module_dir)
    env = make_pettingzoo_env(base_env_name(config["env"]), config.get("env_config"))
    try:
        spaces = {a: env.observation_space(a) for a in env.possible_agents}
        agent_action_space = env.action_space(env.possible_agents[0])
    finally:
        env.close()
    if isinstance(module, BiCNetDDPGTorchRLModule):
        return TeamPolicy(module, spaces, agent_action_space)
    return SharedPolicy(
        module,
        spaces,
        module.action_space,
        normalize_actions=bool(config.get("normalize_actions", True)),
        clip_actions=bool(config.get("clip_actions", False)),
    )
