#!/usr/bin/env bash
# Usage: tools/dev-env.sh PYTHON
# Create (once) the virtual environment .venv/X.Y for PYTHON, install what the
# tests, the demo and the lint need (requirements-dev.txt), and build pikos
# into it in release mode (maturin develop: an editable install with the
# console scripts pikos and pikos-run).  Prints nothing but progress lines.
set -euo pipefail
py=$1
cd "$(dirname "$0")/.."
version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv=.venv/$version
if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv"
    "$py" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "== building pikos for $("$venv/bin/python" -V)"
# maturin's progress lines are noise here; its errors are kept.  The
# `floors` feature adds the benchmarks' floor hooks (not in `pip install .`).
VIRTUAL_ENV=$PWD/$venv CARGO_TARGET_DIR=target/$version \
    "$venv/bin/maturin" develop --release --features floors --quiet 2>&1 \
    | { grep -v '^🍹\|^Looking in links\|^Ignoring \|^📦\|^🔗\|^🐍\|^📡\|^✏️\|^🛠\|^⚠️ *$' || true; }
test "${PIPESTATUS[0]}" -eq 0
"$venv/bin/python" -c 'import pikos._native'
