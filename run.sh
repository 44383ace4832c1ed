#!/usr/bin/env bash
# The two commands a fresh machine needs:
#   ./run.sh demo   the service on Kupang's data with 50 simulated trucks, map in a browser
#   ./run.sh test   the whole test suite
# Each creates the virtual environment in .venv on first use.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
venv=.venv
stamp=$venv/.installed

setup() {
  if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e ".[test,prod]"
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)
    shift
    setup
    exec "$venv/bin/fleet" demo "$@"
    ;;
  test)
    shift
    setup
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh demo [--port N] | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
