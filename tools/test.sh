#!/usr/bin/env bash
# Hodu's whole test suite, as CI runs it (.ci/run execs this script).
#
#   tools/test.sh [--skip STAGE]... [--only STAGE]...
#
# Stages, in order:
#   setup        tools/setup.sh --models: Debian packages, .venv (test and
#                model requirements), build/ (RelWithDebInfo)
#   format       tools/format.sh --check: the C sources match .clang-format
#   unit         ctest in build/: cmocka unit tests, the bad-input and
#                security tests, the golden IR dumps, the threads test and
#                the differential test (-O0 against optimized builds),
#                the install test (cmake --install, examples/consumer)
#   asan         the same tests in build-asan/ (-DHODU_SANITIZE=ON: address,
#                leak and undefined-behaviour sanitizers), then the node
#                tests through build-asan/hodu, failing on any crash or
#                sanitizer report (wrong results are the next stage's business)
#   tsan         the runtime and threads tests in build-tsan/
#                (-DHODU_TSAN=ON: ThreadSanitizer, the test models compiled
#                with it too): a pool, concurrent instances, identical bytes
#   fuzz         tests/fuzz/run.sh: the libFuzzer targets (compile path,
#                .npy reader, HoduScript, safetensors, image decoder, package
#                reader) built
#                with clang, ASan and UBSan in
#                build-fuzz/, each run for HODU_FUZZ_SECONDS; any finding
#                fails the stage
#   conformance  the ONNX backend node tests through build/hodu, the
#                generated C compiled with -Wall -Wextra -Werror
#                (tests/conformance/run_node_tests.py): at least 60% of them
#                must pass, and every test listed in
#                tests/conformance/expected_pass.txt; writes
#                build/conformance.json and build/onnx-coverage.md
#   models       whole models against onnxruntime: tools/export_models.py
#                then tools/compare_ort.py (mobilenet_v2, resnet18, bert)
#   regress      tools/regress --subset ci: the regression suite's small
#                models (an LSTM classifier, MobileNetV3-Large, a small BERT),
#                exported with symbolic dims and run at two sizes each
#                against onnxruntime (a few minutes; exports cached in
#                build/regress/models, history in build/regress/history.jsonl).
#                The whole set (ResNet-50 ... GPT-2, Whisper, int8) is the
#                slow lane `tools/regress`, not run here
#
# Every stage runs even when an earlier one failed (setup excepted: without
# it nothing else can run); the summary at the end gives each stage's result
# and time, and the exit status is non-zero if any stage failed.
#
# Environment:
#   HODU_TEST_JOBS            parallel jobs (default: nproc)
#   HODU_CONFORMANCE_MIN_RATIO  fraction of ALL node tests (skipped ones
#                             included) that must pass (default 0.60)
#   HODU_CONFORMANCE_BUDGET   seconds after which the conformance runner
#                             starts no more tests (default 2400)
#   HODU_ASAN_SAMPLE          the asan stage runs every N-th node test
#                             through the sanitized hodu (default 1: all)
#   HODU_FUZZ_SECONDS         seconds each fuzz target runs (default 120)
#   HODU_TEST_MODELS          models for the models stage
#                             (default "mobilenet_v2 resnet18 bert")
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

all_stages=(setup format unit asan tsan fuzz conformance models regress)
skip=()
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --skip) skip+=("${2:?--skip needs a stage}"); shift ;;
        --only) only+=("${2:?--only needs a stage}"); shift ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
for s in "${skip[@]}" "${only[@]}"; do
    case " ${all_stages[*]} " in *" $s "*) ;; *) echo "test.sh: no stage '$s' (stages: ${all_stages[*]})" >&2; exit 2 ;; esac
done

jobs=${HODU_TEST_JOBS:-$(nproc)}
min_ratio=${HODU_CONFORMANCE_MIN_RATIO:-0.60}
budget=${HODU_CONFORMANCE_BUDGET:-2400}
expect_file=tests/conformance/expected_pass.txt
asan_sample=${HODU_ASAN_SAMPLE:-1}
read -r -a models <<<"${HODU_TEST_MODELS:-mobilenet_v2 resnet18 bert}"
py=$repo/.venv/bin/python

wanted() {
    local s
    for s in "${skip[@]}"; do [ "$s" = "$1" ] && return 1; done
    [ ${#only[@]} -eq 0 ] && return 0
    for s in "${only[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

# --- the stages -------------------------------------------------------------------
stage_setup() {
    tools/setup.sh --models
}

stage_format() {
    tools/format.sh --check
}

stage_unit() {
    ctest --test-dir build --output-on-failure -j "$jobs"
}

stage_asan() {
    local rc=0
    # Debug: no NDEBUG, so the driver also verifies the IR after every pass
    tools/setup.sh --build-dir build-asan -DHODU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || return 1
    export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ctest --test-dir build-asan --output-on-failure -j "$jobs" || rc=1
    echo "-- the ONNX node tests through build-asan/hodu (--sample $asan_sample)"
    "$py" tests/conformance/run_node_tests.py --hodu build-asan/hodu -j "$jobs" \
        --sample "$asan_sample" --fail-on-crash --timeout 300 --budget "$budget" || rc=1
    unset ASAN_OPTIONS UBSAN_OPTIONS
    return $rc
}

stage_tsan() {
    tools/setup.sh --build-dir build-tsan -DHODU_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -j "$jobs" -R '^(test_runtime|threads)$'
}

stage_fuzz() {
    tests/fuzz/run.sh --seconds "${HODU_FUZZ_SECONDS:-120}"
}

stage_conformance() {
    local rc=0 expect=()
    rm -f build/conformance.json build/onnx-coverage.md
    # tests that passed when the list was last written must still pass
    [ -f "$expect_file" ] && expect=(--expect-pass "$expect_file")
    # -Werror: generated code must compile without a warning under -Wall -Wextra
    "$py" tests/conformance/run_node_tests.py --hodu build/hodu -j "$jobs" --cflags "-Wall -Wextra -Werror" \
        --json build/conformance.json --min-pass-ratio "$min_ratio" --budget "$budget" \
        "${expect[@]}" || rc=$?
    # a readable page of the same results (docs/onnx-coverage.md is the
    # committed copy, regenerated by hand with tools/gen_coverage.py)
    if [ -f build/conformance.json ]; then
        "$py" tools/gen_coverage.py build/conformance.json -o build/onnx-coverage.md || rc=1
    fi
    return $rc
}

stage_models() {
    local m paths=()
    "$py" tools/export_models.py --out build/models "${models[@]}" || return 1
    for m in "${models[@]}"; do paths+=("build/models/$m.onnx"); done
    "$py" tools/compare_ort.py --hodu build/hodu "${paths[@]}"
}

stage_regress() {
    HODU_PYTHON=$py tools/regress --subset ci --hodu build/hodu
}

# --- driver -------------------------------------------------------------------------
names=()
results=()
times=()
failed=0
total_start=$SECONDS
for s in "${all_stages[@]}"; do
    wanted "$s" || continue
    echo
    echo "==== $s ===="
    start=$SECONDS
    if "stage_$s"; then r=ok; else r=FAILED; failed=$((failed + 1)); fi
    names+=("$s"); results+=("$r"); times+=($((SECONDS - start)))
    echo "==== $s: $r ($((SECONDS - start)) s)"
    if [ "$s" = setup ] && [ "$r" = FAILED ]; then
        echo "test.sh: setup failed; the other stages need it, so they do not run"
        break
    fi
done

echo
echo "==== summary ===="
for i in "${!names[@]}"; do
    printf '  %-12s %-7s %5d s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
done
printf '  %-12s %-7s %5d s\n' total "" $((SECONDS - total_start))
if [ -f build/conformance.json ] && [[ " ${names[*]} " == *" conformance "* ]]; then
    "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  node tests: %d passed, %d failed, %d skipped of %d" % (d["passed"], d["failed"], d["skipped"], d["total"]))' build/conformance.json
fi
echo "stages: $(( ${#names[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
