"""Running a team policy on its PettingZoo env: returns and an optional GIF."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rllib_shared.registry import base_env_name, make_pettingzoo_env, split_env_config
from rllib_shared.errors import ConfigError
from rllib_shared.team.groups import natural_sorted


@dataclasses.dataclass
class EvaluationResult:
    """Mean returns over the evaluated episodes."""

    agent_returns: dict[str, float]
    team_return: float
    episodes: int
    gif: Path | None = None

    def summary(self) -> str:
        agents = "  ".join(f"{a}: {r:8.3f}" for a, r in self.agent_returns.items())
        text = f"{self.episodes} episodes | team return {self.team_return:.3f} | {agents}"
        return text + (f"\nGIF written to {self.gif}" if self.gif else "")


def evaluate(
    policy: Callable[[Mapping[Any, Any]], Mapping[Any, Any]],
    env_name: str,
    env_config: Mapping[str, Any] | None = None,
    *,
    episodes: int = 5,
    seed: int = 0,
    gif: str | Path | None = None,
    fps: int = 10,
) -> EvaluationResult:
    """Plays ``episodes`` episodes; the first one is recorded to ``gif`` if given.

    A policy with a ``reset()`` method (a :class:`~rllib_shared.inference.TeamPolicy`
    with memory) is reset at each episode start. ``env_name`` may be a team env name (``<name>-team``, groups in its
    env_config): the PettingZoo env behind it is played.
    """
    env_config, _ = split_env_config(env_config)
    if gif is not None:
        env_config["render_mode"] = "rgb_array"
    env = make_pettingzoo_env(base_env_name(env_name), env_config)
    agents = natural_sorted(env.possible_agents)
    totals = {a: 0.0 for a in agents}
    frames = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            if callable(getattr(policy, "reset", None)):
                policy.reset()
            record = gif is not None and episode == 0
            while env.agents:
                if record:
                    frames.append(env.render())
                obs, rewards, *_ = env.step(policy(obs))
                for agent, reward in rewards.items():
                    totals[agent] += float(reward)
            if record:
                frames.append(env.render())
    finally:
        env.close()
    agent_returns = {a: totals[a] / episodes for a in agents}
    gif_path = write_gif(frames, gif, fps=fps) if gif is not None else None
    return EvaluationResult(agent_returns, float(sum(agent_returns.values())), episodes, gif_path)


def write_gif(frames: list[np.ndarray], path: str | Path, *, fps: int = 10) -> Path:
    """Writes RGB frames ``(H, W, 3)`` as an animated GIF with Pillow."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return path


class HearsOtherEpisodes:
    """A team policy whose agents hear their teammates from other episodes.

    Each agent acts on its own observation beside teammates' observations
    drawn at random from ``donors`` (recorded in other episodes), so whatever
    the channel carries about *this* episode is gone while its inputs stay
    in distribution. The policy runs once per agent per step. A policy that
    does not communicate acts exactly as before.

    Args:
        policy: ``{agent: obs} -> {agent: action}``, deterministic.
        donors: ``{agent: [observations]}`` from other episodes.
    """

    def __init__(self, policy: Callable, donors: Mapping[Any, list], *, seed: int = 0):
        self.policy = policy
        self.donors = {agent: list(observations) for agent, observations in donors.items()}
        self.rng = np.random.default_rng(seed)

    def _donor(self, agent: Any) -> Any:
        pool = self.donors[agent]
        return pool[int(self.rng.integers(len(pool)))]

    def __call__(self, observations: Mapping[Any, Any]) -> dict:
        actions = {}
        for agent, own in observations.items():
            heard = {a: own if a == agent else self._donor(a) for a in observations}
            actions[agent] = self.policy(heard)[agent]
        return actions


class HearsNobody:
    """A team policy whose agents each act alone.

    Each agent is shown only its own observation; its teammates are absent,
    as dead agents are, so the channel carries nothing from them (dead rows
    influence nobody). Unlike :class:`HearsOtherEpisodes` this adds no
    foreign input, but a team trained with every agent alive never saw
    itself alone: its inputs leave the training distribution. The policy
    runs once per agent per step; one that does not communicate acts
    exactly as before.

    Args:
        policy: ``{agent: obs} -> {agent: action}``, deterministic.
    """

    def __init__(self, policy: Callable):
        self.policy = policy

    def __call__(self, observations: Mapping[Any, Any]) -> dict:
        return {agent: self.policy({agent: own})[agent] for agent, own in observations.items()}


def record_observations(
    policy: Callable, env_name: str, env_config: Mapping[str, Any] | None = None, *, episodes: int, seed: int
) -> dict[Any, list]:
    """Every agent's observations over ``episodes`` episodes played by ``policy``."""
    recorded: dict[Any, list] = {}

    def recording(observations):
        for agent, obs in observations.items():
            recorded.setdefault(agent, []).append(obs)
        return policy(observations)

    evaluate(recording, env_name, env_config, episodes=episodes, seed=seed)
    return recorded


@dataclasses.dataclass
class MessageAblation:
    """Team returns with the channel intact, with teammates heard from other
    episodes, and with every agent alone (teammates silent)."""

    intact: EvaluationResult
    ablated: EvaluationResult
    silenced: EvaluationResult

    @property
    def drop(self) -> float:
        """How much team return the channel is worth (> 0: it carries information)."""
        return self.intact.team_return - self.ablated.team_return

    @property
    def silenced_drop(self) -> float:
        """How much team return hearing anyone at all is worth."""
        return self.intact.team_return - self.silenced.team_return

    def summary(self) -> str:
        return (
            f"team return {self.intact.team_return:.3f} with messages, "
            f"{self.ablated.team_return:.3f} with teammates heard from other episodes "
            f"(drop {self.drop:.3f}), {self.silenced.team_return:.3f} with every agent alone "
            f"(drop {self.silenced_drop:.3f}); {self.intact.episodes} episodes"
        )


def message_ablation(
    policy: Callable,
    env_name: str,
    env_config: Mapping[str, Any] | None = None,
    *,
    episodes: int = 20,
    seed: int = 0,
) -> MessageAblation:
    """Plays the same ``episodes`` (same seeds) three times: as trained, with
    every agent hearing teammates' observations from other episodes
    (:class:`HearsOtherEpisodes`; the donor episodes use other seeds), and
    with every agent alone (:class:`HearsNobody`)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if getattr(policy, "has_memory", False):
        raise ConfigError(
            "the message ablation asks the policy once per agent per step, which would advance a "
            "memory (model.memory) several times a step; it does not support policies with memory yet"
        )
    donors = record_observations(policy, env_name, env_config, episodes=episodes, seed=seed + 100_000)
    intact = evaluate(policy, env_name, env_config, episodes=episodes, seed=seed)
    ablated = evaluate(HearsOtherEpisodes(policy, donors, seed=seed), env_name, env_config,
                       episodes=episodes, seed=seed)
    silenced = evaluate(HearsNobody(policy), env_name, env_config, episodes=episodes, seed=seed)
    return MessageAblation(intact, ablated, silenced)
