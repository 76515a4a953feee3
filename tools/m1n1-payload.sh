#!/usr/bin/env bash
# Builds the payload to append to m1n1 (Asahi Linux's boot loader for Apple Silicon):
#   tools/m1n1-payload.sh IMAGE OUT "BOOTARGS" DTB...
# m1n1 scans what follows its own binary for, in order: variable lines such as
# `chosen.bootargs=...`, device trees (it picks the one whose root compatible matches
# the machine and fills in memory, cpu-release-addr and /chosen), then the kernel.
# The kernel goes last and gzipped (m1n1 decompresses it and loads it at a 2 MiB
# aligned address of its choosing; zbeam relocates itself).
set -euo pipefail
image=$1 out=$2 args=$3
shift 3
[ -f "$image" ] || { echo "m1n1-payload: no Image at $image (run make image)" >&2; exit 1; }
[ $# -gt 0 ] || { echo "m1n1-payload: give at least one Apple device tree (.dtb)" >&2; exit 1; }
gzip -9 -n -c "$image" > "${image}.gz"
{
    [ -n "$args" ] && printf 'chosen.bootargs=%s\n' "$args"
    for dtb in "$@"; do
        [ "$(head -c 4 "$dtb" | od -An -tx1 | tr -d ' ')" = "d00dfeed" ] || { echo "m1n1-payload: $dtb is not a DTB" >&2; exit 1; }
        cat "$dtb"
    done
    cat "${image}.gz"
} > "$out"
echo "m1n1 payload: $out ($(stat -c %s "$out") bytes: bootargs, $# device tree(s), $(stat -c %s "${image}.gz") bytes of gzipped Image)"
