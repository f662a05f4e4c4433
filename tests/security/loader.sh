#!/usr/bin/env bash
# Loader hardening: the compiler's internal "hodu" domain and unknown domains
# are refused naming the node and domain; a 10^6-node chain is refused by the
# node limit (HODU_MAX_NODES, src/loader/loader.h) while a 20,000-node chain
# builds and runs; control flow nested past HODU_MAX_SUBGRAPH_DEPTH is refused
# (one level less builds), and subgraph nodes count towards the node limit; external data past the size cap, a FIFO or a link to
# /dev/zero is refused without hanging; per-node limits give clear errors;
# names holding escape sequences never reach the terminal raw.  Each refusal:
# non-zero exit below 128, exactly one "hodu: error:" line naming the cause,
# nothing left in the output folder.  `timeout` only guards against hangs
# and quadratic blow-ups; nothing here measures speed.
# usage: loader.sh HODU PYTHON
set -u
hodu=$1
python=$2
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
suite_init security_loader "$(dirname "$0")/loader.py"

build() { timeout "${2:-20}" "$hodu" --build "$1" -o "$work/out/model.so"; }

expect_error hodu_domain "node 'fused' (FusedElementwise): domain 'hodu' is internal to the compiler" \
    build "$c/hodu_domain.onnx"
expect_error hodu_subdomain "node 'sub' (Relu): domain 'hodu.extra' is internal" build "$c/hodu_subdomain.onnx"
expect_error custom_domain "unsupported op com.example.evil.Frob (domain 'com.example.evil'" \
    build "$c/custom_domain.onnx"
expect_error chain_1m "the graph has 1000000 nodes; at most 500000 are supported" \
    build "$c/chain_1m.onnx" 10
expect_error nested_if_17 "node 'If_0' (If): subgraph '[a-z_]*' nests control flow more than 16 levels deep" \
    build "$c/nested_if_17.onnx"
expect_ok nested_if_16 build "$c/nested_if_16.onnx" 60
expect_error subgraph_nodes "subgraph 'big' brings the model's nodes (in all its graphs) past 500000" \
    build "$c/subgraph_nodes.onnx" 20
expect_error external_20g "tensor 'w': its 21474836480 bytes of external data would pass the limit" \
    build "$c/ext_big/model.onnx"
expect_error external_fifo "external data file 'data.bin' is not a regular file" \
    build "$c/ext_fifo/model.onnx" 10
expect_error external_dev_zero "external data file 'data.bin' is a symbolic link" \
    build "$c/ext_zero/model.onnx" 10
expect_error many_attrs "has 65 attributes; at most 64 are supported" build "$c/many_attrs.onnx"
expect_error long_string "attribute 'mode' is a string of 70000 bytes; at most 65536" \
    build "$c/long_string.onnx"
expect_error long_name "node #0: a name, op type, domain or operand name is longer than 4096 bytes" \
    build "$c/long_name.onnx"
expect_error empty_required "node 'r' (Range): input 1 of Range is required but its name is empty" \
    build "$c/empty_required.onnx"
expect_error empty_output "node 'e' (Relu): output 0 of Relu is required but its name is empty" \
    build "$c/empty_output.onnx"
# The names carry ESC, CSI, a newline and a bidi override: each must come out
# as \xNN text on the one error line.
expect_error escape_name "node '\\\\x1b\[31mred\\\\x1b\[0m\\\\x0ahodu: error: forged line \\\\xc2\\\\x9b2J \\\\xe2\\\\x80\\\\xae'" \
    build "$c/escape_name.onnx"

# --inspect prints model names on stdout: escaped the same way.
if "$hodu" --inspect "$c/escape_input.onnx" >"$work/stdout" 2>"$work/stderr" &&
    ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$work/stdout" &&
    ! LC_ALL=C grep -q $'\xc2\x9b\|\xe2\x80\xae' "$work/stdout" &&
    grep -q 'x1b\[31mred' "$work/stdout"; then
    ok "inspect_escapes_names"
else
    bad "inspect_escapes_names: $(cat -v "$work/stdout" | head -3)"
fi

# expect_build NAME MODEL: builds, and y = relu(x) on a small input.
expect_build() {
    local name=$1 model=$2
    rm -rf "$work/out" "$work/res"
    mkdir -p "$work/out"
    if timeout 60 "$hodu" --build "$model" -o "$work/out/model.so" >"$work/stdout" 2>"$work/stderr" &&
        "$hodu" --run "$work/out/model.so" --input "x=$c/x.npy" --output-dir "$work/res" \
            >"$work/stdout" 2>"$work/stderr" &&
        "$python" -c 'import sys, numpy as np
x = np.load(sys.argv[1]); y = np.load(sys.argv[2])
sys.exit(0 if np.array_equal(y, np.maximum(x, 0)) else 1)' "$c/x.npy" "$work/res/y.npy"; then
        ok "$name"
    else
        bad "$name"
    fi
}
expect_build chain_20k "$c/chain_20k.onnx"
expect_build unused_domain "$c/unused_domain.onnx"
# Passes only (no C compiler): the timeout guards against a hang, not speed.
if timeout 60 "$hodu" --dump-ir "$c/chain_200k_reversed.onnx" >"$work/stdout" 2>"$work/stderr" &&
    grep -q '^  output %y' "$work/stdout"; then
    ok "chain_200k_reversed"
else
    bad "chain_200k_reversed"
fi

suite_end
