#!/usr/bin/env bash
# The wheel installs and runs the compiled kernel on a machine with no compiler:
# build it (make wheel: manylinux, repaired by auditwheel), install it into a fresh
# venv with CC=false / CXX=false (nothing can compile), and check the kernel loads and
# equals the NumPy path on one LSTM forward.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s wheel
whl=$(ls wheelhouse/lstmkit-*manylinux*.whl | head -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
CC=false CXX=false "$tmp/venv/bin/pip" install -q --only-binary=:all: "$whl"
cd "$tmp"    # not the source tree: the installed wheel must be what is imported
CC=false "$tmp/venv/bin/python" "$OLDPWD/.ci/check_installed_kernel.py"
