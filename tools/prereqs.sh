#!/usr/bin/env bash
# Checks, and where it can installs, what `make qemu`, `make test` and `make bench`
# need on a Debian/Ubuntu machine with rustup, then prints the version of each tool it
# found, so a log shows what ran:
#   - the pinned Rust toolchain with target aarch64-unknown-none, rustfmt and clippy
#     (rust-toolchain.toml; `rustup toolchain install` in the checkout installs them,
#     since rustup 1.28 no longer does so on first use),
#   - qemu-system-aarch64 (Debian package qemu-system-arm),
#   - llvm-objcopy (llvm), dtc (device-tree-compiler), the Z80 assembler pasmo (pasmo).
# Usage: tools/prereqs.sh [bench]   ("bench" also wants Erlang, erlang-nox, for BEAM)
# Every failure is one line that names what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "prereqs: $*" >&2
    exit 1
}

if ! command -v rustup >/dev/null 2>&1 || ! command -v cargo >/dev/null 2>&1; then
    fail "rustup and cargo are required (https://rustup.rs); install them first"
fi

# The toolchain file's channel, target and components.
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
target=aarch64-unknown-none
components=(rustfmt clippy)
[ -n "$channel" ] || fail "rust-toolchain.toml names no channel"

toolchain_complete() {
    rustup target list --installed --toolchain "$channel" 2>/dev/null | grep -qx "$target" || return 1
    local installed c
    installed=$(rustup component list --installed --toolchain "$channel" 2>/dev/null) || return 1
    for c in "${components[@]}"; do
        grep -q "^$c" <<<"$installed" || return 1
    done
}

if ! toolchain_complete; then
    echo "prereqs: installing Rust $channel with target $target and ${components[*]} (rustup toolchain install)" >&2
    # With no argument and run here, rustup installs what rust-toolchain.toml names,
    # including its targets and components.
    rustup toolchain install >&2 || fail "rustup toolchain install failed"
    # Older rustup releases ignore the file's targets for an existing toolchain.
    rustup target add --toolchain "$channel" "$target" >&2 || true
    rustup component add --toolchain "$channel" "${components[@]}" >&2 || true
fi
rustup target list --installed --toolchain "$channel" | grep -qx "$target" ||
    fail "target $target is still missing after rustup toolchain install (rustup target add $target)"
for c in "${components[@]}"; do
    rustup component list --installed --toolchain "$channel" | grep -q "^$c" ||
        fail "component $c is still missing after rustup toolchain install (rustup component add $c)"
done

missing_pkgs=()
need() { # command package
    command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2")
}
objcopy_path() {
    command -v llvm-objcopy 2>/dev/null || ls /usr/bin/llvm-objcopy-* 2>/dev/null | sort -V | tail -1
}

need qemu-system-aarch64 qemu-system-arm
need dtc device-tree-compiler
need pasmo pasmo
[ -n "$(objcopy_path)" ] || missing_pkgs+=(llvm)
if [ "${1:-}" = bench ]; then
    need erl erlang-nox
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
        fail "missing Debian packages: ${missing_pkgs[*]} (apt-get install ${missing_pkgs[*]})"
    fi
fi
for c in qemu-system-aarch64 dtc pasmo; do
    command -v "$c" >/dev/null 2>&1 || fail "$c is still missing after apt-get"
done
[ -n "$(objcopy_path)" ] || fail "llvm-objcopy is still missing after apt-get (package llvm)"

# What this run uses, one line each.
first_line() { "$@" 2>&1 | grep -m1 . || true; }
echo "prereqs: rustc      $(first_line rustc +"$channel" --version)"
echo "prereqs: target     $target, $(rustup component list --installed --toolchain "$channel" | grep -E "^($(
    IFS='|'
    echo "${components[*]}"
))" | tr '\n' ' ')"
echo "prereqs: qemu       $(first_line qemu-system-aarch64 --version)"
# pasmo has no --version; it names itself in its usage text.
echo "prereqs: pasmo      $({ pasmo 2>&1 || true; } | grep -m1 -i 'pasmo v')"
echo "prereqs: dtc        $(first_line dtc --version)"
echo "prereqs: objcopy    $(objcopy_path), $("$(objcopy_path)" --version 2>&1 | grep -m1 -io 'llvm version.*')"
if [ "${1:-}" = bench ]; then
    echo "prereqs: erlang     OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null)"
fi
