#!/usr/bin/env python3
"""Checks `hodu --fmt`: formatting is idempotent (fmt(fmt(x)) == fmt(x)) and
keeps every comment, for each example, the standard library and the test
programs; tests/script/fmt/*.hodu format to their .expected text; `-i`
rewrites a file in place (keeping its mode); a file with a syntax error is
refused with the parser's diagnostics and left as it was.

    run_fmt.py --hodu build/hodu
"""
import argparse
import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def fmt(hodu, path, *extra):
    return subprocess.run([hodu, "--fmt", path, *extra], capture_output=True, text=True)


def comments(text):
    return [ln[ln.index("#"):].rstrip() for ln in text.splitlines() if "#" in ln and '"' not in ln]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hodu", required=True)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(REPO, "examples", "*.hodu")) + glob.glob(os.path.join(REPO, "std", "*.hodu"))
                   + glob.glob(os.path.join(HERE, "*.hodu")) + glob.glob(os.path.join(HERE, "fmt", "*.hodu")))
    # the error corpus: those that parse must format idempotently too, the
    # others be refused with exit status 1
    corpus = sorted(glob.glob(os.path.join(HERE, "errors", "*.hodu")))
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files + corpus:
            name = os.path.relpath(f, REPO)
            r1 = fmt(a.hodu, f)
            if f in corpus and r1.returncode == 1 and not r1.stdout and "error: " in r1.stderr:
                continue
            if r1.returncode != 0:
                print(f"FAIL {name}: exit {r1.returncode}\n{r1.stderr}")
                fails += 1
                continue
            once = os.path.join(tmp, "once.hodu")
            with open(once, "w") as fh:
                fh.write(r1.stdout)
            r2 = fmt(a.hodu, once)
            src = open(f).read()
            if r2.returncode != 0 or r2.stdout != r1.stdout:
                print(f"FAIL {name}: formatting its formatted text changes it")
                fails += 1
            elif comments(src) != comments(r1.stdout):
                print(f"FAIL {name}: comments differ after formatting")
                fails += 1
            exp = f[:-len(".hodu")] + ".expected"
            if f not in corpus and os.path.exists(exp) and open(exp).read() != r1.stdout:
                print(f"FAIL {name}: differs from {os.path.relpath(exp, REPO)}")
                fails += 1
        # -i: in place, mode kept
        work = os.path.join(tmp, "m.hodu")
        shutil.copy(os.path.join(HERE, "fmt", "messy.hodu"), work)
        os.chmod(work, 0o640)
        r = fmt(a.hodu, work, "-i")
        if r.returncode != 0 or r.stdout or open(work).read() != open(os.path.join(HERE, "fmt", "messy.expected")).read() \
                or stat.S_IMODE(os.stat(work).st_mode) != 0o640:
            print(f"FAIL -i: exit {r.returncode}, output {r.stdout!r}")
            fails += 1
        if sorted(os.listdir(tmp)) != sorted(["m.hodu", "once.hodu"]):
            print(f"FAIL -i left files behind: {os.listdir(tmp)}")
            fails += 1
        # a syntax error: refused, diagnostics, file untouched
        bad = os.path.join(tmp, "bad.hodu")
        text = "module M(d: int) {\n    fn forward(x: f32[d]) -> f32[d] {\n        return x +\n    }\n}\n"
        with open(bad, "w") as fh:
            fh.write(text)
        r = fmt(a.hodu, bad, "-i")
        if r.returncode != 1 or "error: " not in r.stderr or r.stdout or open(bad).read() != text:
            print(f"FAIL syntax error: exit {r.returncode}, stderr {r.stderr!r}")
            fails += 1
    if fails:
        return 1
    print(f"run_fmt: {len(files)} files and {len(corpus)} error cases idempotent with their comments, -i and refusal checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
