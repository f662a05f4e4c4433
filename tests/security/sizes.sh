#!/usr/bin/env bash
# Shapes past the tensor size limit (or past int64) must be refused with one
# error naming the node and the size: non-zero exit below 128, exactly one
# "hodu: error:" line, no output left behind (sanitizer builds abort on any
# overflow report, which fails the exit-status check).
# usage: sizes.sh HODU PYTHON
set -u
hodu=$1
python=$2
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
suite_init security_sizes "$(dirname "$0")/sizes.py"

build() { "$hodu" --build "$c/$1" -o "$work/out/model.so" "${@:2}"; }
limit="at most 2^40 elements and 2^40 bytes are supported"

expect_error expand_const "node 'expand0' (Expand): output 'y' would hold 2^60 (1152921504606846976) elements; $limit" build expand_const.onnx
expect_error expand_input "node 'expand0' (Expand): output 'y' would hold 2^60 (1152921504606846976) elements; $limit" build expand_input.onnx
expect_error reshape "node 'reshape0' (Reshape): the product of the shape entries is too large" build reshape.onnx
expect_error tile "node 'tile0' (Tile): output 'y' would hold 9000000000000000000 elements" build tile.onnx
expect_error tile_max "node 'tile0' (Tile): the tiled dim is too large" build tile_max.onnx
expect_error constant_of_shape "node 'cos0' (ConstantOfShape): output 'y' would hold more than 2^64 elements" build cos.onnx
expect_error constant_of_shape_max "node 'cos0' (ConstantOfShape): output 'y' would hold 9223372036854775807 elements" build cos_max.onnx
expect_error constant_of_shape_zero "node 'cos0' (ConstantOfShape): output 'y' would have non-zero dims whose product is past 2^64" build cos_zero.onnx
expect_error range_int "node 'range0' (Range): would produce 9e+18 elements" build range.onnx
expect_error range_float "node 'range0' (Range): would produce .* elements; at most 2^40" build range_f.onnx
expect_error conv_pads "node 'conv0' (Conv): window attributes are too large" build conv_pads.onnx
expect_error conv_big "node 'conv0' (Conv): output 'y' would hold more than 2^64 elements; $limit" build conv_big.onnx
expect_error pad "node 'pad0' (Pad): pads for axis 1 .* are past the 2^40 size limit" build pad.onnx
expect_error concat "node 'cat0' (Concat): output 'y' would hold 1099511627778 elements; $limit" build concat.onnx
expect_error onehot "node 'onehot0' (OneHot): depth 1.*is too large" build onehot.onnx
expect_error input_shape "input 'x' would hold 64000000000000000000000000000 elements\|input 'x' would hold more than 2^64 elements" \
    build input.onnx --input-shape x=4000000000x4000000000x4000000000
expect_error input_shape_bytes "input 'x' would take 2^42 (4398046511104) bytes; $limit" \
    build input.onnx --input-shape x=1024x1024x1048576
expect_ok slice_extreme_steps build slice_steps.onnx

# expect_matches_ort NAME MODEL: builds within a minute (the timeout guards a
# blow-up of generated code, not speed) and agrees with onnxruntime.
expect_matches_ort() {
    local name=$1
    rm -rf "$work/res"
    if timeout 60 "$hodu" --build "$c/$2" -o "$work/wide.so" >"$work/stdout" 2>"$work/stderr" &&
        "$hodu" --run "$work/wide.so" --input "x=$c/x_wide.npy" --output-dir "$work/res" >"$work/stdout" 2>"$work/stderr" &&
        "$python" -c 'import sys, numpy as np, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
want = s.run(None, {"x": np.load(sys.argv[2])})[0]
got = np.load(sys.argv[3])
sys.exit(0 if got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5) else 1)' \
            "$c/$2" "$c/x_wide.npy" "$work/res/y.npy" 2>>"$work/stderr"; then
        ok "$name"
    else
        bad "$name"
    fi
}
expect_matches_ort wide_stride_grouped wide_dw.onnx
expect_matches_ort wide_stride_conv wide_conv.onnx
expect_matches_ort wide_stride_maxpool wide_pool.onnx

suite_end
