#!/usr/bin/env bash
# Install everything the test suite needs, then run it.
# Debian packages (graphviz for `dot`, chromium for the browser tests, haproxy for the class tests)
# need root or sudo; the Python packages go into the active Python environment (the README makes
# and activates .venv first).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v dot >/dev/null || need+=(graphviz)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v haproxy >/dev/null || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo); else
    echo "Please install the Debian packages: ${need[*]} (they need root)" >&2; exit 1
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${need[@]}" fonts-dejavu-core >/dev/null
fi
python3 -m pip install -q -r requirements-dev.txt
# one BLAS thread: the core's matrices are small, and threads only contend on 2 cores
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
python3 -m pytest "$@"
