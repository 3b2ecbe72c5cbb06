#!/usr/bin/env bash
# Install what is missing, build the wasm package and the demo, and serve it on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh all
scripts/build.sh
exec node scripts/serve.mjs --port "${PORT:-8080}"
