#!/usr/bin/env python3
"""Structure check of a macOS library that cannot run here (ctest target_macos).

    macho_check.py LIB ARCH (--only SYMBOL | --like ELF_LIB)

Reads LIB with Debian's llvm tools (llvm-objdump --macho, llvm-nm) and
checks that it is a 64-bit Mach-O dylib for ARCH (x86_64 or arm64), that
its export trie holds SYMBOL alone (--only) or exactly the functions
ELF_LIB (the Linux build of the same library) exports (--like), and that every undefined
symbol is bound to libSystem, the one library a model or the runtime may
need on macOS.  Exit 0 when all hold, 1 with one line per failure.

The linker adds __mh_dylib_header and ___dso_handle to every dylib it
writes (zig's linker exports them); they are not the library's own.
"""
import argparse
import re
import shutil
import subprocess
import sys

LINKER_SYMBOLS = {"__mh_dylib_header", "___dso_handle"}
CPUTYPE = {"x86_64": "X86_64", "arm64": "ARM64"}


def tool(name):
    for candidate in (name, name + "-14", name + "-15", name + "-16"):
        path = shutil.which(candidate)
        if path:
            return path
    sys.exit(f"macho_check: FAIL: {name} is missing (Debian package llvm)")


def run(*argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"macho_check: FAIL: {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("arch", choices=sorted(CPUTYPE))
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--only")
    group.add_argument("--like")
    a = ap.parse_args()
    objdump, nm = tool("llvm-objdump"), tool("llvm-nm")
    problems = []

    # "MH_MAGIC_64   ARM64   ALL  0x00   DYLIB   16  1568  NOUNDEFS ..."
    header = run(objdump, "--macho", "--private-header", a.lib).splitlines()
    row = next((line.split() for line in header if line.startswith("MH_MAGIC")), None)
    if row is None:
        problems.append("no Mach-O header")
    else:
        if row[0] != "MH_MAGIC_64":
            problems.append(f"magic {row[0]}, MH_MAGIC_64 expected")
        if row[1] != CPUTYPE[a.arch]:
            problems.append(f"cputype {row[1]}, {CPUTYPE[a.arch]} expected")
        if row[4] != "DYLIB":
            problems.append(f"filetype {row[4]}, DYLIB (MH_DYLIB) expected")

    # "0x00001640  _hodu_model_get_desc"
    trie = run(objdump, "--macho", "--exports-trie", a.lib)
    exports = {m.group(1) for m in re.finditer(r"^0x[0-9A-Fa-f]+\s+(\S+)", trie, re.M)} - LINKER_SYMBOLS
    if a.only is not None and exports != {a.only}:
        problems.append(f"exports {sorted(exports)}; {a.only} alone expected")
    if a.like is not None:
        # Mach-O names carry a leading underscore that ELF's do not.
        want = {"_" + n for n in run(nm, "-D", "--defined-only", "--format=just-symbols", a.like).split()}
        if not want:
            problems.append(f"{a.like} exports nothing")
        for name in sorted(want - exports):
            problems.append(f"does not export {name} (the Linux build does)")
        for name in sorted(exports - want):
            problems.append(f"exports {name} (the Linux build does not)")

    # "(undefined) external _memcpy (from libSystem)"
    for line in run(nm, "-m", a.lib).splitlines():
        if "(undefined)" in line and not line.rstrip().endswith("(from libSystem)"):
            problems.append("undefined outside libSystem: " + line.strip())

    for p in problems:
        print(f"macho_check: {a.lib}: {p}")
    if not problems:
        print(f"macho_check: {a.lib}: {a.arch} MH_DYLIB, {len(exports)} export(s), undefined symbols from libSystem only")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
