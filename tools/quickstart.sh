#!/usr/bin/env bash
# From a fresh checkout to a compiled model in one command:
#
#   tools/quickstart.sh
#
# runs tools/setup.sh (Debian packages, .venv, build/), compiles the small
# handwritten-digit classifier in examples/digits/ to build/digits.so, runs
# it on the eight sample images and prints its predictions beside the true
# labels.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

tools/setup.sh

example=examples/digits
out=build/digits-out
echo "\$ build/hodu --build $example/digits.onnx -o build/digits.so"
build/hodu --build "$example/digits.onnx" -o build/digits.so
rm -rf "$out"
echo "\$ build/hodu --run build/digits.so --input image=$example/images.npy --output-dir $out"
build/hodu --run build/digits.so --input "image=$example/images.npy" --output-dir "$out"

# The model's outputs are logits [8,10] and label [8] (the arg-max).
.venv/bin/python - "$out" "$example/labels.txt" <<'EOF'
import os, sys
import numpy as np
out, labels_file = sys.argv[1], sys.argv[2]
logits = np.load(os.path.join(out, "logits.npy"))
predicted = np.load(os.path.join(out, "label.npy")).astype(np.int64).ravel()
truth = np.array(open(labels_file).read().split(), dtype=np.int64)
if not np.array_equal(predicted, logits.argmax(axis=1)):
    print("note: label differs from the arg-max of logits")
print("predicted:", " ".join(str(v) for v in predicted))
print("true:     ", " ".join(str(v) for v in truth))
print(f"{int((predicted == truth).sum())} of {truth.size} correct")
EOF
