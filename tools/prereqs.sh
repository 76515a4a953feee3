#!/usr/bin/env bash
# Checks (and where possible installs) what `make qemu`, `make test` and `make bench`
# need on a Debian/Ubuntu machine with rustup:
#   - the pinned Rust toolchain, target and components (rust-toolchain.toml; rustup
#     installs them on first use),
#   - qemu-system-aarch64 (Debian package qemu-system-arm),
#   - llvm-objcopy (Debian package llvm) to turn the kernel ELF into a flat Image.
# Usage: tools/prereqs.sh [bench]   ("bench" also wants Erlang for the peer runs later)
set -euo pipefail
cd "$(dirname "$0")/.."

missing_pkgs=()
need() { # command package
    command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2")
}

if ! command -v rustup >/dev/null 2>&1 || ! command -v cargo >/dev/null 2>&1; then
    echo "prereqs: rustup and cargo are required (https://rustup.rs); install them first." >&2
    exit 1
fi
# rustup reads rust-toolchain.toml here and installs the pinned toolchain, target
# aarch64-unknown-none and the components if they are missing.
if ! rustup show active-toolchain >/dev/null 2>&1 || ! rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-none; then
    echo "prereqs: installing the pinned toolchain from rust-toolchain.toml" >&2
    rustup show >/dev/null
    rustup target list --installed | grep -q aarch64-unknown-none || {
        echo "prereqs: target aarch64-unknown-none is missing and rustup could not install it" >&2
        exit 1
    }
fi

need qemu-system-aarch64 qemu-system-arm
need dtc device-tree-compiler
need pasmo pasmo
if ! command -v llvm-objcopy >/dev/null 2>&1 && ! ls /usr/bin/llvm-objcopy-* >/dev/null 2>&1; then
    missing_pkgs+=(llvm)
fi

if [ ${#missing_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "prereqs: installing ${missing_pkgs[*]} with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "prereqs: installing ${missing_pkgs[*]} with sudo apt-get" >&2
        sudo apt-get update -qq >&2
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
    else
        echo "prereqs: missing Debian packages: ${missing_pkgs[*]} (apt-get install ${missing_pkgs[*]})" >&2
        exit 1
    fi
fi
command -v qemu-system-aarch64 >/dev/null 2>&1 || { echo "prereqs: qemu-system-aarch64 still missing" >&2; exit 1; }
