#!/usr/bin/env bash
# Prepares this checkout for building and testing Hodu, and builds it.
#
#   tools/setup.sh [--models] [--no-build] [--build-dir DIR] [-DVAR=VALUE ...]
#
#   1. Debian packages: installs the missing ones when run as root
#      (apt-get update once, then apt-get install); otherwise names them and
#      exits 1.
#   2. Python: creates .venv and installs tools/requirements-test.txt into it
#      (onnx, onnxruntime, numpy); with --models also
#      tools/requirements-models.txt (torch, ... for tools/export_models.py).
#   3. Build: configures DIR (default build/) as RelWithDebInfo with
#      -DHODU_PYTHON=.venv/bin/python plus any -D arguments given, and builds
#      it.  --no-build stops after step 2.
#
# Every step is skipped when already done, so running it again is cheap.
# It prints nothing on success unless it had to install something (or
# cargo is missing); on failure it says which step failed and shows the
# end of that step's output.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

models=0
build=1
build_dir=build
cmake_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --models) models=1 ;;
        --no-build) build=0 ;;
        --build-dir) build_dir=${2:?--build-dir needs a folder}; shift ;;
        --build-dir=*) build_dir=${1#--build-dir=} ;;
        -D*) cmake_args+=("$1") ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

log=$(mktemp "${TMPDIR:-/tmp}/hodu-setup.XXXXXX")
trap 'rm -f "$log"' EXIT

# step DESCRIPTION COMMAND...: runs COMMAND with its output going to the log;
# on failure shows the end of that output and stops.
step() {
    local what=$1; shift
    : >"$log"
    if ! "$@" >"$log" 2>&1; then
        echo "setup.sh: $what failed: $*" >&2
        echo "---- last lines of its output ----" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
}

# --- 1. Debian packages -------------------------------------------------------
# make and libc6-dev are listed because --no-install-recommends would leave
# them out; hodu itself calls the C compiler on the code it generates.
# libasan8/libubsan1/libtsan2 are gcc's sanitizer runtimes (tools/test.sh).
# The image libraries are libhodu_rt's decoder's (src/runtime/image.c).
# man-db renders the man page in tests/install/check_install.sh.
# The aarch64 and riscv64 cross compilers and their C libraries, qemu-user
# to run what they build, mingw-w64 and wine64 (its loader, without the
# recommended desktop parts) for the Windows DLL, and file:
# tests/targets/cross.sh (hodu --build --target).
# The bare-metal toolchains (arm-none-eabi, riscv64-unknown-elf, which
# builds rv32 too), picolibc for both (its headers build the model, its
# crt0 and semihosting the test's firmware), qemu-system-arm and
# qemu-system-misc (RISC-V) to run it: tests/targets/baremetal.sh.
# libssl-dev is libcrypto (SHA-256, Ed25519) for .hodupkg packages; openssl
# makes the test's keys and unzip lists a package (tests/package).
# llvm's objdump and nm read the macOS libraries' Mach-O structure
# (tests/targets/macho_check.py).
packages=(cmake make gcc libc6-dev pkg-config protobuf-c-compiler libprotobuf-c-dev libcjson-dev libssl-dev
          openssl unzip
          libcmocka-dev flex bison clang-14 libclang-rt-14-dev clang-format-14
          libasan8 libubsan1 libtsan2
          libjpeg62-turbo-dev libpng-dev libwebp-dev libtiff-dev libopenjp2-7-dev libstb-dev
          man-db
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user file
          gcc-mingw-w64-x86-64 wine64 llvm
          gcc-arm-none-eabi binutils-arm-none-eabi picolibc-arm-none-eabi
          gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf
          qemu-system-arm qemu-system-misc
          libcjson-dev:arm64 libssl-dev:arm64 dpkg-dev autoconf automake libtool)
# The :arm64 ones are cJSON and libcrypto for the aarch64 cross runtime
# (tools/cross_runtime.sh), so that it opens .hodupkg packages under
# qemu-aarch64; Debian installs them beside the host's (multiarch), which
# needs the arm64 architecture added to dpkg first.  dpkg-dev unpacks
# the cjson and libsodium source packages below (apt-get source);
# autoconf, automake and libtool make libsodium's configure script, which
# Debian's source package does not ship (Debian's own build regenerates it).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup.sh: adding the arm64 architecture to dpkg (multiarch)"
        step "dpkg --add-architecture arm64" dpkg --add-architecture arm64
    fi
fi
# dpkg_field FIELD PACKAGE: one package's field; a name without ":ARCH"
# means this machine's architecture (with arm64 added, a bare name matches
# both), or no architecture for an Architecture: all package.
native_arch=$(dpkg --print-architecture)
dpkg_field() {
    local name=$2
    [[ $name == *:* ]] || ! dpkg-query -W "$name:$native_arch" >/dev/null 2>&1 || name=$name:$native_arch
    dpkg-query -W -f="\${$1}\n" "$name" 2>/dev/null | head -n 1
}
missing=()
for p in "${packages[@]}"; do
    if [ "$(dpkg_field db:Status-Status "$p")" != installed ]; then
        missing+=("$p")
    fi
done
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)   # Debian's python3 splits venv/ensurepip out
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
        echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    step "apt-get update" apt-get update -q
    step "apt-get install" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Two libraries that Debian 12 builds for no target of ours are cross-built
# here from Debian's own source packages (Debian's patches applied), kept
# outside the checkout and never committed:
#   cJSON's source ($HODU_DEPS/cjson, default /usr/local/src/hodu), the
#     version of the libcjson-dev installed above: tools/cross_runtime.sh
#     compiles cJSON.c into the Windows and riscv64 runtimes (Debian has no
#     mingw-w64 or riscv64 cJSON);
#   libsodium, static, for riscv64-linux-gnu and x86_64-w64-mingw32
#     ($HODU_LIBS/libsodium/TRIPLE/{include,lib}, default /usr/local/lib/hodu):
#     SHA-256 and Ed25519 for those runtimes' packages (Debian 12 has no
#     riscv64 port and no mingw-w64 OpenSSL; Windows' CNG has no Ed25519).
#     Built once with libsodium's own configure (--enable-minimal keeps
#     both); its STAMP file, naming the version and the triples, makes a
#     second run do nothing.  The first took 5.3 minutes on two loaded
#     cores (1.5 min of CPU: fetch, autoreconf, two builds).
deps=${HODU_DEPS:-/usr/local/src/hodu}
sodium=${HODU_LIBS:-/usr/local/lib/hodu}/libsodium
sodium_triples="riscv64-linux-gnu x86_64-w64-mingw32"
# source_lists: deb-src lines for the suites this machine installs from.
source_lists() {
    local src_list=/etc/apt/sources.list.d/hodu-src.sources suites
    [ -f "$src_list" ] && return
    echo "setup.sh: adding Debian source package lists ($src_list)"
    suites=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf '%s\n' "# tools/setup.sh: Debian source packages (cJSON and libsodium for cross runtimes)" \
        "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: $suites $suites-updates" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "" \
        "Types: deb-src" "URIs: http://deb.debian.org/debian-security" "Suites: $suites-security" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$src_list"
    step "apt-get update (source lists)" apt-get update -q
}
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: $1 is missing (run setup.sh as root to build it from Debian's source package)" >&2
        exit 1
    fi
}
if [ ! -f "$deps/cjson/cJSON.c" ] || [ ! -f "$deps/cjson/cJSON.h" ]; then
    need_root "$deps/cjson/cJSON.c"
    source_lists
    cjson_version=$(dpkg_field Version libcjson-dev)
    echo "setup.sh: fetching Debian's cjson $cjson_version source into $deps/cjson"
    fetch=$(mktemp -d)
    step "apt-get source cjson" bash -c "cd '$fetch' && apt-get source -q 'cjson=$cjson_version'"
    mkdir -p "$deps/cjson"
    cp "$fetch"/cjson-*/cJSON.c "$fetch"/cjson-*/cJSON.h "$fetch"/cjson-*/LICENSE "$deps/cjson/"
    echo "$cjson_version" >"$deps/cjson/VERSION"
    rm -rf "$fetch"
fi
if [ "$(sed -n 2p "$sodium/STAMP" 2>/dev/null)" != "$sodium_triples" ]; then
    need_root "$sodium/STAMP"
    source_lists
    fetch=$(mktemp -d)
    step "apt-get source libsodium" bash -c "cd '$fetch' && apt-get source -q libsodium"
    src=$(ls -d "$fetch"/libsodium-*/)
    sodium_version=$(sed -n 's/^Version: //p' "$fetch"/libsodium_*.dsc)
    echo "setup.sh: building Debian's libsodium $sodium_version for $sodium_triples into $sodium"
    # Debian's source has no configure script: make it as Debian's build does
    step "autoreconf libsodium" bash -c "cd '$src' && autoreconf -fi"
    rm -rf "$sodium"
    for t in $sodium_triples; do
        mkdir -p "$fetch/build-$t"
        step "configure libsodium for $t" bash -c "cd '$fetch/build-$t' && '$src/configure' --host=$t \
            --prefix='$sodium/$t' --disable-shared --enable-static --with-pic --enable-minimal"
        step "build libsodium for $t" make -C "$fetch/build-$t" -j"$(nproc)" install
    done
    cp "$src/LICENSE" "$sodium/"
    printf '%s\n' "$sodium_version" "$sodium_triples" >"$sodium/STAMP"
    rm -rf "$fetch"
fi

# Rust (1.80 or newer, e.g. from rustup) builds bindings/rust; Debian's
# cargo is older than the crates need, so it is not installed here.
# Without it the ctest "rust" fails; `ctest -E rust` leaves it out.
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "setup.sh: note: cargo not found; the Rust bindings' test (ctest -R rust) will fail" >&2
fi

# --- 2. Python virtual environment --------------------------------------------
venv=$repo/.venv
py=$venv/bin/python
if ! "$py" -c '' >/dev/null 2>&1; then
    # missing, or its interpreter moved away: start over
    [ -e "$venv" ] && rm -rf "$venv"
    echo "setup.sh: creating .venv"
    step "creating the virtual environment" python3 -m venv "$venv"
fi

# pip_install NAME FILE: installs FILE once; a stamp holding the file's hash
# makes later runs skip pip until the file changes.
pip_install() {
    local name=$1 file=$2 sum
    local stamp=$venv/.hodu-$name.sha256
    if [ ! -f "$file" ]; then
        echo "setup.sh: $file is missing" >&2
        exit 1
    fi
    sum=$(sha256sum "$file" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
        return 0
    fi
    echo "setup.sh: pip install -r ${file#"$repo"/}"
    step "pip install -r $file" "$py" -m pip install --disable-pip-version-check -q -r "$file"
    echo "$sum" >"$stamp"
}
pip_install test "$repo/tools/requirements-test.txt"
if [ "$models" = 1 ]; then
    pip_install models "$repo/tools/requirements-models.txt"
fi

# --- 3. Build -------------------------------------------------------------------
case "$build_dir" in /*) ;; *) build_dir=$repo/$build_dir ;; esac
if [ "$build" = 1 ]; then
    step "cmake configure ($build_dir)" cmake -S "$repo" -B "$build_dir" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHODU_PYTHON="$py" "${cmake_args[@]}"
    step "cmake build ($build_dir)" cmake --build "$build_dir" -j "$(nproc)"
fi
