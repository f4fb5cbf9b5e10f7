"""build_config: what it fills in and every error it documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from rllib_shared import (
    ENV_NAMES,
    ConfigError,
    build_config,
    experiment_settings,
    load_yaml,
    map_to_shared_policy,
)
from rllib_shared.registry import base_env_name
from rllib_shared.algorithms.ppo import TeamPPOTorchLearner, TeamPPOTorchRLModule
from rllib_shared.algorithms.rows import BiCNetAPPOTorchRLModule, BiCNetPPOTorchRLModule

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
BASE = {"env": "guessing_sum_v0"}
BICNET = {"algo": "BiCNet", "env": "guessing_sum_v0"}


def test_ppo_fills_in_the_team_env_one_policy_module_and_learner():
    config = build_config({**BASE, "model": {"comm": "bigru"}, "lr": 1e-3, "lambda": 0.9})
    assert config["env"] == "guessing_sum_v0-team"
    assert config["policies"] == {"shared"}
    assert config["policy_mapping_fn"] is map_to_shared_policy
    assert config["_learner_class"] is TeamPPOTorchLearner
    spec = config["rl_module_spec"].rl_module_specs["shared"]
    assert spec.module_class is TeamPPOTorchRLModule
    assert spec.model_config["comm"] == "bigru"
    assert config["lr"] == 1e-3 and config["lambda"] == 0.9
    assert "algo" not in config and "model" not in config


@pytest.mark.parametrize("algo, module", [("IMPALA", BiCNetPPOTorchRLModule), ("APPO", BiCNetAPPOTorchRLModule)])
def test_appo_and_impala_train_on_per_agent_rows(algo, module):
    config = build_config({**BASE, "algo": algo})
    assert config["env"] == "guessing_sum_v0"
    assert config["rl_module_spec"].rl_module_specs["shared"].module_class is module
    assert "_env_to_module_connector" in config


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_yaml_in_configs_builds(path):
    config = build_config(load_yaml(path))
    assert base_env_name(config["env"]) in ENV_NAMES


ERRORS = [
    ({**BASE, "lrr": 0.1}, "unknown key 'lrr' in the PPO config; did you mean 'lr'"),
    ({**BASE, "train_batch_size_per_lerner": 10}, "did you mean 'train_batch_size_per_learner'"),
    ({**BASE, "algo": "DQN"}, "unknown algo 'DQN'.*valid values: PPO, APPO, IMPALA, BiCNet"),
    ({"lr": 0.1}, "needs 'env'"),
    ({"env": "simple_spred"}, "unknown env name 'simple_spred'.*valid values: " + ", ".join(ENV_NAMES)),
    ({"env": "CartPole-v1"}, "valid values: " + ", ".join(ENV_NAMES)),
    ({**BASE, "env_to_module_connector": None}, "silently ignores 'env_to_module_connector'"),
    ({**BASE, "model_config": {}}, "'model_config' is a read-only property.*under 'model'"),
    ({**BASE, "custom_model": "x"}, "old API stack"),
    ({**BASE, "policies": {"a"}}, "'policies' is set by build_config.*'groups' and 'group_policies'"),
    ({**BASE, "groups": ["agent_*"]}, "'groups' must be 'prefix' or a non-empty dict"),
    ({**BASE, "algo": "APPO", "groups": "prefix", "env": "pettingzoo",
      "env_config": {"pettingzoo_env": "mpe2.simple_adversary_v3"}}, "algo APPO .* has no agent groups"),
    ({**BASE, "_model_config": {}}, "set the BiCNet options under 'model'"),
    ({**BASE, "lr": "3e-4"}, "'lr' must be a number.*write 3.0e-4"),
    ({**BASE, "gamma": 1.5}, r"config key 'gamma' must be a number in \[0, 1\], got 1.5"),
    ({**BASE, "lr": -1}, "config key 'lr' must be a number > 0"),
    ({**BASE, "lr": True}, "config key 'lr' must be a number > 0"),
    ({**BASE, "num_epochs": 2.5}, "config key 'num_epochs' must be an integer >= 1, got 2.5"),
    ({**BASE, "num_epochs": 0}, "config key 'num_epochs' must be an integer >= 1, got 0"),
    ({**BASE, "train_batch_size_per_learner": 0}, "'train_batch_size_per_learner' must be an integer >= 1"),
    ({**BASE, "normalize_actions": "false"}, "'normalize_actions' must be true or false \\(unquoted\\)"),
    ({**BICNET, "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 0}},
     "replay_buffer_config.capacity must be an integer >= 1, got 0"),
    ({**BASE, "model": {"hidden": 3}}, "unknown key 'hidden' in the model config"),
    ({**BASE, "env_config": {"agents": 3}}, "unknown key 'agents' in env_config of guessing_sum_v0; did you mean 'n_agents'"),
    ({**BASE, "stop": 10}, "'stop' must be a dict"),
    ({**BASE, "stop": {"training_iterations": 5}}, "unknown key 'training_iterations' in 'stop'; did you mean "
     "'training_iteration'.*never stops"),
    ({**BASE, "stop": {"env_runners/episode_reward_mean": 5}}, "did you mean 'episode_return_mean'"),
    ({**BASE, "stop": {"num_env_steps_sampled_lifetime": "2e2"}}, "stop.num_env_steps_sampled_lifetime must be a "
     "number, got '2e2' \\(YAML reads"),
    ({**BASE, "stop": {"training_iteration": True}}, "stop.training_iteration must be a number"),
    ({**BASE, "checkpoint": {"every": 3}}, "unknown key 'every' in the checkpoint section"),
    ({**BASE, "checkpoint": {"frequency": -1}}, "checkpoint.frequency must be an int >= 0"),
    ({**BASE, "checkpoint": {"num_to_keep": 0}}, "checkpoint.num_to_keep must be an int >= 1"),
    ({"env": "pettingzoo", "env_config": {"pettingzoo_env": "mpe2.simple_world_comm_v3"}},
     "group 'team' mixes action spaces"),
    ({"env": "pettingzoo", "env_config": {"pettingzoo_env": "multidiscrete_env"}},
     "has action space MultiDiscrete.*cannot handle"),
    # algo BiCNet
    ({**BICNET, "final_gumbel_temperature": -1}, "final_gumbel_temperature must be a number > 0, got -1"),
    ({**BICNET, "lr": 1e-3}, "set actor_lr and critic_lr, not lr"),
    ({**BICNET, "env": "Pendulum-v1"}, "unknown env name 'Pendulum-v1'"),
    ({**BICNET, "actor_lrr": 1e-3}, "unknown key 'actor_lrr' in the BiCNet config; did you mean 'actor_lr'"),
    ({**BICNET, "n_step": 0}, "n_step must be an integer >= 1, got 0"),
    ({**BICNET, "exploration_noise_type": "ou", "env_config": {"continuous": False}}, "is for real actions"),
    ({**BICNET, "tau": 0.0}, r"config key 'tau' must be a number in \(0, 1\], got 0.0"),
    ({**BICNET, "normalize_actions": False}, "needs normalize_actions: true"),
    ({**BICNET, "replay_buffer_config": {"type": "ReplayBuffer"}}, "replay_buffer_config.type must be one of"),
    ({**BICNET, "model": {"share_actor_critic": True}}, "share_actor_critic does not apply"),
]


@pytest.mark.parametrize("user_config, message", ERRORS, ids=[m[:30] for _, m in ERRORS])
def test_documented_errors(user_config, message):
    with pytest.raises(ConfigError, match=message):
        build_config(user_config)


def test_bicnet_config_names_the_team_env_and_model():
    config = build_config({**BICNET, "model": {"comm": "bigru"}, "tau": 0.05})
    assert config["env"] == "guessing_sum_v0-team"
    assert config["_model_config"]["comm"] == "bigru" and config["tau"] == 0.05
    assert config["policies"] == {"shared"} and "rl_module_spec" not in config


def test_experiment_settings():
    settings = experiment_settings({**BASE, "algo": "APPO", "stop": {"training_iteration": 3},
                                    "checkpoint": {"frequency": 2, "num_to_keep": 1}})
    assert (settings.algo, settings.stop) == ("APPO", {"training_iteration": 3})
    assert (settings.checkpoint.frequency, settings.checkpoint.num_to_keep, settings.checkpoint.at_end) == (2, 1, True)


def test_config_must_be_a_mapping():
    with pytest.raises(ConfigError, match="must be a dict"):
        build_config(["env", "guessing_sum_v0"])


def test_load_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(tmp_path / "list.yaml")


def test_yaml_syntax_errors_name_the_file_and_the_override(tmp_path):
    from rllib_shared.config import apply_overrides, load_yaml

    bad = tmp_path / "bad.yaml"
    bad.write_text("env: guessing_sum_v0\nmodel: {comm: bilstm\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML: .*line"):
        load_yaml(bad)
    with pytest.raises(ConfigError, match=r"override 'model.encoder_hidden=\[64': the value .* is not valid YAML"):
        apply_overrides({}, ["model.encoder_hidden=[64"])


def test_random_wrong_values_of_documented_settings_always_give_config_error():
    """A few hundred wrong values for the checked settings: each is one ConfigError,
    never another exception and never accepted."""
    import random

    from rllib_shared.settings import RULES

    rng = random.Random(0)
    wrong_any = [True, False, "3", "0.5", "false", {"a": 1}, [[0, "x"]], [1, 2], float("nan"), float("inf")]
    cases = []
    for attr, rule in RULES.items():
        key = "lambda" if attr == "lambda_" else attr
        wrong = [v for v in wrong_any if not rule.ok(v)]
        if rule.low is not None:
            wrong.append(rule.low - rng.uniform(0.5, 100))
            if rule.low_open:
                wrong.append(rule.low)
        if rule.high is not None:
            wrong.append(rule.high + rng.uniform(0.01, 100))
        if rule.kind is int:
            wrong.append(rng.randint(1, 50) + 0.5)
        if None not in rule.allow:
            wrong.append(None)
        cases += [(key, value) for value in wrong]
    rng.shuffle(cases)
    assert len(cases) >= 200
    for key, value in cases:
        base = BICNET if key in ("tau", "actor_lr", "critic_lr", "num_steps_sampled_before_learning_starts") else BASE
        if base is BICNET and key in ("lr",):
            continue
        with pytest.raises(ConfigError, match=f"'{key}'"):
            build_config({**base, key: value})


def test_valid_boundary_values_pass():
    build_config({**BASE, "gamma": 1.0, "lambda": 0.0, "lr": [[0, 1e-3], [1000, 1e-4]], "entropy_coeff": 0.0,
                  "grad_clip": None, "rollout_fragment_length": "auto", "seed": None, "num_env_runners": 0})
