# Sourced by the set-up scripts: creates .venv (once) and installs the package
# with the tested pins of constraints.txt. Needs only python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RLLIB_SHARED_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first, pinned, so no resolver ever reaches for a CUDA build.
"$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" torch
"$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$ROOT[test]"
PY="$VENV/bin/python"
cd "$ROOT"
