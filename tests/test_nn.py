"""The pure-torch BiCNet blocks: shapes, gradients, information flow, masks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rllib_shared.errors import ConfigError
from rllib_shared.nn import COMM_KINDS, AgentCommunication, BiCNet, BiCNetActorCritic, BiCNetConfig

F, A = 5, 4
COMMUNICATING = [k for k in COMM_KINDS if k != "none"]
ORDER_FREE = ["mean", "attention"]


def make_net(comm: str, out: int = A, **kwargs) -> BiCNet:
    torch.manual_seed(0)
    return BiCNet(in_features=F, out_features=out, encoder_hidden=(16,), comm_hidden=8,
                  head_hidden=(16,), comm=comm, **kwargs)


def alive_like(x: torch.Tensor) -> torch.Tensor:
    return torch.ones(x.shape[:-1], dtype=torch.bool)


@pytest.mark.parametrize("comm", COMM_KINDS)
@pytest.mark.parametrize("batch", [(), (7,), (4, 6)])
@pytest.mark.parametrize("n_agents", [1, 3, 16])
def test_shapes(comm, batch, n_agents):
    x = torch.randn(*batch, n_agents, F)
    alive = alive_like(x)
    assert make_net(comm)(x, alive).shape == (*batch, n_agents, A)
    for share in (False, True):
        net = BiCNetActorCritic(in_features=F, action_features=A, comm=comm, share_trunk=share)
        pi, features = net.forward_train(x, alive)
        assert pi.shape == (*batch, n_agents, A) and net.value(features).shape == (*batch, n_agents)
        assert net(x, alive).shape == pi.shape


@pytest.mark.parametrize("comm", COMM_KINDS)
def test_parameter_count_does_not_depend_on_team_size(comm):
    counts = set()
    for n_agents in (1, 3, 16):
        net = make_net(comm)
        net(torch.randn(2, n_agents, F), torch.ones(2, n_agents, dtype=torch.bool))
        counts.add(sum(p.numel() for p in net.parameters()))
    assert len(counts) == 1


@pytest.mark.parametrize("comm", COMM_KINDS)
@pytest.mark.parametrize("shared_trunk", [False, True])
def test_every_parameter_gets_a_gradient(comm, shared_trunk):
    torch.manual_seed(0)
    x = torch.randn(8, 3, F)
    alive = alive_like(x)
    if shared_trunk:
        net = BiCNetActorCritic(in_features=F, action_features=A, comm=comm, share_trunk=True)
        pi, features = net.forward_train(x, alive)
        loss = pi.pow(2).sum() + net.value(features).pow(2).sum()
    else:
        net = make_net(comm)
        loss = net(x, alive).pow(2).sum()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"parameters without gradient: {missing}"


def _output_change(net, x, alive, agent_i, agent_j):
    x2 = x.clone()
    x2[..., agent_j, :] += 1.0
    return (net(x2, alive)[..., agent_i, :] - net(x, alive)[..., agent_i, :]).abs().max().item()


@pytest.mark.parametrize("comm", COMM_KINDS)
def test_other_agents_influence_output_exactly_when_communicating(comm):
    net = make_net(comm)
    x = torch.randn(2, 4, F)
    alive = alive_like(x)
    for i in range(4):
        for j in range(4):
            changed = _output_change(net, x, alive, i, j) > 1e-6
            assert changed == (i == j or net.trunk.comm.communicates), (comm, i, j)


@pytest.mark.parametrize("comm", COMMUNICATING)
def test_gradient_reaches_every_teammate(comm):
    net = make_net(comm)
    x = torch.randn(1, 5, F, requires_grad=True)
    net(x, alive_like(x.detach()))[0, 0].sum().backward()
    assert (x.grad[0].abs().sum(-1) > 0).all()


def test_no_communication_is_permutation_equivariant():
    net = make_net("none")
    x = torch.randn(3, 6, F)
    perm = torch.randperm(6)
    out = net(x, alive_like(x))
    assert torch.allclose(net(x[:, perm], alive_like(x)), out[:, perm], atol=1e-6)


def test_bilstm_is_order_aware():
    net = make_net("bilstm")
    x = torch.randn(3, 6, F)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    out = net(x, alive_like(x))
    assert not torch.allclose(net(x[:, perm], alive_like(x)), out[:, perm], atol=1e-4)


@pytest.mark.parametrize("comm", ORDER_FREE)
@pytest.mark.parametrize("batch", [(), (7,)])
@pytest.mark.parametrize("n_agents", [1, 3, 64])
def test_order_free_channels_are_permutation_equivariant(comm, batch, n_agents):
    """Permuting the agents permutes the outputs, with dead agents among them too."""
    torch.manual_seed(1)
    block = AgentCommunication(in_features=F, hidden=6, kind=comm)
    x = torch.randn(*batch, n_agents, F)
    alive = torch.rand(*batch, n_agents) > 0.3
    perm = torch.randperm(n_agents)
    out = block(x, alive)
    assert out.shape == (*batch, n_agents, 12)
    torch.testing.assert_close(block(x[..., perm, :], alive[..., perm]), out[..., perm, :])


@pytest.mark.parametrize("comm", ORDER_FREE)
def test_order_free_channels_carry_teammates_inputs_and_reach_every_parameter(comm):
    torch.manual_seed(2)
    block = AgentCommunication(in_features=F, hidden=6, kind=comm)
    x = torch.randn(4, 3, F, requires_grad=True)
    alive = torch.tensor([[True, True, True]] * 3 + [[True, False, True]])
    out = block(x, alive)
    # Agent 0's output depends on agent 2's input, never on dead agent 1's.
    grad = torch.autograd.grad(out[:, 0].sum(), x, retain_graph=True)[0]
    assert (grad[:, 2].abs().sum(-1) > 0).all()
    assert grad[3, 1].abs().sum() == 0
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


@pytest.mark.parametrize("comm", COMM_KINDS)
def test_identical_inputs_give_identical_outputs_with_shared_weights(comm):
    net = make_net(comm)
    x = torch.randn(1, 1, F).expand(2, 4, F).clone()
    out = net(x, alive_like(x))
    if comm in ("none", *ORDER_FREE):
        assert torch.allclose(out, out[:, :1].expand_as(out), atol=1e-6)
    else:  # the position in the agent sequence differs, so outputs may too
        assert torch.allclose(out[0], out[1], atol=1e-6)


@pytest.mark.parametrize("comm", COMM_KINDS)
def test_dead_agents_do_not_influence_live_agents(comm):
    net = make_net(comm)
    x = torch.randn(2, 5, F)
    alive = torch.tensor([[True, False, True, True, False], [False, True, True, False, True]])
    out = net(x, alive)
    x_noise = x + 10.0 * (~alive).unsqueeze(-1) * torch.randn_like(x)
    out_noise = net(x_noise, alive)
    assert torch.allclose(out[alive], out_noise[alive], atol=1e-5)
    # A team with dead slots acts exactly like the team of its live agents alone.
    for row in range(2):
        live = alive[row].nonzero().squeeze(-1)
        alone = net(x[row, live].unsqueeze(0), torch.ones(1, len(live), dtype=torch.bool))
        assert torch.allclose(out[row, live], alone[0], atol=1e-5)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_layer_norm_makes_every_dense_layer_scale_free(layer_norm):
    config = BiCNetConfig.from_dict({"layer_norm": layer_norm, "encoder_hidden": [16, 16]})
    torch.manual_seed(0)
    net = config.build_actor_critic(F, A)
    x, alive = torch.randn(6, 3, F), torch.ones(6, 3, dtype=torch.bool)
    before = net(x, alive)
    with torch.no_grad():  # scale the first dense layer of the encoder and of the head
        for layer in (net.pi_trunk.encoder[0], net.pi_head[0]):
            layer.weight.mul_(7.0)
            layer.bias.mul_(7.0)
    assert torch.allclose(net(x, alive), before, atol=1e-4) == layer_norm
    norms = [m for m in net.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == (2 * (2 + 1) if layer_norm else 0)  # policy and value: two encoder layers, one head layer


@pytest.mark.parametrize("comm", COMM_KINDS)
def test_all_dead_rows_and_empty_batches(comm):
    comm_block = AgentCommunication(in_features=F, hidden=4, kind=comm)
    out = comm_block(torch.randn(3, 2, F), torch.zeros(3, 2, dtype=torch.bool))
    assert out.shape == (3, 2, 8) and not out.abs().sum() > 0
    assert comm_block(torch.randn(0, 2, F), torch.ones(0, 2, dtype=torch.bool)).shape == (0, 2, 8)


def test_config_rejects_unknown_keys_with_suggestion():
    with pytest.raises(ValueError, match="did you mean 'comm_hidden'"):
        BiCNetConfig.from_dict({"comm_hiden": 32})
    with pytest.raises(ValueError, match="valid values: bilstm, bigru, mean, attention, none"):
        BiCNetConfig.from_dict({"comm": "lstm"})
    with pytest.raises(ValueError, match="positive ints"):
        BiCNetConfig.from_dict({"encoder_hidden": [0]})


def test_running_norm_equals_the_statistics_of_all_live_rows_seen():
    from rllib_shared.nn.normalization import RunningNorm

    torch.manual_seed(3)
    norm = RunningNorm(F)
    seen = []
    for size in (5, 1, 12):
        x = torch.randn(size, 4, F) * 3 + 2
        alive = torch.rand(size, 4) > 0.4
        out = norm(x, alive, update=True)
        seen.append(x[alive])
        assert (out[~alive] == 0).all() and out.abs().max() <= norm.clip
    rows = torch.cat(seen).double()
    torch.testing.assert_close(norm.mean.double(), rows.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(norm.var.double(), rows.var(0, unbiased=False), rtol=1e-4, atol=1e-5)
    assert int(norm.count) == rows.shape[0]
    assert {"input_norm.mean", "input_norm.var", "input_norm.count"} <= set(
        BiCNetActorCritic(in_features=F, action_features=A, normalize_input=True).state_dict())


def test_normalized_actor_critic_updates_statistics_only_in_training_passes():
    net = BiCNetActorCritic(in_features=F, action_features=A, normalize_input=True)
    x = torch.randn(6, 3, F) * 4 + 1
    alive = alive_like(x)
    net(x, alive)
    with torch.no_grad():
        net.forward_train(x, alive)
    net.value_features(x, alive)
    assert int(net.input_norm.count) == 0
    pi, features = net.forward_train(x, alive)
    assert int(net.input_norm.count) == 18
    (pi.pow(2).sum() + net.value(features).pow(2).sum()).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_boolean_model_options_refuse_strings():
    with pytest.raises(ValueError, match=r"model.normalize_obs must be true or false \(unquoted\), got 'false'"):
        BiCNetConfig.from_dict({"normalize_obs": "false"})


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
@pytest.mark.parametrize("n", [1, 3, 16])
def test_state_critic_shapes_and_gradients(batch, n):
    net = BiCNetActorCritic(in_features=5, action_features=2, state_features=7, comm="none",
                            encoder_hidden=(8,), comm_hidden=4, head_hidden=(8,))
    x, alive, state = torch.randn(*batch, n, 5), torch.ones(*batch, n, dtype=torch.bool), torch.randn(*batch, 7)
    logits, features = net.forward_train(x, alive, state)
    values = net.value(features)
    assert logits.shape == (*batch, n, 2) and values.shape == (*batch, n)
    torch.testing.assert_close(values, net.value(net.value_features(x, alive, state)))
    (logits.sum() + values.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_state_critic_hears_the_whole_state_without_communication():
    """With comm 'none' an agent's value depends only on its own row, unless
    the critic reads the global state: then another agent's part of it counts."""
    torch.manual_seed(0)
    net = BiCNetActorCritic(in_features=3, action_features=2, state_features=9, comm="none")
    x, alive = torch.randn(3, 3), torch.ones(3, dtype=torch.bool)
    state = torch.randn(9)
    moved = state.clone()
    moved[6:] += 1.0  # agent 2's part of the state
    before = net.value(net.value_features(x, alive, state))
    after = net.value(net.value_features(x, alive, moved))
    assert float((after[0] - before[0]).abs()) > 1e-4
    local = BiCNetActorCritic(in_features=3, action_features=2, comm="none")
    x_moved = x.clone()
    x_moved[2] += 1.0
    v0 = local.value(local.value_features(x, alive))[0]
    torch.testing.assert_close(local.value(local.value_features(x_moved, alive))[0], v0)
    with pytest.raises(ValueError, match="reads a global state of 9 features, got None"):
        net.value_features(x, alive)


def test_state_critic_needs_its_own_trunk():
    with pytest.raises(ConfigError, match="set model.share_actor_critic to false"):
        BiCNetConfig.from_dict({"critic_input": "state", "share_actor_critic": True})
    with pytest.raises(ConfigError, match="unknown model.critic_input 'global'"):
        BiCNetConfig.from_dict({"critic_input": "global"})


@pytest.mark.parametrize("build", ["actor_critic", "critic_net"])
def test_critic_comm_none_gives_a_communicating_policy_a_local_critic(build):
    """With critic_comm 'none' agent 0's policy still hears agent 2, but its
    value (or Q) reads agent 0's own row only; without it both hear agent 2."""
    torch.manual_seed(0)
    x, alive = torch.randn(3, 4), torch.ones(3, dtype=torch.bool)
    x_moved = x.clone()
    x_moved[2] += 1.0

    def outputs(options):
        config = BiCNetConfig.from_dict({"comm": "bilstm", "encoder_hidden": [8], "comm_hidden": 4,
                                         "head_hidden": [8], **options})
        if build == "actor_critic":
            net = config.build_actor_critic(4, 2)
            return lambda obs: (net(obs, alive)[0], net.value(net.value_features(obs, alive))[0])
        actor, critic = config.build_net(4, 2), config.build_net(4, 1, critic=True)
        return lambda obs: (actor(obs, alive)[0], critic(obs, alive)[0, 0])

    def differs(a, b):
        return float((a - b).abs().max()) > 1e-8

    for options, critic_hears in (({"critic_comm": "none"}, False), ({}, True), ({"critic_comm": "mean"}, True)):
        run = outputs(options)
        with torch.no_grad():
            (pi, value), (pi_moved, value_moved) = run(x), run(x_moved)
        assert differs(pi_moved, pi)  # the policy hears agent 2 either way
        assert differs(value_moved, value) == critic_hears, options


def test_critic_comm_is_checked():
    with pytest.raises(ConfigError, match="unknown model.critic_comm 'lstm'"):
        BiCNetConfig.from_dict({"critic_comm": "lstm"})
    with pytest.raises(ConfigError, match="critic_comm: none needs a critic trunk of its own.*share_actor_critic"):
        BiCNetConfig.from_dict({"critic_comm": "none", "share_actor_critic": True})
    BiCNetConfig.from_dict({"critic_comm": "bilstm", "share_actor_critic": True})  # the same layer: fine
    assert BiCNetConfig.from_dict({"comm": "mean"}).critic_comm_kind == "mean"


def test_agent_linear_equals_one_linear_layer_per_agent():
    from rllib_shared.nn.layers import AgentLinear

    layer = AgentLinear(3, 4, 2)
    x = torch.randn(5, 3, 4)
    for i in range(3):
        torch.testing.assert_close(layer(x)[:, i], x[:, i] @ layer.weight[i] + layer.bias[i])


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
@pytest.mark.parametrize("n", [1, 3, 16])
def test_per_agent_weights_shapes_and_gradients(batch, n):
    net = BiCNetConfig.from_dict({"share_params": False, "encoder_hidden": [8], "comm_hidden": 4,
                                  "head_hidden": [8]}).build_actor_critic(5, 2, n_agents=n)
    x, alive = torch.randn(*batch, n, 5), torch.ones(*batch, n, dtype=torch.bool)
    logits, features = net.forward_train(x, alive)
    values = net.value(features)
    assert logits.shape == (*batch, n, 2) and values.shape == (*batch, n)
    (logits.sum() + values.sum()).backward()
    # With one agent the RNN's agent-to-agent weights see only its zero start state.
    silent = {n for n, _ in net.named_parameters() if "weight_hh" in n} if n == 1 else set()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for name, p in net.named_parameters()
               if name not in silent)


@pytest.mark.parametrize("comm", ["mean", "none"])
def test_share_params_false_gives_agents_their_own_weights(comm):
    """With order-free (or no) communication and one input for every agent,
    shared weights give every agent the same output; per-agent weights do not."""
    torch.manual_seed(0)
    x, alive = torch.randn(1, 5).expand(3, 5), torch.ones(3, dtype=torch.bool)
    outputs = {}
    for share in (True, False):
        config = BiCNetConfig.from_dict({"comm": comm, "share_params": share})
        outputs[share] = config.build_net(5, 2, n_agents=3)(x, alive)
    torch.testing.assert_close(outputs[True][0], outputs[True][1])
    assert float((outputs[False][0] - outputs[False][1]).abs().max()) > 1e-4


def test_parameter_count_grows_with_the_team_only_without_sharing():
    def count(share, n):
        net = BiCNetConfig.from_dict({"share_params": share}).build_actor_critic(5, 2, n_agents=n)
        return sum(p.numel() for p in net.parameters())

    assert count(True, 3) == count(True, 16)
    assert count(False, 16) > count(False, 3) > count(True, 3)
    comm = sum(p.numel() for p in AgentCommunication(in_features=64, hidden=64, kind="bilstm").parameters())
    # Everything but the two communication layers (actor and critic) is per agent.
    assert count(False, 6) - 2 * comm == 2 * (count(False, 3) - 2 * comm)


def test_share_params_is_a_boolean():
    with pytest.raises(ConfigError, match="model.share_params must be true or false"):
        BiCNetConfig.from_dict({"share_params": "false"})


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
@pytest.mark.parametrize("n", [1, 3, 16])
def test_cnn_encoder_shapes_and_gradients(batch, n):
    config = BiCNetConfig.from_dict({"encoder": "cnn", "conv_filters": [[4, 3, 1], [8, 3, 2]], "comm": "mean",
                                     "encoder_hidden": [8], "comm_hidden": 4, "head_hidden": [8]})
    net = config.build_actor_critic(7 * 7 * 3, 2, n_agents=n, image_shape=(7, 7, 3))
    x, alive = torch.randn(*batch, n, 7 * 7 * 3), torch.ones(*batch, n, dtype=torch.bool)
    logits, features = net.forward_train(x, alive)
    values = net.value(features)
    assert logits.shape == (*batch, n, 2) and values.shape == (*batch, n)
    (logits.sum() + values.sum()).backward()
    # A lone agent has no teammates to hear: its message layer gets no gradient.
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for name, p in net.named_parameters()
               if not (n == 1 and ".comm." in name))


def test_cnn_encoder_sees_each_agents_image_in_its_channels_last_layout():
    """One 1x1 filter that reads channel 2 returns, per agent, exactly that
    channel of its own image: the flattened rows are unflattened as PettingZoo's (H, W, C)."""
    from rllib_shared.nn.encoders import ConvEncoder

    encoder = ConvEncoder((4, 5, 3), [[1, 1, 1]], nn.Identity)
    with torch.no_grad():
        encoder.convs[0].weight.zero_()
        encoder.convs[0].weight[0, 2] = 1.0
        encoder.convs[0].bias.zero_()
    images = torch.randn(2, 3, 4, 5, 3)  # (B, n, H, W, C)
    out = encoder(images.reshape(2, 3, -1))
    torch.testing.assert_close(out, images[..., 2].reshape(2, 3, 20))


@pytest.mark.parametrize("options, message", [
    ({"encoder": "conv"}, "unknown model.encoder 'conv'"),
    ({"encoder": "cnn", "conv_filters": [[16, 3]]}, "model.conv_filters must be a list of \\[out_channels, kernel, stride\\]"),
    ({"encoder": "cnn", "conv_filters": [[16, 0, 1]]}, "model.conv_filters must be"),
    ({"encoder": "cnn", "conv_filters": 16}, "model.conv_filters must be"),
    ({"encoder": "cnn", "share_params": False}, "share_params: false needs the mlp encoder"),
    ({"encoder": "cnn", "critic_input": "state"}, "critic_input: state needs the mlp encoder"),
])
def test_cnn_options_are_checked(options, message):
    with pytest.raises(ConfigError, match=message):
        BiCNetConfig.from_dict(options)


# ------------------------------------------------------------ memory over time

def memory_net(kind: str, n: int, share: bool = True, **options) -> BiCNetActorCritic:
    config = BiCNetConfig.from_dict({"memory": kind, "memory_hidden": 6, "share_params": share,
                                     "encoder_hidden": [8], "comm_hidden": 4, "head_hidden": [8], **options})
    return config.build_actor_critic(5, 2, n_agents=n)


def batched_memory(net: BiCNetActorCritic, batch: tuple, n: int) -> dict:
    return {k: v.expand(*batch, n, v.shape[-1]) for k, v in net.initial_memory(n).items()}


@pytest.mark.parametrize("batch", [(), (4,)])
@pytest.mark.parametrize("n", [1, 3, 16])
@pytest.mark.parametrize("kind, share", [("lstm", True), ("gru", True), ("lstm", False)])
def test_memory_shapes_and_gradients(batch, n, kind, share):
    """Inputs (*B, T, n, F) with *B of () or (B,): every output keeps the T axis,
    the memory state is (*B, n, H), and every parameter gets a gradient."""
    net, steps = memory_net(kind, n, share), 3
    x, alive = torch.randn(*batch, steps, n, 5), torch.ones(*batch, steps, n, dtype=torch.bool)
    logits, memory = net.step(x, alive, batched_memory(net, batch, n))
    assert logits.shape == (*batch, steps, n, 2)
    assert sorted(memory) == (["c", "h"] if kind == "lstm" else ["h"])
    assert all(m.shape == (*batch, n, 6) for m in memory.values())
    logits, features = net.forward_train(x, alive, memory=batched_memory(net, batch, n))
    values = net.value(features)
    assert values.shape == (*batch, steps, n)
    (logits.sum() + values.sum()).backward()
    silent = {name for name, _ in net.named_parameters() if "weight_hh" in name} if n == 1 else set()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for name, p in net.named_parameters()
               if name not in silent), [name for name, p in net.named_parameters() if p.grad is None]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_sequence_in_one_pass_equals_stepping_through_it(kind):
    """Training runs whole sequences; acting runs one step at a time, carrying
    the state: both give the same outputs and the same final state."""
    torch.manual_seed(0)
    net, n, steps = memory_net(kind, 3), 3, 6
    x, alive = torch.randn(2, steps, n, 5), torch.rand(2, steps, n) > 0.2
    whole, whole_memory = net.step(x, alive, batched_memory(net, (2,), n))
    memory, stepped = batched_memory(net, (2,), n), []
    for t in range(steps):
        out, memory = net.step(x[:, t : t + 1], alive[:, t : t + 1], memory)
        stepped.append(out)
    torch.testing.assert_close(torch.cat(stepped, dim=1), whole)
    for key in whole_memory:
        torch.testing.assert_close(memory[key], whole_memory[key])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_memory_carries_the_first_step_to_the_last_and_a_fresh_state_forgets(kind):
    torch.manual_seed(0)
    net, n = memory_net(kind, 2, comm="none"), 2
    x, alive = torch.zeros(1, 5, n, 5), torch.ones(1, 5, n, dtype=torch.bool)
    cue = x.clone()
    cue[0, 0, 0, 0] = 3.0  # agent 0 sees something at step 0 only
    plain, _ = net.step(x, alive, batched_memory(net, (1,), n))
    cued, memory = net.step(cue, alive, batched_memory(net, (1,), n))
    assert float((cued[0, -1, 0] - plain[0, -1, 0]).abs().max()) > 1e-5  # remembered at step 4
    torch.testing.assert_close(cued[0, -1, 1], plain[0, -1, 1])  # the other agent never heard it
    later, _ = net.step(x[:, :1], alive[:, :1], memory)
    fresh, _ = net.step(x[:, :1], alive[:, :1], batched_memory(net, (1,), n))
    torch.testing.assert_close(fresh[0, 0], plain[0, 0])  # a fresh state: as if nothing happened
    assert float((later - fresh).abs().max()) > 1e-5


def test_per_agent_memory_weights_grow_with_the_team():
    def count(share, n):
        return sum(p.numel() for p in memory_net("gru", n, share).memory.parameters())

    assert count(True, 3) == count(True, 16)
    assert count(False, 16) == count(False, 1) * 16


def test_memory_options_are_checked():
    with pytest.raises(ConfigError, match="unknown model.memory 'rnn'"):
        BiCNetConfig.from_dict({"memory": "rnn"})
    for name in ("memory_hidden", "max_seq_len"):
        for bad in (0, -3, 2.5, True, "8"):
            with pytest.raises(ConfigError, match=f"model.{name} must be a positive int"):
                BiCNetConfig.from_dict({"memory": "lstm", name: bad})
    net = memory_net("lstm", 3)
    with pytest.raises(ValueError, match="pass its state"):
        net(torch.zeros(4, 3, 5), torch.ones(4, 3, dtype=torch.bool))
