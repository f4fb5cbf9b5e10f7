"""Learning-curve PNGs (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


MAX_LEGEND = 12
"""Above this many agents the per-agent panel draws thin lines without a legend."""


def plot_learning_curve(
    env_steps: Sequence[float],
    team_return: Sequence[float],
    agent_returns: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str = "",
) -> Path:
    """Team return (left) and per-agent returns (right) against env steps."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_team, ax_agents) = plt.subplots(1, 2, figsize=(11, 4))
    ax_team.plot(env_steps, team_return, color="black")
    ax_team.set(title="team return (sum over agents)", xlabel="env steps", ylabel="return")
    many = len(agent_returns) > MAX_LEGEND
    for agent, returns in agent_returns.items():
        ax_agents.plot(env_steps[: len(returns)], returns, label=agent,
                       **({"linewidth": 0.6, "alpha": 0.5} if many else {}))
    ax_agents.set(title=f"per-agent return ({len(agent_returns)} agents)" if many else "per-agent return",
                  xlabel="env steps")
    if agent_returns and not many:
        ax_agents.legend(fontsize="small")
    for ax in (ax_team, ax_agents):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_comparison(
    panels: Mapping[str, Mapping[str, tuple[Sequence[float], ...]]],
    path: str | Path,
    references: Mapping[str, Mapping[str, float]] | None = None,
) -> Path:
    """One panel per task, one line per method: ``{task: {method: (steps, returns)}}``;
    a curve ``(steps, returns, low, high)`` also shades the band between low and high
    (e.g. the spread over seeds). ``references`` ``{task: {label: return}}`` draws
    dashed horizontal lines (e.g. scripted policies)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (task, curves) in zip(axes[0], panels.items(), strict=True):
        for method, (steps, returns, *band) in curves.items():
            (line,) = ax.plot(steps, returns, label=method)
            if band:
                ax.fill_between(steps, *band, color=line.get_color(), alpha=0.2)
        for label, value in (references or {}).get(task, {}).items():
            ax.axhline(value, linestyle="--", linewidth=0.8, color="gray")
            ax.annotate(label, (0.01, value), xycoords=("axes fraction", "data"), fontsize="x-small",
                        color="gray", va="bottom")
        ax.set(title=task, xlabel="env steps", ylabel="team return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
