#!/usr/bin/env bash
# The Rust crates in bindings/rust: cargo fmt --check, cargo test (hodu-sys
# against hodu_rt.h; hodu's runs, misuse cases, .npy and training), clippy
# and rustdoc with warnings as errors, then the examples: classify on the
# digits CNN (at least 7 of its 8 images right) and on a ResNet-18 (the
# class onnxruntime gives), train_mlp on the digits
# data (at least 90% test accuracy, the same after reloading the
# checkpoint), mlp_from_code (an MLP defined in Rust and compiled in
# process, the same threshold) and the overhead measurement (printed, not
# judged).  The hodu crate's default `compiler` feature links build/libhodu.a
# (or the one in HODU_LIB_DIR).
# Cargo's output goes to BUILD_DIR/cargo, so the source tree stays clean.
# Fails when cargo is not installed (env.sh).
# usage: run.sh HODU RT_LIB_DIR PYTHON
set -euo pipefail
hodu=$(realpath "$1") rt_dir=$(realpath "$2") python=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
test=rust
. "$repo/tests/rust/env.sh"
cd "$repo/bindings/rust"

cargo fmt --check
cargo test --offline
cargo clippy --offline --all-targets -- -D warnings
# the runtime alone (no libhodu.a): still builds, lint-clean
cargo clippy --offline --no-default-features --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --offline --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --offline --no-deps --no-default-features

cargo build --offline --release --examples
ex=$CARGO_TARGET_DIR/release/examples

# classify: the digits CNN on its 8 held-out images
"$hodu" --build "$repo/examples/digits/digits.onnx" -o "$work/digits.so"
"$ex/classify" "$work/digits.so" "$repo/examples/digits/images.npy" "$repo/examples/digits/labels.txt" | tee "$work/classify.log"
right=$(sed -n 's|^\([0-9]*\)/8 right$|\1|p' "$work/classify.log")
if [ -z "$right" ] || [ "$right" -lt 7 ]; then
    echo "rust: FAILED: classify got ${right:-?}/8 digits right" >&2
    exit 1
fi

# classify on a ResNet-18 (torchvision's architecture, random weights from
# a fixed seed): random images, each classified as onnxruntime classifies it
"$python" "$repo/tools/export_models.py" --out "$work" resnet18 >/dev/null
"$hodu" --build "$work/resnet18.onnx" -o "$work/resnet18.so"
for k in 0 1; do
    "$python" - "$work/resnet18.onnx" "$work/image$k.npy" "$work/label$k.txt" "$k" <<'PY'
import sys
import numpy as np
import onnxruntime as ort
model, image, label, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.random.default_rng(seed).standard_normal((1, 3, 224, 224), dtype=np.float32)
np.save(image, x)
scores = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
open(label, "w").write("%d\n" % int(scores[0].argmax()))
PY
    "$ex/classify" "$work/resnet18.so" "$work/image$k.npy" "$work/label$k.txt" | tee "$work/classify.log"
    if ! grep -qx "1/1 right" "$work/classify.log"; then
        echo "rust: FAILED: classify disagrees with onnxruntime on ResNet-18 image $k" >&2
        exit 1
    fi
done

# train_mlp: the digits data and an MLP step built from HoduScript
mlp=$repo/bindings/rust/hodu/examples/digits_mlp.hodu
"$python" "$repo/examples/digits/make_training_data.py" --out "$work"
"$hodu" --build "$mlp" --dim B=30 --train --loss cross_entropy --optimizer adamw -o "$work/step.so"
"$hodu" --build "$mlp" --dim B=30 --train-eval -o "$work/eval.so"
"$ex/train_mlp" "$work/step.so" "$work/eval.so" "$work" 10 | tee "$work/train.log"
acc=$(tail -1 "$work/train.log" | sed -n 's/.*accuracy \([0-9.]*\)% after reload.*/\1/p')
if ! awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 90.0) }'; then
    echo "rust: FAILED: train_mlp reached ${acc:-?}% test accuracy, below 90%" >&2
    exit 1
fi

# mlp_from_code: the same kind of MLP defined in Rust (hodu::Graph),
# compiled in process with --train and --train-eval, trained, saved and
# reloaded
"$ex/mlp_from_code" "$work" 10 | tee "$work/from_code.log"
acc=$(tail -1 "$work/from_code.log" | sed -n 's/.*accuracy \([0-9.]*\)% after reload.*/\1/p')
if ! awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 90.0) }'; then
    echo "rust: FAILED: mlp_from_code reached ${acc:-?}% test accuracy, below 90%" >&2
    exit 1
fi

# overhead: runs, and prints its figures
"$repo/bench/rust_overhead.sh" "$hodu" 20000
echo "rust: passed"
