#!/usr/bin/env bash
# The Label Studio round trip against a real Label Studio server (scripts/test_label_studio.py).
# Not part of scripts/test.sh: `pip install label-studio` brings about 1 GB (Django, boto3,
# OpenCV, pandas, ...) and took 141 s to 7 min 13 s on this 2-core machine, too much of the CI
# budget for one addition; with label-studio installed the test takes 1-4 min (most of it the
# server's start).
# Installs label-studio into the project's .venv when missing (PyPI only), builds the CLI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
LABEL_STUDIO_VERSION="${LABEL_STUDIO_VERSION:-1.23.2}"
t0=$(date +%s)
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -x .venv/bin/label-studio ]; then
  echo "[label-studio] pip install label-studio==$LABEL_STUDIO_VERSION into .venv (several minutes)" >&2
  .venv/bin/pip install -q "label-studio==$LABEL_STUDIO_VERSION"
fi
t1=$(date +%s)
# the bin as `cargo test` builds it (same features as scripts/test.sh: its build cache is reused)
cargo test -q --no-run --test cli
t2=$(date +%s)
.venv/bin/python scripts/test_label_studio.py "$root/target/debug/medtriage"
t3=$(date +%s)
echo "[label-studio] install $((t1 - t0)) s, CLI build $((t2 - t1)) s, test $((t3 - t2)) s" >&2
