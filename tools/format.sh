#!/usr/bin/env bash
# Formats Hodu's own C sources with clang-format (.clang-format at the root).
#
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   change nothing; list the files that differ and
#                             exit 1 if there is any (tools/test.sh runs this)
#
# The files: every tracked *.c and *.h under src/, include/, tests/ and
# examples/ (generated protobuf code lives in the build folder, not here).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$fmt" ]; then
    echo "format.sh: clang-format is missing (tools/setup.sh installs clang-format-14)" >&2
    exit 1
fi
mapfile -t files < <(git ls-files -- 'src/*.c' 'src/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' 'examples/*.c')
if [ "${1:-}" = --check ]; then
    bad=0
    for f in "${files[@]}"; do
        if ! "$fmt" --style=file "$f" | cmp -s - "$f"; then
            echo "format.sh: $f is not formatted (run tools/format.sh)"
            bad=1
        fi
    done
    [ "$bad" -eq 0 ] && echo "format.sh: ${#files[@]} files formatted"
    exit $bad
fi
"$fmt" --style=file -i "${files[@]}"
