#!/usr/bin/env bash
# examples/train_digits.c end to end: scikit-learn's digits and an untrained
# CNN (examples/digits/make_training_data.py), a training step and its
# forward pass built by hodu, 10 epochs through libhodu_rt's hodu_trainer.
# The test accuracy after the last epoch must be at least 95%; the model
# exported with the checkpoint (hodu --export-onnx) must classify as many
# test images right in onnxruntime (tests/train/check_export.py).
# usage: digits.sh HODU TRAIN_DIGITS PYTHON
set -euo pipefail
hodu=$1 train_digits=$2 python=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$repo/examples/digits/make_training_data.py" --out "$work"
"$hodu" --build "$work/cnn.onnx" --train --loss cross_entropy --optimizer adamw -o "$work/step.so"
"$hodu" --build "$work/cnn.onnx" --train-eval -o "$work/eval.so"
"$train_digits" "$work/step.so" "$work/eval.so" "$work" 10 "$work/ckpt.safetensors" | tee "$work/log"
last=$(tail -1 "$work/log" | sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p')
[ -s "$work/ckpt.safetensors" ] || { echo "digits: no checkpoint written" >&2; exit 1; }
if ! awk -v a="$last" 'BEGIN { exit !(a != "" && a >= 95.0) }'; then
    echo "digits: FAILED: test accuracy ${last:-?}% after 10 epochs, below 95%" >&2
    exit 1
fi
right=$(tail -1 "$work/log" | sed -n 's/.*(\([0-9]*\)\/.*/\1/p')
# the trained weights back into the ONNX model, run by onnxruntime
"$hodu" --export-onnx "$work/cnn.onnx" --weights "$work/ckpt.safetensors" -o "$work/trained.onnx"
"$python" "$repo/tests/train/check_export.py" --hodu "$hodu" "$work/trained.onnx" "$work" "$right"
echo "digits: passed (test accuracy $last%)"
