#!/usr/bin/env bash
# Fresh machine -> trained team: installs into .venv, then trains BiCNet-PPO on
# the guessing-sum game (about 3 minutes on 2 CPU cores). Extra arguments go
# to scripts/train.py, e.g. --stop-timesteps 20000.
source "$(dirname "$0")/_venv.sh"
exec "$PY" scripts/train.py configs/bicnet_ppo_guessing_sum.yaml "$@"
