#!/usr/bin/env bash
# Models made with the graph-building API (tests/builder/models.c), run in
# process and checked against PyTorch (tests/builder/check.py).
# usage: run.sh BUILDER_MODELS PYTHON
set -euo pipefail
models=$1 python=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$models" "$work"
"$python" "$here/check.py" "$work"
