# Sourced by run.sh and asan.sh: finds cargo, points cargo's output and the
# crates' build scripts at this build, and makes a scratch folder ($work,
# removed on exit).  Expects $test (the ctest name), $hodu and $rt_dir.
# Fails when cargo is not installed: a test that skipped would hide the
# crates from CI.  rustup installs cargo in ~/.cargo/bin, which a
# non-login shell may not have on its PATH, so that folder is tried too.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "$test: FAILED: cargo not found (Rust 1.80 or newer; ctest -E rust leaves this test out)" >&2
    exit 1
fi
export CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$(dirname "$hodu")/cargo}")
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export HODU_RT_LIB_DIR=$rt_dir HODU_EXE=$hodu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
