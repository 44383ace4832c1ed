#!/usr/bin/env bash
# Create simulations/peers/.venv312 (Python 3.12) with the two peer map matchers and
# osmium (OSM XML -> PBF). Benchmark only: none of these is a runtime dependency.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv312"

find_python() {
  local c
  for c in "${PYTHON312:-}" python3.12 "$(command -v pyenv >/dev/null && pyenv root)/versions/"3.12*/bin/python3.12; do
    [ -n "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && {
      echo "$c"
      return 0
    }
  done
  return 1
}

py="$(find_python)" || { echo "setup.sh: no Python 3.12 found (set PYTHON312=/path/to/python3.12)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "pyvalhalla==3.9.1" "osrm-bindings==26.10.0" "osmium==4.3.2"
"$venv/bin/python" -c 'import valhalla, osrm, osmium; print("peers venv ready:", valhalla.__version__)'
