#!/usr/bin/env bash
# Loads the demo city (seeds/demo-city.json, or the file given) into the registry through its HTTP
# API, as a city-admin token minted with AUTH_JWT_SECRET. scripts/up.sh runs it once the services are
# ready; run it again any time: records already there are counted, not duplicated.
#   REGISTRY_URL     the registry (default http://127.0.0.1:8081)
#   AUTH_JWT_SECRET  the secret the services verify tokens with (required)
# Exit status: 0 all loaded or already there, 1 some records failed, 2 could not start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
command -v python3 >/dev/null || { echo "load-seeds: python3 is needed" >&2; exit 2; }
exec python3 "$ROOT/scripts/load_seeds.py" "$@"
