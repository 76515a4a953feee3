#!/usr/bin/env bash
# Builds an initrd for zbeam: a POSIX ustar archive of Z80 programs, which the kernel
# reads at boot (kernel/crates/initrd; QEMU: `make qemu INITRD=FILE` or `-initrd FILE`).
#   tools/mkinitrd.sh OUT.tar FILE.com|FILE.bin...
# Each file goes in under its base name (no directories), so it becomes the image
# `NAME` (lower-cased; 1-16 of a-z 0-9 _ -). The kernel checks the rules again at boot
# and refuses bad files one by one with a line in the banner; this script refuses
# them up front so a mistake shows here first.
set -euo pipefail
if [ "$#" -lt 2 ]; then
    echo "usage: tools/mkinitrd.sh OUT.tar FILE.com|FILE.bin..." >&2
    exit 2
fi
out=$1; shift
max=$((0xfe00 - 0x100 - 0x100)) # zbeam_engine::abi::MAX_IMAGE
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
names=()
for f in "$@"; do
    base=$(basename "$f")
    stem=${base%.*}; ext=${base##*.}
    lower=$(tr 'A-Z' 'a-z' <<<"$stem")
    case "$(tr 'A-Z' 'a-z' <<<"$ext")" in com|bin) ;; *) echo "mkinitrd: $f: not a .com or .bin file" >&2; exit 1 ;; esac
    if ! [[ "$lower" =~ ^[a-z0-9][a-z0-9_-]{0,15}$ ]]; then
        echo "mkinitrd: $f: name must be 1-16 of a-z 0-9 _ -" >&2; exit 1
    fi
    size=$(stat -c %s "$f")
    if [ "$size" -eq 0 ] || [ "$size" -gt "$max" ]; then
        echo "mkinitrd: $f: $size bytes; a program has 1 to $max" >&2; exit 1
    fi
    if [ -e "$stage/$base" ]; then
        echo "mkinitrd: $base given twice" >&2; exit 1
    fi
    cp "$f" "$stage/$base"
    names+=("$base")
done
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" -C "$stage" "${names[@]}"
echo "mkinitrd: $out: ${#names[@]} program(s), $(stat -c %s "$out") bytes" >&2
