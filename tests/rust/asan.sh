#!/usr/bin/env bash
# The hodu crate's tests against a libhodu_rt built with ASan and UBSan
# (ctest rust_asan, in HODU_SANITIZE builds): every call the safe API makes
# into the runtime runs instrumented.  Only the test binaries get the
# sanitizer's runtime (LD_PRELOAD through cargo's runner), not cargo or
# rustc.  The compiler feature is left out: libhodu.a built with ASan would
# need the sanitizer linked into the binary, and the graph builder has its
# own ASan tests (test_builder, builder_models).  Leak checks are off, as
# for the other ctypes-style hosts here: the models are built by child
# processes (cc, cc1) that inherit the preload.
# usage: asan.sh HODU RT_LIB_DIR
set -euo pipefail
hodu=$(realpath "$1") rt_dir=$(realpath "$2")
repo=$(cd "$(dirname "$0")/../.." && pwd)
test=rust_asan
. "$repo/tests/rust/env.sh"
asan=$(${CC:-cc} -print-file-name=libasan.so)
if [ ! -e "$asan" ]; then
    echo "rust_asan: FAILED: the C compiler has no libasan.so" >&2
    exit 1
fi
cat >"$work/runner" <<RUNNER
#!/bin/sh
LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 exec "\$@"
RUNNER
chmod +x "$work/runner"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$work/runner
cd "$repo/bindings/rust"
# --tests: the doc tests are rustdoc's, not run through the runner (the
# plain `rust` test runs them)
cargo test --offline --no-default-features --tests
echo "rust_asan: passed"
