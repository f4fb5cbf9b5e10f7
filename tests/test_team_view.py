"""The team-view layout shared by the connector, the modules and load_policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rllib_shared.errors import ConfigError
from rllib_shared.team.groups import natural_sorted
from rllib_shared.team.layout import TeamLayout, select_self, split_team_view


def test_agent_axis_follows_natural_order_not_dict_order():
    spaces = {a: gym.spaces.Box(-1, 1, (2,)) for a in ["agent_10", "agent_2", "agent_1"]}
    assert TeamLayout.from_spaces(spaces).agents == ("agent_1", "agent_2", "agent_10")
    assert natural_sorted(["a_3", "a_20", "a_100"]) == ["a_3", "a_20", "a_100"]


def test_encode_pads_flattens_one_hots_and_flags():
    spaces = {
        "a_0": gym.spaces.Box(-1, 1, (2, 2)),
        "a_1": gym.spaces.Discrete(3, start=1),
        "a_2": gym.spaces.Box(-1, 1, (1,)),
    }
    layout = TeamLayout.from_spaces(spaces)
    assert (layout.n_agents, layout.features, layout.width) == (3, 4, 6)
    views = layout.encode({"a_2": np.array([0.5]), "a_1": 2, "a_0": np.arange(4).reshape(2, 2)})
    team = views["a_1"]
    np.testing.assert_array_equal(team[0], [0, 1, 2, 3, 1, 0])
    np.testing.assert_array_equal(team[1], [0, 1, 0, 0, 1, 1])  # one-hot of 2 with start=1
    np.testing.assert_array_equal(team[2], [0.5, 0, 0, 0, 1, 0])
    for k, agent in enumerate(layout.agents):
        assert views[agent][:, -1].tolist() == [float(i == k) for i in range(3)]


def test_absent_agents_are_dead_rows():
    layout = TeamLayout.from_spaces({a: gym.spaces.Box(-1, 1, (1,)) for a in ["x_0", "x_1", "x_2"]})
    views = layout.encode({"x_0": np.array([1.0]), "x_2": np.array([2.0])})
    assert set(views) == {"x_0", "x_2"}
    assert views["x_0"][:, -2].tolist() == [1.0, 0.0, 1.0]
    assert not views["x_0"][1].any()


def test_split_and_select_self():
    layout = TeamLayout.from_spaces({a: gym.spaces.Box(-1, 1, (1,)) for a in ["x_0", "x_1"]})
    views = layout.encode({"x_0": np.array([3.0]), "x_1": np.array([4.0])})
    batch = torch.from_numpy(np.stack([views["x_1"], views["x_0"]]))
    features, alive, self_index = split_team_view(batch)
    assert features.shape == (2, 2, 1) and alive.all() and self_index.tolist() == [1, 0]
    assert select_self(features, self_index).squeeze(-1).tolist() == [4.0, 3.0]


def test_unsupported_observation_space_is_named():
    with pytest.raises(ConfigError, match="agent 'a_0'.*FlattenObservation"):
        TeamLayout.from_spaces({"a_0": gym.spaces.Dict({"x": gym.spaces.Discrete(2)})})


def test_uint8_image_observations_are_scaled_to_unit_range():
    layout = TeamLayout.from_spaces({"cam_0": gym.spaces.Box(0, 255, (2, 2), np.uint8)})
    team = layout.encode_team({"cam_0": np.array([[0, 255], [51, 102]], np.uint8)})
    np.testing.assert_allclose(team[0, :4], [0.0, 1.0, 0.2, 0.4])


@pytest.mark.parametrize("obs, message", [
    (7, "observation 7 is outside its space Discrete"),
    (-1, "observation -1 is outside its space Discrete"),
    (1.5, "observation 1.5 is not one integer of its space Discrete"),
    (np.array([1, 2]), r"observation array\(\[1, 2\]\) is not one integer"),
    ("2", "observation '2' is not one integer"),
])
def test_discrete_observations_out_of_range_are_refused(obs, message):
    layout = TeamLayout.from_spaces({"a_0": gym.spaces.Discrete(3), "a_1": gym.spaces.Discrete(3)})
    with pytest.raises(ConfigError, match=message):
        layout.encode_team({"a_0": 1, "a_1": obs})


@pytest.mark.parametrize("shape", [(1,), (4,), (2, 3)])
def test_box_observations_of_the_wrong_size_are_refused(shape):
    layout = TeamLayout.from_spaces({"a_0": gym.spaces.Box(-1, 1, (2,))})
    with pytest.raises(ConfigError, match=r"agent 'a_0': observation of shape .* does not fit its space Box"):
        layout.encode({"a_0": np.zeros(shape)})


@pytest.mark.parametrize("obs, message", [
    (np.array(["0.1", "0.2"]), "observation of dtype <U3 is not numbers"),
    (np.array([0.1, None], dtype=object), "observation of dtype object is not numbers"),
    (np.array([0.1, np.nan]), "observation has NaN or inf"),
    (np.array([np.inf, 0.0]), "observation has NaN or inf"),
])
def test_box_observations_that_are_not_finite_numbers_are_refused(obs, message):
    layout = TeamLayout.from_spaces({"a_0": gym.spaces.Box(-1, 1, (2,))})
    with pytest.raises(ConfigError, match=f"agent 'a_0': {message}"):
        layout.encode({"a_0": obs})
    # Integer and boolean arrays are numbers.
    assert layout.encode_team({"a_0": np.array([1, 0])})[0, :2].tolist() == [1.0, 0.0]
