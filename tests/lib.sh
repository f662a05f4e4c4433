# Shared by the shell suites that drive the real `hodu` command
# (tests/bad_inputs/run.sh, tests/security/*.sh).  Source it, then:
#
#   suite_init NAME GENERATOR [ARGS...]
#       makes $work (removed on exit), runs `$python GENERATOR $work/cases
#       ARGS...` to write the cases into $c, and zeroes the counts
#   ok TEXT / bad TEXT      count one case and print its line
#   expect_error NAME PATTERN COMMAND...
#       the command must fail (exit 1..127, not timeout's 124) with exactly
#       one "hodu: error:" line matching PATTERN and holding no control byte,
#       and leave $work/out empty
#   expect_ok NAME COMMAND...   the command must succeed
#   suite_end               prints "NAME: N passed, M failed"; exits non-zero
#                           on any failure
#
# The caller sets $hodu and $python first.

suite_init() {
    suite=$1
    local generator=$2
    shift 2
    work=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    c=$work/cases
    pass=0
    fail=0
    if ! "$python" "$generator" "$c" "$@" 2>"$work/gen.err"; then
        echo "$suite: cannot generate the cases with $python (needs numpy and onnx: run tools/setup.sh)"
        cat "$work/gen.err"
        exit 1
    fi
}

ok() {
    pass=$((pass + 1))
    echo "ok   $1"
}

bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -s "$work/stderr" ] && sed 's/^/    /' "$work/stderr" | cat -v | head -n 8
    return 0
}

expect_error() {
    local name=$1 pattern=$2
    shift 2
    rm -rf "$work/out"
    mkdir -p "$work/out"
    "$@" >"$work/stdout" 2>"$work/stderr"
    local rc=$? lines left
    lines=$(wc -l <"$work/stderr")
    left=$(ls -A "$work/out")
    if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$rc" -ne 124 ] && [ "$lines" -eq 1 ] &&
        grep -q "^hodu: error: .*$pattern" "$work/stderr" &&
        ! LC_ALL=C grep -q '[[:cntrl:]]' "$work/stderr" && [ -z "$left" ]; then
        ok "$name: $(cat "$work/stderr")"
    else
        bad "$name: exit $rc, $lines stderr lines, left behind: '${left}'"
    fi
}

expect_ok() {
    local name=$1
    shift
    rm -rf "$work/out"
    mkdir -p "$work/out"
    if "$@" >"$work/stdout" 2>"$work/stderr"; then
        ok "$name"
    else
        bad "$name: exit $?"
    fi
}

suite_end() {
    echo "$suite: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
