#!/usr/bin/env python
"""Run a trained team greedily and print per-agent and team returns.

    python scripts/evaluate.py results/bicnet_ppo_guessing_sum --episodes 10 --gif team.gif
    python scripts/evaluate.py results/bicnet_ppo_guessing_sum --ablate-messages

``--ablate-messages`` plays the same episodes again with every agent hearing
its teammates from other episodes, and once more with every agent alone,
and prints the drops in team return: how much the communication channel is
worth.

CHECKPOINT may be a checkpoint dir, a trial dir or an experiment dir (the
newest checkpoint inside is used). No Ray session is started.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rllib_shared import ConfigError
from rllib_shared.evaluation import evaluate, message_ablation
from rllib_shared.inference import find_checkpoint, load_policy, read_algorithm_config


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, before any episode is played (None: nothing)."""
    if args.episodes < 1:
        return f"--episodes must be at least 1, got {args.episodes}"
    if args.ablate_messages and args.explore:
        return "--ablate-messages compares greedy play; drop --explore"
    if args.gif:
        gif = Path(args.gif)
        if gif.suffix.lower() != ".gif":
            return f"--gif {args.gif!r} must end in .gif"
        if gif.is_dir():
            return f"--gif {args.gif!r} is a directory; give a file name such as {gif / 'team.gif'}"
        existing = next((p for p in (gif.parent, *gif.parent.parents) if p.exists()), Path("."))
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            return f"--gif {args.gif!r}: cannot write under {str(existing)!r}"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gif", help="write the first episode as an animated GIF here")
    parser.add_argument("--explore", action="store_true", help="sample actions instead of greedy")
    parser.add_argument("--ablate-messages", action="store_true",
                        help="also play the episodes with teammates heard from other episodes, "
                             "and with every agent alone")
    args = parser.parse_args(argv)
    problem = check_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        checkpoint = find_checkpoint(args.checkpoint)
        policy = load_policy(checkpoint)
        config = read_algorithm_config(checkpoint)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    act = (lambda obs: policy(obs, explore=True)) if args.explore else policy
    print(f"checkpoint {checkpoint}\nenv {config['env']} {config.get('env_config') or {}}")
    result = evaluate(
        act, config["env"], config.get("env_config"),
        episodes=args.episodes, seed=args.seed, gif=args.gif,
    )
    print(result.summary())
    if args.ablate_messages:
        ablation = message_ablation(policy, config["env"], config.get("env_config"),
                                    episodes=args.episodes, seed=args.seed)
        print(f"message ablation: {ablation.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
