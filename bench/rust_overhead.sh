#!/usr/bin/env bash
# Per-run cost of the Rust call path (hodu::Instance::run) against the C
# API (hodu_instance_run) on a tiny model: x + 2y and x * y over f32[1, 3],
# the same instance reused, ITERATIONS runs each (default 200000), built
# with --release.  Prints microseconds per run and the difference.
# usage: bench/rust_overhead.sh [HODU [ITERATIONS]]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
hodu=$(realpath "${1:-$repo/build/hodu}")
iters=${2:-200000}
export CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$(dirname "$hodu")/cargo}")
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/tiny.hodu" <<'HODU'
module Tiny(d: int) {
    fn forward(x: f32[1, d], y: f32[1, d]) -> (sum: f32[1, d], prod: f32[1, d]) {
        return (x + y * 2.0, x * y)
    }
}
export model = Tiny(3)
HODU
"$hodu" --build "$work/tiny.hodu" -o "$work/tiny.so"
cd "$repo/bindings/rust"
cargo run --offline --release --quiet --example overhead -- "$work/tiny.so" "$iters"
