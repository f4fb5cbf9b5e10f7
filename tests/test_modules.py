"""The per-agent-row BiCNet RLModules of APPO and IMPALA, built directly (no Ray)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_shared.errors import ConfigError
from rllib_shared.algorithms.rows import BiCNetAPPOTorchRLModule, BiCNetPPOTorchRLModule
from rllib_shared.team.layout import TeamLayout

N, F = 3, 4
LAYOUT = TeamLayout.from_spaces({f"agent_{i}": gym.spaces.Box(-1, 1, (F,)) for i in range(N)})
ACTION_SPACES = {"discrete": gym.spaces.Discrete(5), "box": gym.spaces.Box(-1, 1, (2,))}


def build(action_space, module_class=BiCNetPPOTorchRLModule, inference_only=False, **model):
    torch.manual_seed(0)
    return RLModuleSpec(
        module_class=module_class,
        observation_space=LAYOUT.observation_space(),
        action_space=action_space,
        model_config={"encoder_hidden": [16], "comm_hidden": 8, "head_hidden": [16], **model},
        inference_only=inference_only,
    ).build()


def team_batch(rows: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    views = []
    for _ in range(rows // N):
        obs = {a: rng.normal(size=F).astype(np.float32) for a in LAYOUT.agents}
        views += list(LAYOUT.encode(obs).values())
    return {Columns.OBS: torch.from_numpy(np.stack(views)).requires_grad_(True)}


@pytest.mark.parametrize("space", ACTION_SPACES)
@pytest.mark.parametrize("share", [False, True])
def test_forward_shapes(space, share):
    module = build(ACTION_SPACES[space], share_actor_critic=share)
    batch = team_batch()
    width = 5 if space == "discrete" else 4
    for fwd in (module.forward_inference, module.forward_exploration, module.forward_train):
        assert fwd(batch)[Columns.ACTION_DIST_INPUTS].shape == (6, width)
    assert module.compute_values(batch).shape == (6,)
    dist = module.get_train_action_dist_cls().from_logits(module.forward_train(batch)[Columns.ACTION_DIST_INPUTS])
    assert dist.sample().shape[0] == 6


@pytest.mark.parametrize("share", [False, True])
def test_values_from_embeddings_equal_values_from_scratch(share):
    module = build(ACTION_SPACES["box"], share_actor_critic=share)
    batch = team_batch()
    out = module.forward_train(batch)
    torch.testing.assert_close(module.compute_values(batch, embeddings=out[Columns.EMBEDDINGS]),
                               module.compute_values(batch))


def test_shared_trunk_runs_once_per_training_step():
    module = build(ACTION_SPACES["discrete"], share_actor_critic=True)
    calls = []
    module.net.pi_trunk.register_forward_hook(lambda *args: calls.append(1))
    batch = team_batch()
    out = module.forward_train(batch)
    module.compute_values(batch, embeddings=out[Columns.EMBEDDINGS])  # as PPO's learner does
    assert len(calls) == 1


@pytest.mark.parametrize("share", [False, True])
def test_an_agents_action_depends_on_every_teammate(share):
    module = build(ACTION_SPACES["discrete"], share_actor_critic=share)
    batch = team_batch(rows=N)
    logits = module.forward_train(batch)[Columns.ACTION_DIST_INPUTS]
    logits[0].sum().backward(retain_graph=True)
    per_teammate = batch[Columns.OBS].grad[0, :, :F].abs().sum(-1)
    assert (per_teammate > 0).all(), per_teammate
    batch[Columns.OBS].grad = None
    module.compute_values(batch)[0].backward()
    assert (batch[Columns.OBS].grad[0, :, :F].abs().sum(-1) > 0).all()


def test_no_communication_ablation_sees_only_itself():
    module = build(ACTION_SPACES["discrete"], comm="none")
    batch = team_batch(rows=N)
    module.forward_train(batch)[Columns.ACTION_DIST_INPUTS][0].sum().backward()
    per_teammate = batch[Columns.OBS].grad[0, :, :F].abs().sum(-1)
    self_slot = int(batch[Columns.OBS][0, :, -1].argmax())
    assert per_teammate[self_slot] > 0
    assert per_teammate.sum() == per_teammate[self_slot]


@pytest.mark.parametrize("share", [False, True])
def test_inference_only_module_drops_value_parts(share):
    module = build(ACTION_SPACES["discrete"], inference_only=True, share_actor_critic=share)
    assert not any(k.startswith(("net.vf_trunk.", "net.vf_head.")) for k in module.state_dict())
    full = build(ACTION_SPACES["discrete"], share_actor_critic=share)
    assert set(module.state_dict()) == set(full.get_state(inference_only=True))
    assert module.forward_inference(team_batch())[Columns.ACTION_DIST_INPUTS].shape == (6, 5)


def test_appo_module_target_network_matches_at_start():
    module = build(ACTION_SPACES["box"], module_class=BiCNetAPPOTorchRLModule)
    module.make_target_networks()
    batch = team_batch()
    target = module.forward_target(batch)
    from ray.rllib.core.rl_module.apis import TARGET_NETWORK_ACTION_DIST_INPUTS

    torch.testing.assert_close(target[TARGET_NETWORK_ACTION_DIST_INPUTS],
                               module.forward_train(batch)[Columns.ACTION_DIST_INPUTS])
    assert len(module.get_target_network_pairs()) == 1


@pytest.mark.parametrize("space", [gym.spaces.MultiDiscrete([2, 3]), gym.spaces.Box(-1, 1, (2, 2))])
def test_unsupported_action_space_is_refused_clearly(space):
    with pytest.raises(ConfigError, match="cannot handle action space"):
        build(space)


def test_missing_team_view_is_explained():
    with pytest.raises(ConfigError, match="not a team array.*team_view_connector"):
        RLModuleSpec(module_class=BiCNetPPOTorchRLModule, observation_space=gym.spaces.Box(-1, 1, (4,)),
                     action_space=gym.spaces.Discrete(2), model_config={}).build()


def test_unknown_model_config_key_is_refused():
    with pytest.raises(ConfigError, match="did you mean 'encoder_hidden'"):
        build(ACTION_SPACES["discrete"], encoder_hiden=[3])
    # The key RLlib adds to every model_config by itself is accepted.
    build(ACTION_SPACES["discrete"], vf_share_layers=False)
