#!/usr/bin/env bash
# Installs, only when missing, everything the build and the tests need.
# Nothing is downloaded from outside the package registries (crates.io, PyPI, npm, Debian).
#   scripts/bootstrap.sh            # everything
#   scripts/bootstrap.sh rust       # wasm target, wasm-bindgen-cli, wasm-pack
#   scripts/bootstrap.sh browser    # chromium + chromedriver + node packages
#   scripts/bootstrap.sh python     # the venv for golden files and benchmarks
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
what="${1:-all}"
log() { printf '[bootstrap] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"

# The exact wasm-bindgen version pinned in Cargo.lock (the CLI must match it byte for byte).
lock_wbg_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock
}

install_rust() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  [ -f Cargo.lock ] || cargo generate-lockfile
  local want; want="$(lock_wbg_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (cargo, a few minutes)"
    # not --locked: one of its locked dependencies is missing from the registry (docs/BUILD.md)
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
  if ! command -v wasm-pack >/dev/null 2>&1; then
    log "installing wasm-pack (cargo, a few minutes)"
    cargo install wasm-pack --locked
  fi
}

install_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing nodejs + npm (Debian)"
    apt_install nodejs npm
  fi
  # package-lock.json pins binaryen (wasm-opt 132), playwright-core (drives Debian's chromium),
  # and the review page's Label Studio frontend and Chart.js (copied into www/vendor by build.sh)
  if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] ||
    [ ! -f node_modules/@heartexlabs/label-studio/build/static/js/main.js ] || [ ! -f node_modules/chart.js/dist/chart.umd.min.js ]; then
    log "npm ci (binaryen, playwright-core, Label Studio's frontend, Chart.js)"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install_browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing chromium + chromium-driver (Debian)"
    apt_install chromium chromium-driver
  fi
  install_node
}

install_python() {
  local venv="$root/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv"
  fi
  # every scripts/requirements*.txt; re-run pip only when one changed since the last install
  local stamp="$venv/.requirements.sha256" want
  want="$(cat scripts/requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    for r in scripts/requirements*.txt; do
      log "pip install -r $r"
      "$venv/bin/pip" install -q -r "$r"
    done
    echo "$want" > "$stamp"
  fi
}

case "$what" in
  rust) install_rust ;;
  browser) install_browser ;;
  node) install_node ;;
  python) install_python ;;
  all) install_rust; install_browser ;;
  *) echo "unknown part: $what" >&2; exit 2 ;;
esac
