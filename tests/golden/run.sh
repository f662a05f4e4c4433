#!/usr/bin/env bash
# Golden --dump-ir tests: the IR after each pass, for small models that
# make_models.py writes, compared with tests/golden/expected/<model>.txt.
#
#   run.sh DUMP_PASSES PYTHON [--update]
#
# DUMP_PASSES is the tests/golden/dump_passes binary; PYTHON has onnx and
# numpy.  On a mismatch the unified diff is printed.  --update rewrites the
# expected files instead of comparing (read the result before committing it).
set -u

if [ $# -lt 2 ]; then
    echo "usage: run.sh DUMP_PASSES PYTHON [--update]" >&2
    exit 2
fi
dumper=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
python=$2
update=0
[ "${3:-}" = "--update" ] && update=1
here=$(cd "$(dirname "$0")" && pwd)
expected_dir=$here/expected

work=$(mktemp -d "${TMPDIR:-/tmp}/hodu-golden.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! "$python" "$here/make_models.py" "$work"; then
    echo "golden: make_models.py failed"
    exit 1
fi

passed=0
failed=0
while read -r name args; do
    [ -n "$name" ] || continue
    actual=$work/$name.txt
    # Run from the work folder with a relative model path, so nothing in the
    # output can depend on where the temporary folder is.
    # shellcheck disable=SC2086  # args are words by design
    if ! (cd "$work" && "$dumper" "$name.onnx" $args >"$actual" 2>"$work/$name.err"); then
        echo "FAIL $name: dump_passes failed:"
        cat "$work/$name.err"
        failed=$((failed + 1))
        continue
    fi
    expected=$expected_dir/$name.txt
    if [ "$update" = 1 ]; then
        mkdir -p "$expected_dir"
        cp "$actual" "$expected"
        echo "updated expected/$name.txt"
        passed=$((passed + 1))
    elif [ ! -f "$expected" ]; then
        echo "FAIL $name: no expected/$name.txt (run with --update, then read it)"
        failed=$((failed + 1))
    elif diff -u --label "expected/$name.txt" --label "actual/$name.txt" "$expected" "$actual"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
done <"$work/cases.txt"

echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
