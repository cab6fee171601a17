#!/usr/bin/env bash
# CI step for the C export (lstmkit.io.export_c, tests/io/test_export_c*.py): the compilers
# and the emulator its tests use. Quick when everything is there already.
#   clang                                  the second host compiler of the -pedantic check
#   gcc-arm-none-eabi + newlib             the Cortex-M4 cross-compile (math.h, libm, semihosting)
#   qemu-system-arm                        runs the Cortex-M4 build (mps2-an386) to count cycles
set -euo pipefail
need=()
command -v clang >/dev/null || need+=(clang)
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
clang --version | head -1
arm-none-eabi-gcc --version | head -1
qemu-system-arm --version | head -1
