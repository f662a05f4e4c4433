#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one.
#
#   tests/fuzz/run.sh [--seconds N] [--jobs J] [--target NAME]...
#
#   --seconds N   how long each target runs (default 120; CI runs the
#                 default, the long campaign in docs/security.md used 3600)
#   --jobs J      parallel fuzzing processes per target (default 1)
#   --target T    fuzz_compile, fuzz_npy, fuzz_script, fuzz_safetensors,
#                 fuzz_image or fuzz_package (default: all six)
#   --keep-going  go on after a finding (libFuzzer's fork mode), so a long
#                 campaign collects every finding instead of the first
#
# Seeds come from tests/fuzz/make_corpus.py (the ONNX node-test models of the
# pinned onnx wheel plus hand-made hostile models; for HoduScript the
# examples, std/ and the error corpus; small safetensors files; the
# ImageDecoder tests' images; tests/package/hostile.py's packages); the growing corpus lives
# in build-fuzz/corpus/<target>/, so later runs start where earlier ones
# stopped.  A finding (crash, sanitizer report, oracle abort, leak,
# timeout, or a slow unit that is slow again on replay) fails the run,
# leaves the input as build-fuzz/findings/<target>/crash-* (or leak-*,
# timeout-*, slow-unit-*) and prints how to replay it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

seconds=120
jobs=1
targets=()
keep_going=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?}; shift ;;
        --jobs) jobs=${2:?}; shift ;;
        --target) targets+=("${2:?}"); shift ;;
        --keep-going) keep_going=1 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "fuzz/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_compile fuzz_npy fuzz_script fuzz_safetensors fuzz_image fuzz_package)

cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
    echo "fuzz/run.sh: clang is missing (tools/setup.sh installs clang-14 and libclang-rt-14-dev)" >&2
    exit 1
fi
CC=$cc tools/setup.sh --build-dir build-fuzz -DHODU_FUZZ=ON -DHODU_BUILD_TESTS=OFF

out=$repo/build-fuzz
"$repo/.venv/bin/python" tests/fuzz/make_corpus.py "$out/seeds"

# Keep the fuzzer's own temporary files (and the model files the targets
# write) in one folder that is removed at the end.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

rc=0
for t in "${targets[@]}"; do
    case $t in
        fuzz_compile) seeds=$out/seeds/compile ;;
        fuzz_npy) seeds=$out/seeds/npy ;;
        fuzz_script) seeds=$out/seeds/script ;;
        fuzz_safetensors) seeds=$out/seeds/safetensors ;;
        fuzz_image) seeds=$out/seeds/image ;;
        fuzz_package) seeds=$out/seeds/package ;;
        *) echo "fuzz/run.sh: no target '$t'" >&2; exit 2 ;;
    esac
    mkdir -p "$out/corpus/$t" "$out/findings/$t"
    echo "-- $t: ${seconds} s, $jobs job(s)"
    args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=1048576
          -artifact_prefix="$out/findings/$t/" -print_final_stats=1)
    if [ "$keep_going" = 1 ]; then
        args+=(-fork="$jobs" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    elif [ "$jobs" -gt 1 ]; then
        args+=(-fork="$jobs")
    fi
    before=$(ls "$out/findings/$t" | wc -l)
    touch "$out/$t.log.start"
    status=0
    "$out/$t" "${args[@]}" "$out/corpus/$t" "$seeds" >"$out/$t.log" 2>&1 || status=$?
    # libFuzzer keeps any input that took over 10 s as slow-unit-*.  A real
    # slow path takes that long again; one that replays quickly was a stall
    # of the machine (a paused VM), not of the code, and is set aside.
    for slow in $(find "$out/findings/$t" -name 'slow-unit-*' -newer "$out/$t.log.start" 2>/dev/null); do
        start=$(date +%s)
        timeout 60 "$out/$t" "$slow" >/dev/null 2>&1 || true
        took=$(( $(date +%s) - start ))
        if [ "$took" -lt 5 ]; then
            echo "fuzz/run.sh: $t: $(basename "$slow") was slow once but replays in ${took} s (a machine stall); set aside"
            mkdir -p "$out/findings/$t.stalls"
            mv "$slow" "$out/findings/$t.stalls/"
        fi
    done
    if [ "$status" -ne 0 ] || [ "$(ls "$out/findings/$t" | wc -l)" -ne "$before" ]; then
        rc=1
        echo "fuzz/run.sh: $t found a problem; the end of its log:"
        tail -n 60 "$out/$t.log"
        echo "replay with: $out/$t $out/findings/$t/<file>"
    fi
    # the last status lines (fork mode prints "#N: cov: ..." and "INFO: exiting")
    grep -E '^(#[0-9]+.*(DONE|pulse|cov:)|stat::|INFO: exiting)' "$out/$t.log" | tail -n 4 || true
done
exit $rc
