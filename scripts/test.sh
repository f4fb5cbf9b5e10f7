#!/usr/bin/env bash
# Fresh machine -> test report: installs into .venv, then runs the whole suite
# (unit tests, doctests, tiny real RLlib runs, script smoke tests).
source "$(dirname "$0")/_venv.sh"
exec "$PY" -m pytest "$@"
