#!/usr/bin/env bash
# The threads test: models with every kind of parallel kernel, built by the
# real `hodu`, give byte-identical outputs on 1 thread, on a pool of 4 and
# from 4 concurrent instances (threads_check.c).
#
#   run.sh HODU THREADS_CHECK PYTHON [CFLAGS]
#
# CFLAGS go to the C compiler that builds each model (the tsan stage passes
# -fsanitize=thread so the generated code is checked for races too).
set -u
if [ $# -lt 3 ]; then
    echo "usage: run.sh HODU THREADS_CHECK PYTHON [CFLAGS]" >&2
    exit 2
fi
hodu=$1
check=$2
python=$3
cflags=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hodu-threads.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" "$here/make_models.py" "$work" || { echo "threads: make_models.py failed"; exit 1; }
rc=0
# the CNN twice: its convolutions through im2col + GEMM, and all of them
# as channel-blocked direct kernels (the cost model leaves a CNN this small
# in NCHW)
cp "$work/cnn.onnx" "$work/cnn_blocked.onnx"
for m in cnn cnn_blocked transformer mlp; do
    layout=auto
    [ "$m" = cnn_blocked ] && layout=blocked
    if ! "$hodu" --build "$work/$m.onnx" -o "$work/$m.so" --conv-layout $layout \
        --cflags "-Wall -Wextra -Werror $cflags"; then
        echo "threads: $m: build failed"
        rc=1
        continue
    fi
    "$check" "$work/$m.so" || { echo "threads: $m: FAILED"; rc=1; }
done
exit $rc
