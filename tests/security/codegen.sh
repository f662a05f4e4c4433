#!/usr/bin/env bash
# Code generation, the compiler invocation and the CLI against hostile
# models and hostile surroundings: names that try to become C, a model path
# that does the same, a weights.bin (or FIFO) in the working directory,
# commas and spaces in folders, a symlinked --emit-c target, a build stopped
# by SIGTERM/SIGINT, and output names that collide or climb out of
# --output-dir.  codegen.py writes the models and scans the emitted C.
# usage: codegen.sh HODU PYTHON
set -u
hodu=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
python=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
suite_init security_codegen "$here/codegen.py"
marker=$c/EVIL_RAN
# check NAME COMMAND...: the command (a test expression or a program) must succeed.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# --- names and paths that try to become code --------------------------------

inject_case() {
    local label=$1 model=$2 out=$work/$1
    mkdir -p "$out"
    if "$hodu" --build "$model" -o "$out/m.so" --emit-c "$out/src" >"$work/stdout" 2>"$work/stderr"; then
        ok "$label: builds"
    else
        bad "$label: build failed"
        return
    fi
    if "$python" "$here/codegen.py" --check "$out/src" >"$work/scan" 2>&1; then
        ok "$label: model text only inside string literals"
    else
        bad "$label: emitted sources carry model text: $(tr '\n' ';' <"$work/scan")"
    fi
    if nm "$out/m.so" 2>/dev/null | grep -q evil || nm -D "$out/m.so" 2>/dev/null | grep -q evil; then
        bad "$label: the library has an 'evil' symbol"
    else
        ok "$label: no injected symbol"
    fi
    rm -f "$marker"
    if "$hodu" --run "$out/m.so" --input "$c/x23.npy" >"$work/stdout" 2>"$work/stderr" && [ ! -e "$marker" ]; then
        ok "$label: runs, no constructor ran"
    else
        bad "$label: run failed or the injected constructor ran"
    fi
    # The names come back intact through the descriptor (as string literals).
    if "$hodu" --inspect "$out/m.so" >"$work/stdout" 2>"$work/stderr" && grep -q 'EVILMARK' "$work/stdout"; then
        ok "$label: names survive as data"
    else
        bad "$label: inspect does not show the names"
    fi
}
inject_case inject "$c/inject.onnx"
evil_model=$(find "$c/p*" -name m.onnx)
inject_case evil_path "$evil_model"

# --- nothing in the working directory changes a build ------------------------

build_weights() { # build_weights CWD OUT
    (cd "$1" && timeout 60 "$hodu" --build "$c/weights.onnx" -o "$2") >"$work/stdout" 2>"$work/stderr"
}
run_weights() { # run_weights LIB OUTDIR
    "$hodu" --run "$1" --input "$c/x_weights.npy" --output-dir "$2" >"$work/stdout" 2>"$work/stderr"
}
mkdir -p "$work/clean" "$work/shadow" "$work/fifo"
head -c 4096 /dev/zero >"$work/shadow/weights.bin"
mkfifo "$work/fifo/weights.bin"
if build_weights "$work/clean" "$work/clean.so" && run_weights "$work/clean.so" "$work/clean_out"; then
    ok "weights: clean build runs"
else
    bad "weights: clean build"
fi
for where in shadow fifo; do
    build_weights "$work/$where" "$work/$where.so"
    rc=$?
    if [ $rc -eq 0 ] && run_weights "$work/$where.so" "$work/${where}_out" &&
        cmp -s "$work/clean_out/y.npy" "$work/${where}_out/y.npy"; then
        ok "weights: a $where weights.bin in the working directory has no effect"
    else
        bad "weights: $where weights.bin in the working directory (build exit $rc)"
    fi
done

# --- commas and spaces in folders -------------------------------------------

odd="$work/t, mp dir"
mkdir -p "$odd"
if TMPDIR=$odd "$hodu" --build "$c/weights.onnx" -o "$work/odd.so" --emit-c "$work/e, mit c" \
    >"$work/stdout" 2>"$work/stderr" && run_weights "$work/odd.so" "$work/odd_out" &&
    cmp -s "$work/clean_out/y.npy" "$work/odd_out/y.npy" && [ -f "$work/e, mit c/weights.S" ] &&
    [ -z "$(ls -A "$odd")" ]; then
    ok "commas and spaces in TMPDIR and --emit-c"
else
    bad "commas and spaces in TMPDIR and --emit-c"
fi
# A relative output path still lands relative to the caller.
mkdir -p "$work/rel"
if (cd "$work/rel" && "$hodu" --build "$c/weights.onnx" -o sub.so) >"$work/stdout" 2>"$work/stderr" &&
    [ -f "$work/rel/sub.so" ]; then
    ok "relative -o is relative to the caller"
else
    bad "relative -o"
fi

# --- --emit-c never writes through a link -----------------------------------

mkdir -p "$work/linked"
echo "precious" >"$work/victim.txt"
ln -s "$work/victim.txt" "$work/linked/model.c"
if ! "$hodu" --build "$c/weights.onnx" --emit-c "$work/linked" >"$work/stdout" 2>"$work/stderr" &&
    grep -q "symbolic link" "$work/stderr" && [ "$(cat "$work/victim.txt")" = precious ] &&
    [ -L "$work/linked/model.c" ] && [ -z "$(find "$work/linked" -name '*.tmp.*')" ]; then
    ok "emit-c refuses a symlinked model.c: $(head -1 "$work/stderr")"
else
    bad "emit-c through a symlinked model.c"
fi

# --- a build stopped by a signal leaves nothing behind ----------------------

cat >"$work/slowcc.sh" <<EOF
#!/bin/sh
echo \$\$ > "$work/cc.pid"
exec sleep 30
EOF
chmod +x "$work/slowcc.sh"
set -m # job control: background jobs must not start with SIGINT ignored
for sig in TERM INT; do
    st="$work/sig_$sig"
    mkdir -p "$st/tmp" "$st/out"
    rm -f "$work/cc.pid"
    TMPDIR="$st/tmp" "$hodu" --build "$c/weights.onnx" -o "$st/out/m.so" --cc "$work/slowcc.sh" \
        >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    # Up to 60 s for the build to reach the compiler (sanitizer builds and
    # a busy machine are slow); the signal must land while it runs.
    for _ in $(seq 600); do
        [ -s "$work/cc.pid" ] && break
        sleep 0.1
    done
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    ccpid=$(cat "$work/cc.pid" 2>/dev/null || echo 0)
    left="$(ls -A "$st/tmp") $(ls -A "$st/out")"
    if [ "$rc" -ne 0 ] && [ -z "${left// /}" ] && ! kill -0 "$ccpid" 2>/dev/null; then
        ok "SIG$sig during a build: exit $rc, compiler stopped, nothing left"
    else
        bad "SIG$sig during a build: exit $rc, left '$left', compiler pid $ccpid"
        kill "$ccpid" 2>/dev/null
    fi
done
set +m

# --- output files stay distinct and inside --output-dir ----------------------

if "$hodu" --build "$c/collide.onnx" -o "$work/collide.so" 2>"$work/stderr"; then
    if ! "$hodu" --run "$work/collide.so" --input "$c/x23.npy" --output-dir "$work/col_out" \
        >"$work/stdout" 2>"$work/stderr" && grep -q "'a/b' and 'a_b'" "$work/stderr" &&
        [ -z "$(ls -A "$work/col_out" 2>/dev/null)" ]; then
        ok "colliding output names are refused: $(head -1 "$work/stderr")"
    else
        bad "colliding output names"
    fi
else
    bad "collide: build failed"
fi
mkdir -p "$work/esc"
if "$hodu" --build "$c/escape.onnx" -o "$work/escape.so" 2>"$work/stderr" &&
    "$hodu" --run "$work/escape.so" --input "$c/x23.npy" --output-dir "$work/esc/out" \
        >"$work/stdout" 2>"$work/stderr" &&
    [ "$(ls -A "$work/esc")" = out ] && [ "$(ls -A "$work/esc/out" | wc -l)" -eq 2 ] &&
    [ ! -e "$work/escape.npy" ]; then
    ok "output names cannot leave --output-dir: $(ls -A "$work/esc/out" | tr '\n' ' ')"
else
    bad "output names escaping --output-dir"
fi

# --- non-finite attributes give valid C ---------------------------------------

if "$hodu" --build "$c/nonfinite.onnx" -o "$work/nonfinite.so" 2>"$work/stderr" &&
    "$hodu" --run "$work/nonfinite.so" --input "$c/x23.npy" --output-dir "$work/nf" \
        >"$work/stdout" 2>"$work/stderr" &&
    "$python" -c 'import numpy as np, sys; y = np.load(sys.argv[1]); z = np.load(sys.argv[2]); sys.exit(0 if np.isnan(y).all() and np.isnan(z).all() else 1)' \
        "$work/nf/y.npy" "$work/nf/z.npy"; then
    ok "inf and NaN attributes build, and run to NaN"
else
    bad "non-finite attributes"
fi

suite_end
