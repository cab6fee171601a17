#!/usr/bin/env bash
# CI for the C kernel (src/lstmkit/core/_fused*): every compiler and ISA we can reach here.
#
#   1. the C test driver (tests/core/c/test_packed.c: the packed kernel of every ISA the
#      CPU runs against a float64 reference) built with gcc and with clang, run natively;
#   2. the same driver cross-compiled for aarch64 (NEON) with gcc and with clang, and run
#      under qemu-aarch64;
#   3. the Python extension built with gcc and with clang (each in its own build directory)
#      and the kernel tests (tests/core/test_kernel_paths.py, test_fused_kernel.py) run
#      against each build;
#   4. a build with no working compiler (CC=false) must succeed with one clear line;
#   and every C file compiled for Windows with mingw-w64 (the Win32 code paths).
#
# Needs the project's .venv (make dev). Installs gcc, clang, gcc-aarch64-linux-gnu and
# qemu-user from Debian when missing (as root). Run from anywhere: bash .ci/kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
CORE=src/lstmkit/core
WORK=$(mktemp -d /tmp/lstmkit-kernels.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
t0=$(date +%s)
say() { echo "kernels.sh [$(( $(date +%s) - t0 )) s]: $*"; }
# wait for every background compile; fail if any failed (set -e alone ignores them)
wait_all() { local p; for p in $(jobs -p); do wait "$p"; done; }

need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v clang >/dev/null || need+=(clang)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-win32)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null
fi

KERNEL_C=($CORE/_fused_cpu.c $CORE/_fused_threads.c $CORE/_fused_scratch.c
          $CORE/_fused_pack.c $CORE/_fused_packed.c
          $CORE/_fused_isa_avx512.c $CORE/_fused_isa_avx2.c $CORE/_fused_isa_sse2.c
          $CORE/_fused_isa_neon.c)
WARN=(-Wall -Wextra -Werror -Wno-unknown-pragmas)

# 1. the C driver, natively, with both compilers
for cc in gcc clang; do
    $cc -O2 -std=gnu11 -pthread "${WARN[@]}" -I$CORE tests/core/c/test_packed.c "${KERNEL_C[@]}" \
        -lm -o "$WORK/test_packed_$cc"
    say "$cc driver: $("$WORK/test_packed_$cc")"
done

# 2. aarch64: cross-compiled, run under qemu (NEON is the aarch64 baseline)
aarch64-linux-gnu-gcc -O2 -std=gnu11 -pthread "${WARN[@]}" -I$CORE tests/core/c/test_packed.c \
    "${KERNEL_C[@]}" -lm -o "$WORK/test_packed_arm64"
say "aarch64 gcc driver under qemu: $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$WORK/test_packed_arm64")"
# … and with clang (compiles for aarch64 itself; the cross gcc links)
mkdir -p "$WORK/arm64_clang"
for f in tests/core/c/test_packed.c "${KERNEL_C[@]}"; do
    clang --target=aarch64-linux-gnu -O2 -std=gnu11 "${WARN[@]}" -I$CORE -c "$f" \
        -o "$WORK/arm64_clang/$(basename "$f" .c).o" &
done
wait_all
aarch64-linux-gnu-gcc -pthread "$WORK"/arm64_clang/*.o -lm -o "$WORK/test_packed_arm64_clang"
say "aarch64 clang driver under qemu: $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$WORK/test_packed_arm64_clang")"

# Windows code paths (Win32 threads, fiber-local scratch, module list): compiled and linked
# with mingw-w64 (MSVC itself is not available here; its own branches stay unbuilt)
for f in tests/core/c/test_packed.c "${KERNEL_C[@]}" $CORE/_fused_blas.c $CORE/_fused_rows.c \
         $CORE/_fused_loops.c; do
    x86_64-w64-mingw32-gcc -O2 -std=gnu11 "${WARN[@]}" -I$CORE -c "$f" -o "$WORK/win_$(basename "$f" .c).o" &
done
wait_all
x86_64-w64-mingw32-gcc "$WORK"/win_*.o -o "$WORK/test_packed.exe"
say "mingw-w64: every C file compiles for Windows, the driver links ($(du -k "$WORK/test_packed.exe" | cut -f1) KB)"

# 3. the extension with each compiler, and the kernel tests against it. The build goes to
# its own directory; a copy of the package with that .so comes first on PYTHONPATH.
for cc in gcc clang; do
    CC=$cc "$PY" setup.py -q build_ext --build-lib "$WORK/lib_$cc" --build-temp "$WORK/tmp_$cc" \
        2> "$WORK/build_$cc.log" || { cat "$WORK/build_$cc.log"; exit 1; }
    if grep -q "C kernel was not built" "$WORK/build_$cc.log"; then
        cat "$WORK/build_$cc.log"; echo "kernels.sh: $cc did not build the extension" >&2; exit 1
    fi
    mkdir -p "$WORK/pkg_$cc"
    cp -r src/lstmkit "$WORK/pkg_$cc/"
    find "$WORK/pkg_$cc" -name '_fused*.so' -delete
    cp "$WORK"/lib_$cc/lstmkit/core/_fused*.so "$WORK/pkg_$cc/lstmkit/core/"
    info=$(cd "$WORK" && PYTHONPATH="$WORK/pkg_$cc" "$PY" -c \
        "import lstmkit.core.gates as g, lstmkit; assert lstmkit.__file__.startswith('$WORK'); print(g.kernel_info())")
    case "$info" in *"$cc"*) ;; *) echo "kernels.sh: expected a $cc build, got: $info" >&2; exit 1;; esac
    say "$cc extension: $info"
    PYTHONPATH="$WORK/pkg_$cc" "$PY" -m pytest -p no:cacheprovider tests/core/test_kernel_paths.py \
        tests/core/test_fused_kernel.py tests/core/test_frozen_weights.py > "$WORK/pytest_$cc.log" 2>&1 \
        || { tail -40 "$WORK/pytest_$cc.log"; echo "kernels.sh: kernel tests failed ($cc)" >&2; exit 1; }
    say "$cc extension, kernel tests: $(tail -1 "$WORK/pytest_$cc.log")"
done

# 4. no compiler: the build still succeeds, with one line saying NumPy will run
CC=false "$PY" setup.py -q build_ext --build-lib "$WORK/lib_none" --build-temp "$WORK/tmp_none" \
    2> "$WORK/build_none.log"
grep -qF 'lstmkit: the C kernel was not built (the compiler `false` failed' "$WORK/build_none.log" \
    || { cat "$WORK/build_none.log"; echo "kernels.sh: no fallback line without a compiler" >&2; exit 1; }
say "no compiler: $(grep 'lstmkit: the C kernel' "$WORK/build_none.log")"
say "all kernel checks passed"
