#!/usr/bin/env bash
# Turns the kernel ELF into the flat arm64 Image: tools/objcopy.sh ELF IMAGE
set -euo pipefail
objcopy=$(command -v llvm-objcopy || ls /usr/bin/llvm-objcopy-* 2>/dev/null | sort -V | tail -1)
[ -n "$objcopy" ] || { echo "llvm-objcopy not found (Debian package llvm; run tools/prereqs.sh)" >&2; exit 1; }
"$objcopy" -O binary "$1" "$2"
